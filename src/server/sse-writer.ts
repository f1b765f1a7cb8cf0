/**
 * The one server-sent-events writer of every door: events that arrive together (one upstream
 * read) leave in one write, gathered until the event loop's check phase (write-gatherer.ts); a full
 * socket buffer makes the caller wait for `drain` (a reader that stays stalled past a minute is dropped).
 */
import type { ServerResponse } from 'node:http';
import type { Chunk } from '../core/spec.js';
import { createGatherer, waitForDrain } from './write-gatherer.js';

/** A writer that waits too long for a slow reader gives up on it. */
const DRAIN_TIMEOUT_MS = 60_000;

export interface SseWriter {
  /** Queues event text for the next write. */
  send(text: string): void;
  /** The queued text not yet written, taken (to end the response with it). */
  take(): string;
  /** While the socket buffer is full: resolves once it drained (or the response closed). */
  blocked(): Promise<void> | undefined;
}

export function createSseWriter(response: ServerResponse): SseWriter {
  let blocked: Promise<void> | undefined;
  const gatherer = createGatherer((events) => {
    if (response.writableEnded || response.destroyed) return;
    if (!response.write(events)) {
      blocked = waitForDrain(response, DRAIN_TIMEOUT_MS).then(() => {
        blocked = undefined;
      });
    }
  });
  return {
    send: gatherer.add,
    take: gatherer.take,
    blocked: () => blocked,
  };
}

/**
 * Relays a route stream's chunk groups (one per upstream read) through a door's writer: `start`
 * before the first group (the head goes out once the upstream answered), `write` for each, waiting
 * while the client reads slowly. A client that went away ends the loop, which aborts the upstream.
 * Resolves false when the client is gone.
 */
export async function relayBatches(
  batches: AsyncIterable<readonly Chunk[]>,
  response: ServerResponse,
  writer: SseWriter,
  start: () => void | Promise<void>,
  write: (batch: readonly Chunk[]) => void,
): Promise<boolean> {
  let first = true;
  for await (const batch of batches) {
    if (response.destroyed) break;
    if (first) {
      first = false;
      await start();
    }
    write(batch);
    const blocked = writer.blocked();
    if (blocked !== undefined) await blocked;
  }
  return !response.destroyed;
}
