/**
 * Google's Gemini API (`{baseUrl}/v1beta/models/{model}:streamGenerateContent?alt=sse` and
 * `:generateContent`, `x-goog-api-key`): text, images (a data URL inline, any other https URL
 * by reference as `fileData`: a Files API URI or a public URL Gemini fetches), function calls both ways, thoughts as reasoning, safety stops as content_filter.
 */
import { createEventStreamDecoder } from '../core/sse.js';
import type { Capabilities, Chunk, CompletionRequest, Provider, ProviderContext } from '../core/spec.js';
import { geminiModelListing } from './model-listing.js';
import { createGeminiReader, geminiBody, geminiReplyError, geminiResponseChunks } from './gemini-wire.js';
import { nativeBatches, nativeProvider, type NativeProviderSpec } from './native-call.js';

export interface GeminiSpec extends NativeProviderSpec {
  /** `"models": "auto"`: also serve the models `GET /v1beta/models` lists (those that generate content). */
  listModels?: boolean;
  /** How long a listing is kept; default 5 minutes. */
  modelRefreshMs?: number;
}

export const GEMINI_CAPABILITIES: Readonly<Capabilities> = Object.freeze({
  tools: true,
  vision: true,
  jsonSchema: true,
  reasoning: true,
  n: false,
  logprobs: false,
  embeddings: false,
});

/** The path of a model's method: `gemini-2.5-flash` and `models/gemini-2.5-flash` name the same model. */
export function geminiPath(model: string, stream: boolean): string {
  const name = encodeURIComponent(model.startsWith('models/') ? model.slice('models/'.length) : model);
  return stream ? `/v1beta/models/${name}:streamGenerateContent?alt=sse` : `/v1beta/models/${name}:generateContent`;
}

export function createGeminiProvider(spec: GeminiSpec): Provider {
  const name = spec.name;
  async function* batches(request: CompletionRequest, context: ProviderContext): AsyncGenerator<readonly Chunk[]> {
    const headers: Record<string, string> = {
      'content-type': 'application/json',
      accept: request.stream ? 'text/event-stream' : 'application/json',
    };
    if (context.apiKey !== undefined) headers['x-goog-api-key'] = context.apiKey;
    yield* nativeBatches({
      provider: name,
      request,
      context,
      path: geminiPath(request.model, request.stream),
      headers,
      body: geminiBody(name, request),
      secret: context.apiKey,
      errorOf: (status, replyHeaders, text) => geminiReplyError(name, status, replyHeaders, text),
      decoder: createEventStreamDecoder,
      reader: () => createGeminiReader(name),
      whole: (text) => geminiResponseChunks(name, text),
    });
  }
  const provider = nativeProvider(spec, { capabilities: GEMINI_CAPABILITIES, needsAuth: true, kind: 'gemini' }, batches);
  return spec.listModels === true ? { ...provider, modelListing: geminiModelListing(name, spec.headers, spec.modelRefreshMs) } : provider;
}
