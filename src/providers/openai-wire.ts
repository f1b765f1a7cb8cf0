/** OpenAI's chat wire format, shared by Lockchat, Mishalsgpt and configured OpenAI-compatible providers. */
import { ModelNotFoundError, ProviderHttpError, StreamParseError, redactSecrets, truncate, type G4FError } from '../core/errors.js';
import type { Chunk, CompletionRequest, FinishReason, Usage } from '../core/spec.js';

/** Fields of a completion request that are not upstream options. */
const OWN_FIELDS = new Set(['model', 'messages', 'stream', 'temperature', 'signal', 'provider', 'timeouts', 'auth', 'apiKey']);

/** How long an upstream may keep a reply open after `data: [DONE]` before it is cut (the answer is complete). */
export const AFTER_DONE_GRACE_MS = 1_000;

/** The caller's extra options (max_tokens, top_p, …), to pass through to the upstream. */
export function requestOptions(request: CompletionRequest): Record<string, unknown> {
  let options: Record<string, unknown> | undefined;
  for (const key in request) {
    if (OWN_FIELDS.has(key)) continue;
    const value = request[key];
    if (value === undefined) continue;
    (options ??= {})[key] = value;
  }
  return options ?? {};
}

const MODEL_NOT_FOUND = /The model: `[^`]*` does not exist/;

/** OpenAI's model-not-found message, however it is framed, or undefined. */
export function findModelNotFound(text: string): string | undefined {
  if (!text.includes('does not exist')) return undefined;
  return MODEL_NOT_FOUND.exec(text)?.[0];
}

/**
 * The tail of the most common event of all, a plain content delta:
 * `…"choices":[{"index":0,"delta":{"content":"…"},"logprobs":null,"finish_reason":null}]}`,
 * optionally followed by `"usage":null`. Matched from the `"choices"` key on.
 */
const PLAIN_DELTA =
  /"choices":\[\{"index":0,"delta":\{"content":("(?:[^"\\]|\\.)*")\},(?:"logprobs":null,)?"finish_reason":null\}\](?:,"usage":null)?\}$/y;

/**
 * The text of a plain content-delta event without building its whole object
 * tree: this event is nearly every event of a stream, and parsing it in full
 * was the largest cost of the request path. Undefined for any other event,
 * which then takes the full parse.
 */
export function plainDeltaText(data: string): string | undefined {
  const at = data.indexOf('"choices":');
  // The pattern is anchored at the end, so an error field could only come before the choices.
  if (at === -1 || data.lastIndexOf('"error"', at) !== -1) return undefined;
  PLAIN_DELTA.lastIndex = at;
  const match = PLAIN_DELTA.exec(data);
  if (match === null) return undefined;
  const literal = match[1] as string;
  // A JSON string without escapes is its own text; with escapes JSON.parse decodes just the string.
  return literal.includes('\\') ? (JSON.parse(literal) as string) : literal.slice(1, -1);
}

export function parseJsonEvent(provider: string, data: string): unknown {
  try {
    return JSON.parse(data);
  } catch {
    throw new StreamParseError(`${provider} sent an event that is not JSON: ${truncate(data, 200)}`, { provider });
  }
}

interface WireUsage {
  prompt_tokens?: unknown;
  completion_tokens?: unknown;
  total_tokens?: unknown;
}

interface WireChoice {
  delta?: { content?: unknown } | null;
  message?: { content?: unknown } | null;
  finish_reason?: unknown;
}

interface WireEvent {
  choices?: unknown;
  usage?: WireUsage | null;
  error?: { message?: unknown; code?: unknown; status?: unknown } | string | null;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null;
}

export function toUsage(usage: WireUsage | null | undefined): Usage | undefined {
  if (!isObject(usage)) return undefined;
  const prompt = Number(usage.prompt_tokens ?? 0);
  const completion = Number(usage.completion_tokens ?? 0);
  if (!Number.isFinite(prompt) || !Number.isFinite(completion)) return undefined;
  const total = Number(usage.total_tokens ?? prompt + completion);
  return { promptTokens: prompt, completionTokens: completion, totalTokens: Number.isFinite(total) ? total : prompt + completion };
}

/** An `error` object inside a 200 reply (some proxies do this); OpenAI's model-not-found keeps its class. */
export function upstreamError(
  provider: string,
  event: WireEvent,
  secrets: ReadonlyArray<string | undefined> = [],
): G4FError | undefined {
  const error = event.error;
  if (error === undefined || error === null) return undefined;
  const raw = typeof error === 'string' ? error : typeof error.message === 'string' ? error.message : JSON.stringify(error);
  const message = truncate(redactSecrets(raw, secrets));
  const notFound = findModelNotFound(message);
  if (notFound !== undefined) return new ModelNotFoundError(`${provider}: ${notFound}`, 1, { provider });
  const status = typeof error === 'object' && typeof error.status === 'number' ? error.status : 502;
  return new ProviderHttpError(status, message, { provider, message: `${provider} reported an error: ${message}` });
}

/** Chunks of one streamed `chat.completion.chunk` event. */
export function chunksFromOpenAIEvent(provider: string, value: unknown, secrets?: ReadonlyArray<string | undefined>): Chunk[] {
  if (!isObject(value)) throw new StreamParseError(`${provider} sent an event that is not an object`, { provider });
  const event = value as WireEvent;
  const error = upstreamError(provider, event, secrets);
  if (error) throw error;
  const chunks: Chunk[] = [];
  if (Array.isArray(event.choices)) {
    const choice = event.choices[0] as WireChoice | null | undefined;
    if (typeof choice === 'object' && choice !== null) {
      const content = choice.delta?.content;
      if (typeof content === 'string' && content !== '') chunks.push({ type: 'text-delta', text: content });
      if (typeof choice.finish_reason === 'string') chunks.push({ type: 'finish', reason: choice.finish_reason as FinishReason });
    }
  }
  const usage = toUsage(event.usage);
  if (usage) chunks.push({ type: 'usage', usage });
  return chunks;
}

/** Chunks of a whole `chat.completion` object: the content of each choice, as the Mishalsgpt seed says. */
export function chunksFromOpenAICompletion(provider: string, value: unknown, secrets?: ReadonlyArray<string | undefined>): Chunk[] {
  if (!isObject(value)) throw new StreamParseError(`${provider} answered JSON that is not an object`, { provider });
  const completion = value as WireEvent;
  const error = upstreamError(provider, completion, secrets);
  if (error) throw error;
  if (!Array.isArray(completion.choices)) {
    throw new StreamParseError(`${provider} answered without a choices list: ${truncate(JSON.stringify(value), 200)}`, {
      provider,
    });
  }
  const chunks: Chunk[] = [];
  let finish: FinishReason | undefined;
  for (const choice of completion.choices as unknown[]) {
    if (!isObject(choice)) continue;
    const content = (choice as WireChoice).message?.content;
    if (typeof content === 'string' && content !== '') chunks.push({ type: 'text-delta', text: content });
    const reason = (choice as WireChoice).finish_reason;
    if (typeof reason === 'string') finish ??= reason;
  }
  if (finish !== undefined) chunks.push({ type: 'finish', reason: finish });
  const usage = toUsage(completion.usage);
  if (usage) chunks.push({ type: 'usage', usage });
  return chunks;
}
