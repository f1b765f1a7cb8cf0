/**
 * Anthropic's Messages API (`POST {baseUrl}/v1/messages`, `x-api-key`, `anthropic-version:
 * 2023-06-01`): text, images (base64 or URL), tools both ways, extended thinking as reasoning,
 * structured output; streamed as server-sent events or answered whole.
 */
import { createEventStreamDecoder } from '../core/sse.js';
import type { Capabilities, Chunk, CompletionRequest, Provider, ProviderContext } from '../core/spec.js';
import { ANTHROPIC_DEFAULT_MAX_TOKENS, ANTHROPIC_VERSION, anthropicBody, anthropicMessageChunks, anthropicReplyError } from './anthropic-wire.js';
import { createAnthropicEventReader } from './anthropic-stream.js';
import { anthropicModelListing } from './model-listing.js';
import { nativeBatches, nativeProvider, type NativeProviderSpec } from './native-call.js';

export interface AnthropicSpec extends NativeProviderSpec {
  /** `max_tokens` when the caller gives none (Anthropic requires it); default 4096. */
  maxTokens?: number;
  /** Per model, over `maxTokens`. */
  modelMaxTokens?: Record<string, number>;
  /** `"models": "auto"`: also serve the models `GET /v1/models` lists. */
  listModels?: boolean;
  /** How long a listing is kept; default 5 minutes. */
  modelRefreshMs?: number;
}

export const ANTHROPIC_CAPABILITIES: Readonly<Capabilities> = Object.freeze({
  tools: true,
  vision: true,
  jsonSchema: true,
  reasoning: true,
  n: false,
  logprobs: false,
  embeddings: false,
});

export function createAnthropicProvider(spec: AnthropicSpec): Provider {
  const name = spec.name;
  async function* batches(request: CompletionRequest, context: ProviderContext): AsyncGenerator<readonly Chunk[]> {
    const maxTokens = spec.modelMaxTokens?.[request.model] ?? spec.maxTokens ?? ANTHROPIC_DEFAULT_MAX_TOKENS;
    const headers: Record<string, string> = {
      'content-type': 'application/json',
      accept: request.stream ? 'text/event-stream' : 'application/json',
      'anthropic-version': ANTHROPIC_VERSION,
    };
    if (context.apiKey !== undefined) headers['x-api-key'] = context.apiKey;
    yield* nativeBatches({
      provider: name,
      request,
      context,
      path: '/v1/messages',
      headers,
      body: anthropicBody(request, { provider: name, maxTokens }),
      secret: context.apiKey,
      errorOf: (status, replyHeaders, text) => anthropicReplyError(name, status, replyHeaders, text),
      decoder: createEventStreamDecoder,
      reader: () => createAnthropicEventReader(name),
      whole: (text) => anthropicMessageChunks(name, text),
    });
  }
  const provider = nativeProvider(spec, { capabilities: ANTHROPIC_CAPABILITIES, needsAuth: true, kind: 'anthropic' }, batches);
  return spec.listModels === true ? { ...provider, modelListing: anthropicModelListing(name, ANTHROPIC_VERSION, spec.headers, spec.modelRefreshMs) } : provider;
}
