/**
 * The body of `POST /v1/embeddings`, checked field by field: `model`, `input` (a string, a list
 * of strings, a list of token ids, or a list of such lists), `encoding_format` (`float` or
 * `base64`), `dimensions` (a positive integer), `user`, and g4f's `provider`. Anything else is a
 * 400 naming the field: it could not be passed on faithfully.
 */
import { InvalidRequestError } from '../../core/errors.js';
import type { EmbedRouteRequest } from '../../routing/types.js';

/** OpenAI's own bound on the inputs of one request. */
export const MAX_EMBEDDING_INPUTS = 2048;

export type EncodingFormat = 'float' | 'base64';

export interface ParsedEmbeddingsRequest {
  request: EmbedRouteRequest;
  encodingFormat: EncodingFormat;
  /** The texts (to count tokens when the upstream gives no usage), or undefined for token ids. */
  texts: string[] | undefined;
}

const FIELDS = new Set(['model', 'input', 'encoding_format', 'dimensions', 'user', 'provider']);

function invalid(param: string, detail: string): InvalidRequestError {
  return new InvalidRequestError(`Invalid value for '${param}': ${detail}`, param);
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function typeName(value: unknown): string {
  return value === null ? 'null' : Array.isArray(value) ? 'an array' : typeof value;
}

function isTokenList(value: unknown): value is number[] {
  return Array.isArray(value) && value.length > 0 && value.every((token) => typeof token === 'number' && Number.isInteger(token) && token >= 0);
}

/** The inputs as one list: strings, or token id lists. */
function parseInput(input: unknown): string[] | number[][] {
  const shapes = 'a string, a list of strings, a list of token ids (integers), or a list of such lists';
  if (input === undefined) throw new InvalidRequestError("Missing required parameter: 'input'.", 'input');
  if (typeof input === 'string') {
    if (input === '') throw invalid('input', 'the text to embed is empty');
    return [input];
  }
  if (!Array.isArray(input)) throw invalid('input', `expected ${shapes}, got ${typeName(input)}`);
  if (input.length === 0) throw invalid('input', 'the list is empty');
  if (input.length > MAX_EMBEDDING_INPUTS) throw invalid('input', `at most ${MAX_EMBEDDING_INPUTS} inputs per request (got ${input.length})`);
  if (typeof input[0] === 'number') {
    if (!isTokenList(input)) throw invalid('input', 'a list of token ids must hold only non-negative integers');
    return [input];
  }
  if (typeof input[0] === 'string') {
    input.forEach((item: unknown, index) => {
      if (typeof item !== 'string') throw invalid(`input[${index}]`, `expected a string like the first input, got ${typeName(item)}`);
      if (item === '') throw invalid(`input[${index}]`, 'the text to embed is empty');
    });
    return input as string[];
  }
  if (Array.isArray(input[0])) {
    input.forEach((item: unknown, index) => {
      if (!isTokenList(item)) throw invalid(`input[${index}]`, 'expected a non-empty list of token ids (non-negative integers)');
    });
    return input as number[][];
  }
  throw invalid('input[0]', `expected ${shapes}, got ${typeName(input[0])}`);
}

export function parseEmbeddingsRequest(body: unknown): ParsedEmbeddingsRequest {
  if (!isRecord(body)) throw new InvalidRequestError(`The request body must be a JSON object, got ${typeName(body)}.`);
  for (const field of Object.keys(body)) {
    if (!FIELDS.has(field)) throw new InvalidRequestError(`Unrecognized request argument supplied: ${field}`, field);
  }
  const { model, encoding_format: format, dimensions, user, provider } = body;
  if (model === undefined) throw new InvalidRequestError("Missing required parameter: 'model'.", 'model');
  if (typeof model !== 'string' || model.trim() === '') throw invalid('model', `expected a model name, got ${typeName(model)}`);
  const input = parseInput(body.input);
  if (format !== undefined && format !== null && format !== 'float' && format !== 'base64') {
    throw invalid('encoding_format', `expected 'float' or 'base64', got ${JSON.stringify(format)}`);
  }
  if (dimensions !== undefined && dimensions !== null && !(typeof dimensions === 'number' && Number.isInteger(dimensions) && dimensions > 0)) {
    throw invalid('dimensions', `expected a positive integer, got ${JSON.stringify(dimensions)}`);
  }
  if (user !== undefined && user !== null && typeof user !== 'string') throw invalid('user', `expected a string, got ${typeName(user)}`);
  if (provider !== undefined && provider !== null && (typeof provider !== 'string' || provider === '')) {
    throw invalid('provider', `expected a provider name, got ${typeName(provider)}`);
  }
  const request: EmbedRouteRequest = { model, input };
  if (typeof dimensions === 'number') request.dimensions = dimensions;
  if (typeof user === 'string') request.user = user;
  if (typeof provider === 'string') request.provider = provider;
  return {
    request,
    encodingFormat: format === 'base64' ? 'base64' : 'float',
    texts: typeof input[0] === 'string' ? (input as string[]) : undefined,
  };
}
