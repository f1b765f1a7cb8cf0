/**
 * Anthropic's Messages API door: `POST /v1/messages` and `POST /v1/messages/count_tokens`.
 * app.ts routes to these handlers and answers every error of these paths with
 * {@link toAnthropicError}; the rest of the door (parsing, the answer, the stream) is internal.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Provider } from '../../core/spec.js';
import type { RouteRequest, Router } from '../../routing/types.js';
import { readJsonBodySized, tooLarge } from '../body.js';
import type { ChatOutcome } from '../chat-completions.js';
import type { Metrics } from '../metrics.js';
import { wholeMessage } from './answer.js';
import { countInputTokens } from './count.js';
import { toAnthropicError, type AnthropicError } from './errors.js';
import { parseMessagesRequest, type ParsedMessagesRequest } from './request.js';
import { streamMessage } from './stream.js';

export { toAnthropicError, anthropicErrorType, type AnthropicError, type AnthropicErrorBody } from './errors.js';
export { parseMessagesRequest, type ParsedMessagesRequest } from './request.js';

export interface MessagesRouteContext {
  router: Router;
  metrics: Metrics;
  /** Headers every answer carries (request id, CORS). */
  headers: Record<string, string>;
  /** The request id (x-request-id). */
  id: string;
  /** `performance.now()` when the request arrived. */
  startedAt: number;
  bodyLimitBytes: number;
  /** The body limit of a request that carries images (larger). */
  imageBodyLimitBytes: number;
  /** Put the request's messages in its log line. */
  logMessages: boolean;
  /** The signal of the request's upstream call (app.ts): aborted when the client goes away. */
  upstreamSignal(): AbortSignal;
  /** Requests whose failures must not count against the providers' health. */
  healthExempt?: ((messages: RouteRequest['messages']) => boolean) | undefined;
}

/** What the request did, for its log line. */
export interface MessagesState extends ChatOutcome {
  messages?: unknown;
}

/** `/v1/messages` and below: the paths whose errors are in Anthropic's shape. */
export function isMessagesPath(path: string): boolean {
  return path === '/v1/messages' || path.startsWith('/v1/messages/');
}

/** The error formatter of a request on this door (its id goes in `request_id`). */
export function messagesErrorFormatter(requestId: string): (error: unknown) => AnthropicError {
  return (error) => toAnthropicError(error, requestId);
}

/**
 * An authorizer that also takes the key from `x-api-key` (Anthropic's header), checked by the
 * same constant-time comparison as `Authorization: Bearer`.
 */
export function acceptApiKeyHeader(authorize: (request: IncomingMessage) => boolean): (request: IncomingMessage) => boolean {
  return (request) => {
    if (authorize(request)) return true;
    const key = request.headers['x-api-key'];
    if (typeof key !== 'string' || key.trim() === '') return false;
    // The same request, seen with the key as its bearer token.
    const headers = { ...request.headers, authorization: `Bearer ${key.trim()}` };
    return authorize(Object.create(request, { headers: { value: headers } }) as IncomingMessage);
  };
}

async function readRequest(
  request: IncomingMessage,
  response: ServerResponse,
  context: MessagesRouteContext,
  countOnly: boolean,
): Promise<ParsedMessagesRequest> {
  const body = await readJsonBodySized(request, Math.max(context.bodyLimitBytes, context.imageBodyLimitBytes), response);
  const parsed = parseMessagesRequest(body.value, { imageBytes: context.imageBodyLimitBytes, countOnly });
  // Only a request with images may use the larger limit.
  if (body.bytes > context.bodyLimitBytes && !parsed.hasImages) throw tooLarge(context.bodyLimitBytes);
  return parsed;
}

function sendJson(response: ServerResponse, headers: Record<string, string>, value: unknown): void {
  const body = JSON.stringify(value);
  response.writeHead(200, { ...headers, 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), 'x-content-type-options': 'nosniff' });
  response.end(body);
}

/**
 * `top_k` to every provider of the model in its own protocol's words: an OpenAI-compatible
 * upstream reads it from the request body (`extraBody`, set by the parser); the native
 * protocols take it through their provider options (Anthropic's `top_k`, Ollama's
 * `options.top_k`, Gemini's `generationConfig.topK`).
 */
async function sendTopK(request: RouteRequest, router: Router): Promise<void> {
  const topK = request.extraBody?.top_k;
  if (topK === undefined) return;
  let providers: readonly Provider[];
  try {
    providers = router.resolve(request.model, request.provider).providers;
  } catch {
    // Perhaps a model an upstream lists and that is not listed yet: ask the listings once.
    await router.refreshModels();
    try {
      providers = router.resolve(request.model, request.provider).providers;
    } catch {
      return; // routing answers the unknown model itself
    }
  }
  for (const provider of providers) {
    const own =
      provider.kind === 'anthropic'
        ? { top_k: topK }
        : provider.kind === 'ollama'
          ? { options: { top_k: topK } }
          : provider.kind === 'gemini'
            ? { generationConfig: { topK } }
            : undefined;
    if (own !== undefined) (request.providerOptions ??= {})[provider.name] = own;
  }
}

/** `POST /v1/messages`: a routed answer as one `message`, or as Anthropic's stream events. */
export async function handleMessages(request: IncomingMessage, response: ServerResponse, context: MessagesRouteContext, state: MessagesState): Promise<void> {
  const parsed = await readRequest(request, response, context, false);
  await sendTopK(parsed.request, context.router);
  if (context.healthExempt?.(parsed.request.messages) === true) parsed.request.healthExempt = true;
  if (context.logMessages) state.messages = parsed.request.messages;
  state.model = parsed.model;
  state.stream = parsed.stream;
  const signal = context.upstreamSignal();
  parsed.request.signal = signal;
  const answer = {
    router: context.router,
    metrics: context.metrics,
    baseHeaders: context.headers,
    startedAt: context.startedAt,
    messageId: `msg_${context.id}`,
  };
  if (parsed.stream) await streamMessage(response, parsed, { ...answer, signal, requestId: context.id }, state);
  else await wholeMessage(response, parsed, answer, state);
}

/** `POST /v1/messages/count_tokens`: `{"input_tokens": n}`, counted here; no upstream is asked. */
export async function handleCountTokens(
  request: IncomingMessage,
  response: ServerResponse,
  context: MessagesRouteContext,
  state: MessagesState,
): Promise<void> {
  const parsed = await readRequest(request, response, context, true);
  state.model = parsed.model;
  // An unknown model is a 404, as on /v1/messages.
  context.router.resolve(parsed.request.model, parsed.request.provider);
  sendJson(response, context.headers, { input_tokens: await countInputTokens(parsed.request) });
}
