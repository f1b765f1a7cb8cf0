/**
 * A streamed reply read one network read at a time, each read's stream parts yielded as one
 * batch: the loop every protocol shares (OpenAI's server-sent events, Anthropic's, Gemini's,
 * Ollama's NDJSON). A protocol supplies only its decoder and a reader of its items.
 */
import type { CallGuard } from '../core/http.js';
import { isOutputChunk } from '../core/messages.js';
import type { ReplyBody } from '../core/reply.js';
import type { Chunk } from '../core/spec.js';

/** How long an upstream may keep a reply open after its last event before it is cut (the answer is complete). */
const AFTER_END_GRACE_MS = 1_000;

/** Turns the bytes of each network read into whole items (events, lines). */
export interface ItemDecoder<Item> {
  push(bytes: Uint8Array): readonly Item[];
  end(): readonly Item[];
}

/** Reads the items of one streamed answer; it keeps the answer's state (open blocks, tool indexes). */
export interface ItemReader<Item> {
  /** Appends the parts of one item to `into`; `done` once the protocol says the answer is complete. */
  read(item: Item, into: Chunk[]): 'more' | 'done';
  /** The body ended: appends any last parts, or throws when the answer was cut short. */
  end(into: Chunk[], done: boolean): void;
}

/**
 * The parts of a streamed body, one batch per network read (a layer per read, not per part: the
 * request path is measured). A bad item still lets the good ones of its read through, then
 * fails. After the protocol's last item the body is read to its end (the pooled connection is
 * reused), cut after a short grace if the upstream holds it open.
 */
export async function* readItems<Item>(
  body: ReplyBody,
  decoder: ItemDecoder<Item>,
  reader: ItemReader<Item>,
  guard: CallGuard,
): AsyncGenerator<readonly Chunk[]> {
  let done = false;
  let started = false;
  let grace: NodeJS.Timeout | undefined;
  const pass = (batch: Chunk[]): readonly Chunk[] => {
    if (!started && batch.some(isOutputChunk)) {
      started = true;
      guard.gotFirstToken();
    }
    return batch;
  };
  try {
    for (;;) {
      // Pulled from the reply's queue; a wait only when nothing has arrived yet.
      let bytes = body.read();
      if (bytes === null) break;
      if (bytes === undefined) {
        // Past the protocol's last item, the upstream has a short grace to end the body.
        if (done) grace ??= setTimeout(() => body.destroy(), AFTER_END_GRACE_MS);
        await body.wait();
        continue;
      }
      // Everything that has arrived is one batch: undici hands over one HTTP chunk at a time, and
      // one network read often holds many (an upstream writes an event per chunk).
      const batch: Chunk[] = [];
      let failure: unknown;
      try {
        while (bytes instanceof Uint8Array) {
          if (!done) {
            for (const item of decoder.push(bytes)) {
              if (reader.read(item, batch) === 'done') {
                done = true;
                break;
              }
            }
          }
          bytes = body.read();
        }
      } catch (error) {
        failure = error ?? new Error('unknown failure');
      }
      if (batch.length > 0) yield pass(batch);
      if (failure !== undefined) throw failure;
      if (bytes === null) break;
    }
    const batch: Chunk[] = [];
    if (!done) {
      for (const item of decoder.end()) {
        if (reader.read(item, batch) === 'done') {
          done = true;
          break;
        }
      }
    }
    reader.end(batch, done);
    if (batch.length > 0) yield pass(batch);
  } catch (error) {
    if (!done) throw error;
    // Cut after the answer was complete (the grace timer): nothing is lost.
    const batch: Chunk[] = [];
    reader.end(batch, true);
    if (batch.length > 0) yield pass(batch);
  } finally {
    if (grace !== undefined) clearTimeout(grace);
  }
}
