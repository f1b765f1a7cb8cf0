/**
 * `"models": "auto"`: one GET of an upstream's own model list (Ollama's `/api/tags`, OpenAI's
 * `/v1/models`), sent through the provider's dispatcher under its connect and total timers, the
 * body bounded, every failure a typed error. Routing keeps the lists and refreshes them.
 */
import type { Dispatcher } from 'undici';
import { AbortError, ConnectionError, StreamParseError, TimeoutError, UpstreamResponseTooLargeError, isG4FError, redactSecrets } from '../core/errors.js';
import { dispatchReply } from '../core/reply.js';
import { globalDispatcher } from '../core/undici.js';
import { errorFromResponse, joinUrl, secretHeaderValues, urlSecrets } from '../core/http.js';
import type { ModelListing, ProviderContext } from '../core/spec.js';

/** How long a listing is kept: 5 minutes. */
export const DEFAULT_MODEL_REFRESH_MS = 300_000;
/** A model list larger than this is not one. */
const LIST_BYTES = 8 * 1024 * 1024;

/** GET `{baseUrl}{path}` as JSON; the key goes as a bearer token unless `headers` carry it (`bearer` false). */
async function getJson(
  provider: string,
  path: string,
  headers: Record<string, string>,
  context: ProviderContext,
  signal?: AbortSignal,
  bearer = true,
): Promise<unknown> {
  const url = new URL(joinUrl(context.baseUrl, path));
  const timeout = AbortSignal.timeout(context.timeouts.total);
  const combined = signal === undefined ? timeout : AbortSignal.any([signal, timeout]);
  const dispatcher = (context.dispatcher as Dispatcher | undefined) ?? globalDispatcher();
  const secrets = [context.apiKey, ...urlSecrets(context.baseUrl), ...secretHeaderValues(context.headers)];
  const sent: Record<string, string> = { accept: 'application/json', ...headers, ...context.headers };
  if (bearer && context.apiKey !== undefined && sent.authorization === undefined) sent.authorization = `Bearer ${context.apiKey}`;
  try {
    const reply = await dispatchReply(
      dispatcher,
      {
        origin: url.origin,
        path: url.pathname + url.search,
        method: 'GET',
        headers: sent,
        headersTimeout: context.timeouts.total,
        bodyTimeout: 0,
      },
      combined,
      context.timeouts.idle,
    );
    let body: string;
    try {
      body = await reply.body.text(LIST_BYTES);
    } catch (error) {
      if ((error as { code?: unknown } | null)?.code === 'G4F_REPLY_TOO_LARGE') throw new UpstreamResponseTooLargeError('body', LIST_BYTES, { provider });
      throw error;
    }
    const text = redactSecrets(body, secrets);
    if (reply.statusCode < 200 || reply.statusCode >= 300) throw errorFromResponse(provider, reply.statusCode, reply.headers, text);
    try {
      return JSON.parse(text) as unknown;
    } catch {
      throw new StreamParseError(`${provider} listed its models in a body that is not JSON`, { provider });
    }
  } catch (error) {
    if (isG4FError(error)) throw error;
    if (signal?.aborted) throw new AbortError(undefined, { provider, cause: error });
    if (timeout.aborted) throw new TimeoutError('total', context.timeouts.total, { provider, cause: error });
    const code = (error as { code?: unknown } | null)?.code;
    if (code === 'UND_ERR_CONNECT_TIMEOUT') throw new TimeoutError('connect', context.timeouts.connect, { provider, cause: error });
    const message = redactSecrets(error instanceof Error ? error.message : String(error), secrets);
    throw new ConnectionError(`${provider} could not list its models: ${code ? `${String(code)} ` : ''}${message}`, { provider, cause: error });
  }
}

/**
 * Model ids that name no chat model, by the words services use for them: speech and
 * transcription (`whisper-1`, `tts-1`, `gpt-4o-transcribe`, `gpt-4o-realtime-preview`), images
 * (`dall-e-3`, `gpt-image-1`, `imagen-…`, `FLUX…`, `sora-2`), embeddings (`text-embedding-3-small`,
 * `nomic-embed-text`, `mistral-embed`), moderation, reranking, OCR, and the legacy completion
 * models (`babbage-002`, `davinci-002`).
 */
const NOT_CHAT =
  /(?:^|[/:_.-])(?:whisper|tts|transcribe|realtime|dall-e|gpt-image|imagen|flux|stable-diffusion|sdxl|sora|embed|embedding|moderation|rerank|ocr|babbage|davinci)(?:[/:_.-]|\d|$)/i;

/** Whether a listed id may be a chat model: a listing keeps only those (an embedding model is still reached pinned: `OpenAI/text-embedding-3-small`). */
export function isChatModelId(id: string): boolean {
  return !NOT_CHAT.test(id);
}

function namesOf(provider: string, items: unknown, field: 'id' | 'name'): string[] {
  if (!Array.isArray(items)) throw new StreamParseError(`${provider} listed its models in an unknown shape`, { provider });
  const names: string[] = [];
  for (const item of items as unknown[]) {
    const value = typeof item === 'object' && item !== null ? (item as Record<string, unknown>)[field] : undefined;
    if (typeof value === 'string' && value !== '' && isChatModelId(value) && !names.includes(value)) names.push(value);
  }
  return names;
}

/** Ollama's `GET /api/tags`: `{"models": [{"name": "llama3.2:latest", …}]}`. */
export function ollamaModelListing(provider: string, headers: Record<string, string> = {}, refreshMs = DEFAULT_MODEL_REFRESH_MS): ModelListing {
  return {
    refreshMs,
    async list(context, signal) {
      const body = await getJson(provider, '/api/tags', headers, context, signal);
      return namesOf(provider, (body as { models?: unknown } | null)?.models, 'name');
    },
  };
}

/**
 * The path of the model list beside a chat path: `/chat/completions` → `/models` (the base URL
 * ends in `/v1`), `/v1/chat/completions` → `/v1/models`; any other chat path, `/v1/models`.
 */
export function modelsPathOf(chatPath: string): string {
  return chatPath.endsWith('/chat/completions') ? `${chatPath.slice(0, -'/chat/completions'.length)}/models` : '/v1/models';
}

/** OpenAI's `GET /v1/models`: `{"object": "list", "data": [{"id": "gpt-4o", …}]}`. */
export function openAIModelListing(
  provider: string,
  chatPath: string,
  headers: Record<string, string> = {},
  refreshMs = DEFAULT_MODEL_REFRESH_MS,
): ModelListing {
  const path = modelsPathOf(chatPath);
  return {
    refreshMs,
    async list(context, signal) {
      const body = await getJson(provider, path, headers, context, signal);
      return namesOf(provider, (body as { data?: unknown } | null)?.data, 'id');
    },
  };
}

/** Anthropic's `GET /v1/models` (`x-api-key`, `anthropic-version`): `{"data": [{"id": "claude-sonnet-4-5", …}], "has_more": …}`. */
export function anthropicModelListing(
  provider: string,
  version: string,
  headers: Record<string, string> = {},
  refreshMs = DEFAULT_MODEL_REFRESH_MS,
): ModelListing {
  return {
    refreshMs,
    async list(context, signal) {
      const sent = { 'anthropic-version': version, ...(context.apiKey === undefined ? {} : { 'x-api-key': context.apiKey }), ...headers };
      const body = await getJson(provider, '/v1/models?limit=1000', sent, context, signal, false);
      return namesOf(provider, (body as { data?: unknown } | null)?.data, 'id');
    },
  };
}

/**
 * Gemini's `GET /v1beta/models` (`x-goog-api-key`): `{"models": [{"name": "models/gemini-2.5-flash",
 * "supportedGenerationMethods": ["generateContent", …]}, …]}`; only the models that generate content.
 */
export function geminiModelListing(provider: string, headers: Record<string, string> = {}, refreshMs = DEFAULT_MODEL_REFRESH_MS): ModelListing {
  return {
    refreshMs,
    async list(context, signal) {
      const sent = { ...(context.apiKey === undefined ? {} : { 'x-goog-api-key': context.apiKey }), ...headers };
      const body = await getJson(provider, '/v1beta/models?pageSize=1000', sent, context, signal, false);
      const models = (body as { models?: unknown } | null)?.models;
      const generating = Array.isArray(models)
        ? (models as unknown[]).filter((model) => {
            const methods =
              typeof model === 'object' && model !== null ? (model as { supportedGenerationMethods?: unknown }).supportedGenerationMethods : undefined;
            return !Array.isArray(methods) || methods.includes('generateContent');
          })
        : models;
      return namesOf(provider, generating, 'name').map((name) => (name.startsWith('models/') ? name.slice('models/'.length) : name));
    },
  };
}
