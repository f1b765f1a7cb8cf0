/**
 * Server-sent events from a byte stream, with eventsource-parser.
 * Bytes may split anywhere, including inside a multi-byte UTF-8 character:
 * a streaming TextDecoder reassembles them before the parser sees text.
 */
import { createParser, type EventSourceMessage } from 'eventsource-parser';
import { UpstreamResponseTooLargeError } from './errors.js';

export type ServerSentEvent = EventSourceMessage;

/** A line that is not SSE at all (no known field); Lockchat's model-not-found arrives this way. */
export interface StrayLine {
  stray: string;
}

export type EventStreamItem = ServerSentEvent | StrayLine;

/**
 * A synchronous decoder: feed it the bytes of each read, get the events that
 * read completed. Providers loop over reads and events without an extra
 * async layer per event (the request path is measured).
 */
export interface EventStreamDecoder {
  /** The events completed by these bytes. */
  push(bytes: Uint8Array): readonly EventStreamItem[];
  /** The end of the stream: a last event without its closing blank line still counts. */
  end(): readonly EventStreamItem[];
}

export interface EventStreamOptions {
  /**
   * The longest event, in characters: a line not yet ended plus the data of its event. Past it,
   * `push()` throws UpstreamResponseTooLargeError (eventsource-parser's own bound on its buffer).
   */
  maxEventChars?: number;
  /** Named in that error. */
  provider?: string;
}

export function createEventStreamDecoder(options: EventStreamOptions = {}): EventStreamDecoder {
  // The byte order mark is stripped here, once, at the start of the stream (the decoder does not
  // always see the first read).
  const decoder = new TextDecoder('utf-8', { ignoreBOM: true });
  let atStart = true;
  // Whether the streaming decoder may hold the first bytes of a split character. It does not
  // after a read that ended with an ASCII byte; until then, reads go through it.
  let holding = false;
  const decode = (read: Uint8Array): string => {
    let bytes = read;
    if (atStart) {
      if (bytes.length === 0) return '';
      atStart = false;
      if (bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf) bytes = bytes.subarray(3);
    }
    const length = bytes.length;
    const last = length === 0 ? 0 : (bytes[length - 1] as number);
    if (!holding && last < 0x80 && Buffer.isBuffer(bytes)) {
      // A whole read of complete characters: Node's own UTF-8 slice, without the decoder's state.
      return bytes.toString('utf8');
    }
    holding = last >= 0x80;
    return decoder.decode(bytes, { stream: true });
  };
  let ready: EventStreamItem[] = [];
  const { maxEventChars } = options;
  let tooLarge = false;
  const parser = createParser({
    onEvent: (event) => ready.push(event),
    onError: (error) => {
      if (error.type === 'unknown-field' && error.line !== undefined) ready.push({ stray: error.line });
      else if (error.type === 'max-buffer-size-exceeded') tooLarge = true;
    },
    ...(maxEventChars === undefined ? {} : { maxBufferSize: maxEventChars }),
  });
  const tooLargeError = (): UpstreamResponseTooLargeError =>
    new UpstreamResponseTooLargeError('event', maxEventChars ?? 0, options.provider === undefined ? {} : { provider: options.provider });
  const feed = (text: string): readonly EventStreamItem[] => {
    ready = [];
    if (tooLarge) throw tooLargeError();
    parser.feed(text);
    // The parser has dropped its buffer; the events completed before it are given, the next call throws.
    if (tooLarge && ready.length === 0) throw tooLargeError();
    return ready;
  };
  return {
    push: (bytes) => feed(decode(bytes)),
    end: () => feed(`${decoder.decode()}\n\n`),
  };
}

/** The same as an async generator, for callers that prefer one. */
export async function* parseEventStream(body: AsyncIterable<Uint8Array>, options: EventStreamOptions = {}): AsyncGenerator<EventStreamItem, void, undefined> {
  const decoder = createEventStreamDecoder(options);
  for await (const bytes of body) yield* [...decoder.push(bytes)];
  yield* [...decoder.end()];
}

export function isStrayLine(item: EventStreamItem): item is StrayLine {
  return 'stray' in item;
}
