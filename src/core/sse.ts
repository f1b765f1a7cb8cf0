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

export async function* parseEventStream(
  body: AsyncIterable<Uint8Array>,
): AsyncGenerator<ServerSentEvent | StrayLine, void, undefined> {
  const decoder = new TextDecoder();
  let ready: Array<ServerSentEvent | StrayLine> = [];
  const parser = createParser({
    onEvent: (event) => ready.push(event),
    onError: (error) => {
      if (error.type === 'unknown-field' && error.line !== undefined) ready.push({ stray: error.line });
    },
  });
  for await (const bytes of body) {
    parser.feed(decoder.decode(bytes, { stream: true }));
    if (ready.length > 0) {
      const batch = ready;
      ready = [];
      yield* batch;
    }
  }
  // A last event without its closing blank line still counts.
  parser.feed(`${decoder.decode()}\n\n`);
  yield* ready;
}

export function isStrayLine(item: ServerSentEvent | StrayLine): item is StrayLine {
  return 'stray' in item;
}
