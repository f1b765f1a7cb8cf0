/**
 * Server-sent events from a byte stream, with eventsource-parser.
 * Bytes may split anywhere, including inside a multi-byte UTF-8 character:
 * a streaming TextDecoder reassembles them before the parser sees text.
 */
import { createParser, type EventSourceMessage } from 'eventsource-parser';

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
  /** The events completed by these bytes. The array is reused: consume it before the next call. */
  push(bytes: Uint8Array): readonly EventStreamItem[];
  /** The end of the stream: a last event without its closing blank line still counts. */
  end(): readonly EventStreamItem[];
}

export function createEventStreamDecoder(): EventStreamDecoder {
  const decoder = new TextDecoder();
  const ready: EventStreamItem[] = [];
  const parser = createParser({
    onEvent: (event) => ready.push(event),
    onError: (error) => {
      if (error.type === 'unknown-field' && error.line !== undefined) ready.push({ stray: error.line });
    },
  });
  return {
    push(bytes) {
      ready.length = 0;
      parser.feed(decoder.decode(bytes, { stream: true }));
      return ready;
    },
    end() {
      ready.length = 0;
      parser.feed(`${decoder.decode()}\n\n`);
      return ready;
    },
  };
}

/** The same as an async generator, for callers that prefer one. */
export async function* parseEventStream(body: AsyncIterable<Uint8Array>): AsyncGenerator<EventStreamItem, void, undefined> {
  const decoder = createEventStreamDecoder();
  for await (const bytes of body) yield* [...decoder.push(bytes)];
  yield* [...decoder.end()];
}

export function isStrayLine(item: EventStreamItem): item is StrayLine {
  return 'stray' in item;
}
