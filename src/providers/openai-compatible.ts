/**
 * Any OpenAI-compatible chat endpoint (Ollama, vLLM, llama.cpp, LM Studio,
 * hosted APIs, Mishalsgpt): a provider that is configuration only.
 */
import { groupedChunks } from '../core/batches.js';
import { createCallGuard, joinUrl, post, secretHeaderValues, urlSecrets } from '../core/http.js';
import { ALL_CAPABILITIES, capabilitiesOf } from '../core/messages.js';
import type { Capabilities, Chunk, CompletionRequest, Provider, ProviderContext } from '../core/spec.js';
import { openAIModelListing } from './model-listing.js';
import { openAIMessages, requestOptions } from './openai-wire.js';
import { callEmbeddings } from './openai-embeddings.js';
import { errorOfReply, isEventStream, jsonReplyChunks, readEventStreamReply } from './openai-stream.js';

export interface OpenAICompatibleSpec {
  name: string;
  /** Base URL, e.g. `http://127.0.0.1:11434/v1`. */
  url: string;
  models: readonly string[];
  /** Appended to the base URL; default `/chat/completions`. */
  path?: string;
  /** Appended to the base URL for embeddings; default: `path` with `/embeddings` for `/chat/completions`. */
  embeddingsPath?: string;
  supportsStream?: boolean;
  needsAuth?: boolean;
  apiKeyEnv?: string;
  headers?: Record<string, string>;
  kind?: 'builtin' | 'openai-compatible';
  /** Send `"stream": false` when not streaming (some upstreams want no stream field at all). */
  sendStreamFalse?: boolean;
  /** Temperature sent when the caller gives none; default: none sent (the upstream's own default). */
  defaultTemperature?: number;
  /** What it can do; default: everything OpenAI's API can (tools, images, json_schema, reasoning, n, logprobs, embeddings). */
  capabilities?: Partial<Capabilities>;
  /** Per model, over the provider's own. */
  modelCapabilities?: Record<string, Partial<Capabilities>>;
  /** `"models": "auto"`: also serve the models `GET /v1/models` lists (beside the chat path). */
  listModels?: boolean;
  /** How long a listing is kept; default 5 minutes. */
  modelRefreshMs?: number;
}

export function createOpenAICompatibleProvider(spec: OpenAICompatibleSpec): Provider {
  const path = spec.path ?? '/chat/completions';
  const name = spec.name;
  const sendStreamFalse = spec.sendStreamFalse ?? true;
  const embeddingsPath = spec.embeddingsPath ?? `${path.replace(/\/chat\/completions$/, '')}/embeddings`;

  async function* readCompletion(request: CompletionRequest, context: ProviderContext): AsyncGenerator<readonly Chunk[]> {
    const payload: Record<string, unknown> = { model: request.model };
    const temperature = request.temperature ?? spec.defaultTemperature;
    if (temperature !== undefined) payload.temperature = temperature;
    payload.messages = openAIMessages(request.messages, !capabilitiesOf(provider, request.model).vision);
    Object.assign(payload, requestOptions(request, name));
    if (request.stream) payload.stream = true;
    else if (sendStreamFalse) payload.stream = false;
    const headers: Record<string, string> = {
      'content-type': 'application/json',
      accept: request.stream ? 'text/event-stream, application/json' : 'application/json',
      ...spec.headers,
      ...context.headers,
    };
    if (context.apiKey !== undefined) headers.authorization = `Bearer ${context.apiKey}`;

    const guard = createCallGuard(name, context.timeouts, { signal: request.signal, stream: request.stream });
    const reply = {
      provider: name,
      guard,
      secrets: [context.apiKey, ...urlSecrets(context.baseUrl), ...secretHeaderValues(context.headers)],
      limits: context.limits,
    };
    let response;
    try {
      response = await post({ provider: name, url: joinUrl(context.baseUrl, path), headers, body: JSON.stringify(payload), context, guard });
      if (response.statusCode < 200 || response.statusCode >= 300) throw await errorOfReply(response, reply);
      if (isEventStream(response)) yield* readEventStreamReply(response, reply);
      else yield await jsonReplyChunks(response, reply);
    } catch (error) {
      throw guard.toError(error);
    } finally {
      response?.body.destroy();
      guard.dispose();
    }
  }

  const provider: Provider = {
    name,
    url: spec.url,
    models: spec.models,
    supportsStream: spec.supportsStream ?? true,
    needsAuth: spec.needsAuth ?? false,
    kind: spec.kind ?? 'openai-compatible',
    capabilities: spec.capabilities ?? ALL_CAPABILITIES,
    ...(spec.modelCapabilities === undefined ? {} : { modelCapabilities: spec.modelCapabilities }),
    ...(spec.listModels === true ? { modelListing: openAIModelListing(name, path, spec.headers, spec.modelRefreshMs) } : {}),
    createCompletion: (request, context) => groupedChunks(() => readCompletion(request, context)),
    // Served for the models whose `embeddings` capability is on (every model, unless configured off).
    createEmbeddings: (request, context) => callEmbeddings({ provider: name, path: embeddingsPath, headers: spec.headers }, request, context),
  };
  return spec.apiKeyEnv === undefined ? provider : { ...provider, apiKeyEnv: spec.apiKeyEnv };
}
