/**
 * The emulator's `POST /v1/embeddings`, in OpenAI's wire format: deterministic unit vectors (the
 * same input and model always give the same vector), `dimensions` honoured, `encoding_format`
 * `float` or `base64` (little-endian float32 bytes), and the plan's faults as for chat.
 */
import type { Plan } from './plan.js';
import { countWords, requestedModel } from './replies.js';
import { openAiError, type ResponseScript } from './wire.js';

/** The length of a vector when the request gives no `dimensions`. */
export const DEFAULT_EMBEDDING_DIMENSIONS = 16;

const JSON_TYPE = 'application/json';

/**
 * The unit vector of one input (a text, or a list of token ids) for a model: a pseudo-random
 * walk seeded by both, each value already a float32 so that both encodings say the same.
 */
export function emulatedEmbedding(model: string, input: string | readonly number[], dimensions = DEFAULT_EMBEDDING_DIMENSIONS): number[] {
  let seed = 0x811c9dc5;
  for (const character of `${model}\n${typeof input === 'string' ? input : JSON.stringify(input)}`) {
    seed ^= character.codePointAt(0) ?? 0;
    seed = Math.imul(seed, 0x01000193) >>> 0;
  }
  const random = (): number => {
    // mulberry32
    seed = (seed + 0x6d2b79f5) >>> 0;
    let mixed = Math.imul(seed ^ (seed >>> 15), seed | 1);
    mixed ^= mixed + Math.imul(mixed ^ (mixed >>> 7), mixed | 61);
    return ((mixed ^ (mixed >>> 14)) >>> 0) / 4294967296;
  };
  const values = Array.from({ length: dimensions }, () => random() * 2 - 1);
  const norm = Math.hypot(...values) || 1;
  return values.map((value) => Math.fround(value / norm));
}

/** A vector as OpenAI's base64: its float32 values, little-endian. */
export function base64Embedding(vector: readonly number[]): string {
  const bytes = Buffer.alloc(vector.length * 4);
  for (const [index, value] of vector.entries()) bytes.writeFloatLE(value, index * 4);
  return bytes.toString('base64');
}

/** The inputs of a request body as a list (a string or one token list is one input), or a reason it is not valid. */
function inputsOf(input: unknown): Array<string | number[]> | string {
  if (typeof input === 'string') return [input];
  if (!Array.isArray(input) || input.length === 0) return "'input' must be a string or a non-empty list of strings or token lists";
  if (input.every((item) => typeof item === 'number')) return [input as number[]];
  if (input.every((item) => typeof item === 'string')) return input as string[];
  if (input.every((item) => Array.isArray(item) && item.length > 0 && item.every((token) => Number.isInteger(token)))) return input as number[][];
  return "'input' must be a string, a list of strings, a token list or a list of token lists";
}

function invalid(message: string, param: string): ResponseScript {
  const body = JSON.stringify({ error: { message, type: 'invalid_request_error', param, code: null } });
  return {
    status: 400,
    headers: { 'content-type': JSON_TYPE, 'content-length': String(Buffer.byteLength(body)) },
    head: '',
    units: [body],
    tail: '',
    ending: { kind: 'end' },
  };
}

/** The script of the answer to an embeddings request. */
export function scriptEmbeddings(plan: Plan, body: Record<string, unknown>): ResponseScript {
  const headers: Record<string, string> = {};
  if (plan.retryAfter !== undefined) headers['retry-after'] = String(plan.retryAfter);
  if (plan.retryAfterMs !== undefined) headers['retry-after-ms'] = String(plan.retryAfterMs);
  if (plan.headers !== undefined) for (const [name, value] of Object.entries(plan.headers)) headers[name.toLowerCase()] = value;
  const whole = (status: number, text: string, type: string): ResponseScript => {
    headers['content-type'] = plan.contentType ?? type;
    headers['content-length'] = String(Buffer.byteLength(text));
    return { status, headers, head: '', units: [text], tail: '', ending: { kind: 'end' } };
  };

  if (plan.modelNotFound !== undefined) {
    const message = `The model \`${requestedModel(body)}\` does not exist or you do not have access to it.`;
    return whole(404, JSON.stringify({ error: { message, type: 'invalid_request_error', param: null, code: 'model_not_found' } }), JSON_TYPE);
  }
  if (plan.errorBody !== undefined) return whole(plan.status ?? 500, plan.errorBody, 'text/plain; charset=utf-8');
  if (plan.status !== undefined && plan.status >= 400)
    return whole(plan.status, JSON.stringify({ error: openAiError(plan.status, plan.errorMessage) }), JSON_TYPE);

  const inputs = inputsOf(body.input);
  if (typeof inputs === 'string') return invalid(inputs, 'input');
  const dimensions = body.dimensions ?? DEFAULT_EMBEDDING_DIMENSIONS;
  if (typeof dimensions !== 'number' || !Number.isInteger(dimensions) || dimensions < 1 || dimensions > 8192) {
    return invalid("'dimensions' must be an integer from 1 to 8192", 'dimensions');
  }
  const format = body.encoding_format ?? 'float';
  if (format !== 'float' && format !== 'base64') return invalid("'encoding_format' must be 'float' or 'base64'", 'encoding_format');
  const model = plan.model ?? requestedModel(body);
  const data = inputs.map((input, index) => {
    const vector = emulatedEmbedding(requestedModel(body), input, dimensions);
    return { object: 'embedding', index, embedding: format === 'base64' ? base64Embedding(vector) : vector };
  });
  const tokens = inputs.reduce((sum, input) => sum + (typeof input === 'string' ? countWords(input) : input.length), 0);
  const reply: Record<string, unknown> = { object: 'list', data, model };
  if (plan.usage !== false) reply.usage = { prompt_tokens: tokens, total_tokens: tokens };
  const full = JSON.stringify(reply);
  const status = plan.status ?? 200;
  if (plan.stallAfterChunks !== undefined) {
    headers['content-type'] = plan.contentType ?? JSON_TYPE;
    return { status, headers, head: '', units: [], tail: '', ending: { kind: 'stall', keepAliveFrame: '' } };
  }
  if (plan.disconnectAfterChunks !== undefined) {
    headers['content-type'] = plan.contentType ?? JSON_TYPE;
    headers['content-length'] = String(Buffer.byteLength(full));
    return { status, headers, head: '', units: [full.slice(0, Math.floor(full.length / 2))], tail: '', ending: { kind: 'disconnect' } };
  }
  if (plan.invalidJson === true) return whole(status, full.slice(0, Math.floor(full.length / 2)), JSON_TYPE);
  return whole(status, full, JSON_TYPE);
}
