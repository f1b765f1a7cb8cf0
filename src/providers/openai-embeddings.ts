/**
 * OpenAI's embeddings wire format: `POST {baseUrl}/embeddings` with `{model, input,
 * encoding_format, dimensions?, user?}`, answered by `{object: "list", data: [{object:
 * "embedding", index, embedding}], model, usage: {prompt_tokens, total_tokens}}`. Shared by every
 * OpenAI-compatible provider.
 */
import { StreamParseError, truncate } from '../core/errors.js';
import { createCallGuard, joinUrl, post, secretHeaderValues, urlSecrets } from '../core/http.js';
import { DEFAULT_LIMITS } from '../core/settings.js';
import type { EmbeddingRequest, EmbeddingResult, EmbeddingUsage, ProviderContext } from '../core/spec.js';
import { errorOfReply } from './openai-stream.js';

export interface EmbeddingsCall {
  provider: string;
  /** Appended to the base URL, e.g. `/embeddings`. */
  path: string;
  /** Headers of the provider's own configuration. */
  headers?: Record<string, string> | undefined;
}

/** The wire body of an embeddings request. Vectors are asked for as floats: every server has them. */
export function embeddingsBody(request: EmbeddingRequest): Record<string, unknown> {
  const body: Record<string, unknown> = { model: request.model, input: request.input, encoding_format: 'float' };
  if (request.dimensions !== undefined) body.dimensions = request.dimensions;
  if (request.user !== undefined) body.user = request.user;
  return body;
}

/** One call to an OpenAI-compatible embeddings endpoint, under the context's timers and limits. */
export async function callEmbeddings(call: EmbeddingsCall, request: EmbeddingRequest, context: ProviderContext): Promise<EmbeddingResult> {
  const { provider } = call;
  const headers: Record<string, string> = { 'content-type': 'application/json', accept: 'application/json', ...call.headers, ...context.headers };
  if (context.apiKey !== undefined) headers.authorization = `Bearer ${context.apiKey}`;
  // Not a stream: the total timer bounds the whole call.
  const guard = createCallGuard(provider, context.timeouts, { signal: request.signal, stream: false });
  const secrets = [context.apiKey, ...urlSecrets(context.baseUrl), ...secretHeaderValues(context.headers)];
  let response;
  try {
    response = await post({ provider, url: joinUrl(context.baseUrl, call.path), headers, body: JSON.stringify(embeddingsBody(request)), context, guard });
    if (response.statusCode < 200 || response.statusCode >= 300) throw await errorOfReply(response, { provider, guard, secrets, limits: context.limits });
    const text = await response.body.text((context.limits ?? DEFAULT_LIMITS).bodyBytes);
    return parseEmbeddingsReply(provider, text, request.input.length);
  } catch (error) {
    throw guard.toError(error);
  } finally {
    response?.body.destroy();
    guard.dispose();
  }
}

/**
 * The vectors of an embeddings reply, in the inputs' order (by `index`). A reply that is not
 * OpenAI's list, or has not one vector per input, is the upstream's fault (StreamParseError).
 */
export function parseEmbeddingsReply(provider: string, text: string, inputs: number): EmbeddingResult {
  const fail = (why: string): StreamParseError =>
    new StreamParseError(`${provider} answered an embeddings reply that ${why}: ${truncate(text, 200)}`, { provider });
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw fail('is not JSON');
  }
  if (!isRecord(value) || !Array.isArray(value.data)) throw fail('has no data list');
  const embeddings: Array<number[] | undefined> = new Array(inputs).fill(undefined);
  value.data.forEach((item: unknown, position: number) => {
    if (!isRecord(item)) throw fail('has an item that is not an object');
    const index = item.index === undefined ? position : item.index;
    if (typeof index !== 'number' || !Number.isInteger(index) || index < 0 || index >= inputs || embeddings[index] !== undefined) {
      throw fail(`has an item whose index is not one of the ${inputs} inputs`);
    }
    const vector = vectorOf(item.embedding);
    if (vector === undefined) throw fail('has an embedding that is neither a list of numbers nor base64');
    embeddings[index] = vector;
  });
  if (embeddings.some((vector) => vector === undefined)) throw fail(`has not one embedding for each of the ${inputs} inputs`);
  const result: EmbeddingResult = { embeddings: embeddings as number[][] };
  const usage = usageOf(value.usage);
  if (usage !== undefined) result.usage = usage;
  return result;
}

/** A vector as a list of numbers, or as base64 of little-endian float32 values. */
function vectorOf(value: unknown): number[] | undefined {
  if (Array.isArray(value)) return value.every((number) => typeof number === 'number' && Number.isFinite(number)) ? (value as number[]) : undefined;
  if (typeof value !== 'string') return undefined;
  const bytes = Buffer.from(value, 'base64');
  if (bytes.length % 4 !== 0) return undefined;
  const vector: number[] = [];
  for (let offset = 0; offset < bytes.length; offset += 4) vector.push(bytes.readFloatLE(offset));
  return vector;
}

function usageOf(value: unknown): EmbeddingUsage | undefined {
  if (!isRecord(value) || typeof value.prompt_tokens !== 'number') return undefined;
  const total = typeof value.total_tokens === 'number' ? value.total_tokens : value.prompt_tokens;
  return { promptTokens: value.prompt_tokens, totalTokens: total };
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
