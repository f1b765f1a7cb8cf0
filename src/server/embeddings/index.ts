/**
 * OpenAI's embeddings door: `POST /v1/embeddings`. The inputs go to the model's providers that
 * make embeddings (router.embed: fallback, retries, circuit breakers); the vectors come back in
 * OpenAI's list, as numbers or as base64 of little-endian float32 values. Errors are OpenAI's
 * (app.ts maps them).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Router } from '../../routing/types.js';
import { readJsonBodySized } from '../body.js';
import type { ChatOutcome } from '../chat-completions.js';
import { countTexts } from '../../core/token-count.js';
import { parseEmbeddingsRequest, type EncodingFormat } from './request.js';

export { parseEmbeddingsRequest, MAX_EMBEDDING_INPUTS, type ParsedEmbeddingsRequest } from './request.js';

export interface EmbeddingsRouteContext {
  router: Router;
  /** Headers every answer carries (request id, CORS). */
  headers: Record<string, string>;
  bodyLimitBytes: number;
  /** Put the request's inputs in its log line. */
  logMessages: boolean;
  /** The signal of the request's upstream call (app.ts): aborted when the client goes away. */
  upstreamSignal(): AbortSignal;
}

/** What the request did, for its log line. */
export interface EmbeddingsState extends ChatOutcome {
  messages?: unknown;
}

/** A vector as OpenAI's base64: float32 values, little-endian. */
export function encodeBase64(vector: readonly number[]): string {
  const bytes = Buffer.alloc(vector.length * 4);
  for (let index = 0; index < vector.length; index += 1) bytes.writeFloatLE(vector[index] as number, index * 4);
  return bytes.toString('base64');
}

function encode(vector: number[], format: EncodingFormat): number[] | string {
  return format === 'base64' ? encodeBase64(vector) : vector;
}

/** `POST /v1/embeddings`. */
export async function handleEmbeddings(
  request: IncomingMessage,
  response: ServerResponse,
  context: EmbeddingsRouteContext,
  state: EmbeddingsState,
): Promise<void> {
  const body = await readJsonBodySized(request, context.bodyLimitBytes, response);
  const parsed = parseEmbeddingsRequest(body.value);
  state.model = parsed.request.model;
  state.stream = false;
  if (context.logMessages) state.messages = parsed.request.input;
  parsed.request.signal = context.upstreamSignal();

  const result = await context.router.embed(parsed.request);
  state.model = result.model;
  state.provider = result.provider;
  if (result.attempts.length > 0) state.attempts = result.attempts;
  const promptTokens =
    result.usage?.promptTokens ??
    (parsed.texts === undefined ? (parsed.request.input as number[][]).reduce((sum, tokens) => sum + tokens.length, 0) : await countTexts(parsed.texts));
  const totalTokens = result.usage?.totalTokens ?? promptTokens;
  state.usage = { promptTokens, completionTokens: 0, totalTokens };
  if (response.destroyed) return;
  const text = JSON.stringify({
    object: 'list',
    data: result.embeddings.map((vector, index) => ({ object: 'embedding', index, embedding: encode(vector, parsed.encodingFormat) })),
    model: result.model,
    usage: { prompt_tokens: promptTokens, total_tokens: totalTokens },
  });
  response.writeHead(200, {
    ...context.headers,
    'x-g4f-provider': result.provider,
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(text),
    'x-content-type-options': 'nosniff',
  });
  response.end(text);
}
