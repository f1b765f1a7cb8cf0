/**
 * Any OpenAI-compatible chat endpoint (Ollama, vLLM, llama.cpp, LM Studio,
 * hosted APIs, Mishalsgpt): a provider that is configuration only.
 */
import { ModelNotFoundError, StreamParseError } from '../core/errors.js';
import { createCallGuard, errorFromResponse, post, readErrorBody } from '../core/http.js';
import { createEventStreamDecoder, isStrayLine, type EventStreamItem } from '../core/sse.js';
import type { Chunk, CompletionRequest, Provider, ProviderContext } from '../core/spec.js';
import { chunksFromOpenAICompletion, chunksFromOpenAIEvent, findModelNotFound, parseJsonEvent, requestOptions } from './openai-wire.js';

export interface OpenAICompatibleSpec {
  name: string;
  /** Base URL, e.g. `http://127.0.0.1:11434/v1`. */
  url: string;
  models: readonly string[];
  /** Appended to the base URL; default `/chat/completions`. */
  path?: string;
  supportsStream?: boolean;
  needsAuth?: boolean;
  apiKeyEnv?: string;
  headers?: Record<string, string>;
  kind?: 'builtin' | 'openai-compatible';
  /** Send `"stream": false` when not streaming (some upstreams want no stream field at all). */
  sendStreamFalse?: boolean;
}

const DONE = Symbol('done');
const NONE: readonly Chunk[] = [];

export function createOpenAICompatibleProvider(spec: OpenAICompatibleSpec): Provider {
  const path = spec.path ?? '/chat/completions';
  const name = spec.name;
  const sendStreamFalse = spec.sendStreamFalse ?? true;

  async function* createCompletion(request: CompletionRequest, context: ProviderContext): AsyncGenerator<Chunk> {
    const payload: Record<string, unknown> = {
      model: request.model,
      temperature: request.temperature ?? 0.7,
      messages: request.messages,
      ...requestOptions(request),
    };
    if (request.stream) payload.stream = true;
    else if (sendStreamFalse) payload.stream = false;
    const headers: Record<string, string> = { 'content-type': 'application/json', accept: request.stream ? 'text/event-stream, application/json' : 'application/json', ...spec.headers, ...context.headers };
    if (context.apiKey !== undefined) headers.authorization = `Bearer ${context.apiKey}`;

    const guard = createCallGuard(name, context.timeouts, { signal: request.signal, stream: request.stream });
    let response;
    try {
      response = await post({ provider: name, url: `${context.baseUrl}${path}`, headers, body: JSON.stringify(payload), context, guard });
      if (response.statusCode < 200 || response.statusCode >= 300) {
        const text = await readErrorBody(response.body);
        const notFound = findModelNotFound(text);
        if (notFound !== undefined) throw new ModelNotFoundError(`${name}: ${notFound}`, 1, { provider: name });
        throw errorFromResponse(name, response.statusCode, response.headers, text);
      }
      const type = String(response.headers['content-type'] ?? '');
      if (type.includes('text/event-stream')) {
        const decoder = createEventStreamDecoder();
        let done = false;
        /** The chunks of one event; DONE at `[DONE]`, after which the rest is only read to the end. */
        const chunksOf = (item: EventStreamItem): readonly Chunk[] | typeof DONE => {
          if (isStrayLine(item)) {
            const notFound = findModelNotFound(item.stray);
            if (notFound !== undefined) throw new ModelNotFoundError(`${name}: ${notFound}`, 1, { provider: name });
            return NONE;
          }
          if (item.data === '[DONE]') return DONE;
          return chunksFromOpenAIEvent(name, parseJsonEvent(name, item.data));
        };
        for await (const bytes of response.body) {
          if (done) continue; // read on to the end so the pooled connection is reused
          for (const item of decoder.push(bytes)) {
            const chunks = chunksOf(item);
            if (chunks === DONE) {
              done = true;
              break;
            }
            for (const chunk of chunks) {
              if (chunk.type === 'text-delta') guard.gotFirstToken();
              yield chunk;
            }
          }
        }
        if (!done) {
          for (const item of decoder.end()) {
            const chunks = chunksOf(item);
            if (chunks === DONE) break;
            yield* chunks;
          }
        }
        return;
      }
      const text = await response.body.text();
      let value: unknown;
      try {
        value = JSON.parse(text);
      } catch {
        throw new StreamParseError(`${name} answered something that is not JSON (${type || 'no content-type'}): ${text.slice(0, 200)}`, {
          provider: name,
        });
      }
      const chunks = chunksFromOpenAICompletion(name, value);
      guard.gotFirstToken();
      yield* chunks;
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
    createCompletion,
  };
  return spec.apiKeyEnv === undefined ? provider : { ...provider, apiKeyEnv: spec.apiKeyEnv };
}
