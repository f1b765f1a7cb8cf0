/** Reading an OpenAI-style reply (error status, SSE stream or JSON), shared by every provider. */
import { ModelNotFoundError, StreamParseError, truncate, type G4FError } from '../core/errors.js';
import { errorFromResponse, readErrorBody, type CallGuard } from '../core/http.js';
import type { UpstreamReply } from '../core/reply.js';
import { DEFAULT_LIMITS } from '../core/settings.js';
import { createEventStreamDecoder, isStrayLine, type EventStreamItem } from '../core/sse.js';
import type { Chunk, ReplyLimits } from '../core/spec.js';
import { readItems, type ItemReader } from './item-stream.js';
import { chunksFromOpenAICompletion, chunksFromOpenAIEvent, findModelNotFound, parseJsonEvent, plainDeltaText } from './openai-wire.js';

export interface ReplyOptions {
  provider: string;
  guard: CallGuard;
  /** Values to redact from upstream text: API keys, tokens. */
  secrets: ReadonlyArray<string | undefined>;
  /** The context's limits; default DEFAULT_LIMITS. */
  limits?: ReplyLimits | undefined;
}

/** The typed error of a non-2xx reply; OpenAI's model-not-found keeps its class. */
export async function errorOfReply(response: UpstreamReply, options: ReplyOptions): Promise<G4FError> {
  const text = await readErrorBody(response.body, options.secrets);
  const notFound = findModelNotFound(text);
  if (notFound !== undefined) return new ModelNotFoundError(`${options.provider}: ${notFound}`, 1, { provider: options.provider });
  return errorFromResponse(options.provider, response.statusCode, response.headers, text);
}

/** What one event says: chunks to pass on (appended to `into`), or the end of the answer. */
function readEvent(item: EventStreamItem, options: ReplyOptions, into: Chunk[]): 'more' | 'done' {
  const { provider } = options;
  if (isStrayLine(item)) {
    // Not SSE at all; Lockchat's upstream says model-not-found this way.
    const notFound = findModelNotFound(item.stray);
    if (notFound !== undefined) throw new ModelNotFoundError(`${provider}: ${notFound}`, 1, { provider });
    return 'more';
  }
  if (item.data === '[DONE]') return 'done';
  const text = plainDeltaText(item.data);
  if (text !== undefined) {
    if (text !== '') into.push({ type: 'text-delta', text });
  } else {
    into.push(...chunksFromOpenAIEvent(provider, parseJsonEvent(provider, item.data), options.secrets));
  }
  return 'more';
}

/**
 * The chunks of a `text/event-stream` reply of `chat.completion.chunk` events, one batch per
 * network read. A stream that ends without `data: [DONE]` is accepted (many servers omit it).
 */
export function readEventStreamReply(response: UpstreamReply, options: ReplyOptions): AsyncGenerator<readonly Chunk[]> {
  const decoder = createEventStreamDecoder({ maxEventChars: (options.limits ?? DEFAULT_LIMITS).eventChars, provider: options.provider });
  const reader: ItemReader<EventStreamItem> = { read: (item, into) => readEvent(item, options, into), end: () => undefined };
  return readItems(response.body, decoder, reader, options.guard);
}

/** The chunks of a whole `chat.completion` JSON reply: each choice's content, once. */
export async function jsonReplyChunks(response: UpstreamReply, options: ReplyOptions): Promise<readonly Chunk[]> {
  const text = await response.body.text((options.limits ?? DEFAULT_LIMITS).bodyBytes);
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    const type = String(response.headers['content-type'] ?? 'no content-type');
    throw new StreamParseError(`${options.provider} answered something that is not JSON (${type}): ${truncate(text, 200)}`, {
      provider: options.provider,
    });
  }
  const chunks = chunksFromOpenAICompletion(options.provider, value, options.secrets);
  options.guard.gotFirstToken();
  return chunks;
}

export function isEventStream(response: UpstreamReply): boolean {
  const type = response.headers['content-type'];
  return typeof type === 'string' && type.includes('text/event-stream');
}
