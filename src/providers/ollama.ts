/**
 * Ollama's native API (`POST {baseUrl}/api/chat`): newline-delimited JSON when streamed, read line
 * by line with a bounded buffer; tools, images as base64 (an image URL is refused: Ollama takes
 * only the bytes, and g4f does not fetch URLs on the caller's behalf), thinking as reasoning.
 */
import type { Capabilities, Chunk, CompletionRequest, Provider, ProviderContext } from '../core/spec.js';
import { nativeBatches, nativeProvider, type NativeProviderSpec } from './native-call.js';
import { ollamaModelListing } from './model-listing.js';
import { createLineDecoder } from './ndjson.js';
import { createOllamaLineReader, ollamaBody, ollamaReplyError } from './ollama-wire.js';

export interface OllamaSpec extends NativeProviderSpec {
  /** `"models": "auto"`: also serve the models `GET /api/tags` lists. */
  listModels?: boolean;
  /** How long a listing is kept; default 5 minutes. */
  modelRefreshMs?: number;
}

export const OLLAMA_CAPABILITIES: Readonly<Capabilities> = Object.freeze({
  tools: true,
  vision: true,
  jsonSchema: true,
  reasoning: true,
  n: false,
  logprobs: false,
  embeddings: false,
});

export function createOllamaProvider(spec: OllamaSpec): Provider {
  const name = spec.name;
  async function* batches(request: CompletionRequest, context: ProviderContext): AsyncGenerator<readonly Chunk[]> {
    const headers: Record<string, string> = {
      'content-type': 'application/json',
      accept: request.stream ? 'application/x-ndjson' : 'application/json',
    };
    // Ollama itself needs no key; one behind an authenticating proxy gets it as a bearer token.
    if (context.apiKey !== undefined) headers.authorization = `Bearer ${context.apiKey}`;
    yield* nativeBatches({
      provider: name,
      request,
      context,
      path: '/api/chat',
      headers,
      body: ollamaBody(name, request),
      secret: context.apiKey,
      errorOf: (status, replyHeaders, text) => ollamaReplyError(name, status, replyHeaders, text),
      decoder: () => createLineDecoder(name),
      reader: () => createOllamaLineReader(name),
      whole: (text) => {
        const chunks: Chunk[] = [];
        const reader = createOllamaLineReader(name);
        reader.read(text, chunks);
        return chunks;
      },
    });
  }
  const provider = nativeProvider(spec, { capabilities: OLLAMA_CAPABILITIES, needsAuth: false, kind: 'ollama' }, batches);
  return spec.listModels === true ? { ...provider, modelListing: ollamaModelListing(name, spec.headers, spec.modelRefreshMs) } : provider;
}
