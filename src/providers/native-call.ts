/**
 * One call of a provider whose wire format is not OpenAI's (Anthropic, Ollama, Gemini): the
 * request sent with undici under the call's timers, a non-2xx reply made a typed error by the
 * protocol, and a streamed reply (server-sent events or NDJSON) read one network read at a time,
 * each read's stream parts yielded as one batch. The protocol supplies only its decoder and a
 * reader of its items.
 */
import { groupedChunks } from '../core/batches.js';
import { redactSecrets, type G4FError } from '../core/errors.js';
import { createCallGuard, joinUrl, post, readErrorBody, secretHeaderValues, urlSecrets } from '../core/http.js';
import type { ReplyHeaders } from '../core/reply.js';
import type { Capabilities, Chunk, CompletionRequest, Provider, ProviderContext, ProviderKind } from '../core/spec.js';
import { readItems, type ItemDecoder, type ItemReader } from './item-stream.js';

export type { ItemDecoder, ItemReader } from './item-stream.js';

export interface NativeCall<Item> {
  provider: string;
  request: CompletionRequest;
  context: ProviderContext;
  /** Joined to the base URL (a base URL's query comes after it). */
  path: string;
  headers: Record<string, string>;
  body: unknown;
  /** The secret sent upstream (redacted from error bodies), when there is one. */
  secret?: string | undefined;
  /** The typed error of a non-2xx reply, from its (redacted, truncated) body. */
  errorOf(status: number, headers: ReplyHeaders, text: string): G4FError;
  decoder(): ItemDecoder<Item>;
  reader(): ItemReader<Item>;
  /** The parts of a whole (non-streamed) answer. */
  whole(text: string): Chunk[];
}

export async function* nativeBatches<Item>(call: NativeCall<Item>): AsyncGenerator<readonly Chunk[]> {
  const { provider, request, context } = call;
  const guard = createCallGuard(provider, context.timeouts, { signal: request.signal, stream: request.stream });
  const secrets = [call.secret, ...urlSecrets(context.baseUrl), ...secretHeaderValues(context.headers)];
  let response;
  try {
    response = await post({
      provider,
      url: joinUrl(context.baseUrl, call.path),
      headers: { ...call.headers, ...context.headers },
      body: JSON.stringify(call.body),
      context,
      guard,
    });
    if (response.statusCode < 200 || response.statusCode >= 300) {
      throw call.errorOf(response.statusCode, response.headers, await readErrorBody(response.body, secrets));
    }
    const type = String(response.headers['content-type'] ?? '');
    if (request.stream && !/^application\/json\b/i.test(type)) {
      yield* readItems(response.body, call.decoder(), call.reader(), guard);
    } else {
      const chunks = call.whole(await response.body.text());
      guard.gotFirstToken();
      yield chunks;
    }
  } catch (error) {
    throw withoutSecrets(guard.toError(error), secrets);
  } finally {
    response?.body.destroy();
    guard.dispose();
  }
}

/** An error the upstream reported inside its stream (an `error` event or line) may echo a secret: it never leaves with it. */
function withoutSecrets(error: G4FError, secrets: ReadonlyArray<string | undefined>): G4FError {
  const message = redactSecrets(error.message, secrets);
  if (message !== error.message) error.message = message;
  const body = (error as { body?: unknown }).body;
  if (typeof body === 'string') {
    const clean = redactSecrets(body, secrets);
    if (clean !== body) Object.defineProperty(error, 'body', { value: clean, enumerable: true });
  }
  return error;
}

/** What a configured native provider is: data, plus its protocol's batches. */
export interface NativeProviderSpec {
  name: string;
  /** Base URL, e.g. `https://api.anthropic.com` (the protocol's path is appended). */
  url: string;
  models: readonly string[];
  /** Environment variable holding the API key. */
  apiKeyEnv?: string;
  /** Plain headers (credentials come from the environment: `headersEnv` in the config). */
  headers?: Record<string, string>;
  supportsStream?: boolean;
  needsAuth?: boolean;
  /** Over the protocol's own capabilities. */
  capabilities?: Partial<Capabilities>;
  /** Per model, over the provider's. */
  modelCapabilities?: Record<string, Partial<Capabilities>>;
}

export function nativeProvider(
  spec: NativeProviderSpec,
  defaults: { capabilities: Capabilities; needsAuth: boolean; kind: ProviderKind },
  batches: (request: CompletionRequest, context: ProviderContext) => AsyncGenerator<readonly Chunk[]>,
): Provider {
  const withHeaders =
    spec.headers === undefined
      ? batches
      : (request: CompletionRequest, context: ProviderContext) => batches(request, { ...context, headers: { ...spec.headers, ...context.headers } });
  const provider: Provider = {
    name: spec.name,
    url: spec.url,
    models: spec.models,
    supportsStream: spec.supportsStream ?? true,
    needsAuth: spec.needsAuth ?? defaults.needsAuth,
    kind: defaults.kind,
    capabilities: { ...defaults.capabilities, ...spec.capabilities },
    ...(spec.modelCapabilities === undefined ? {} : { modelCapabilities: spec.modelCapabilities }),
    ...(spec.apiKeyEnv === undefined ? {} : { apiKeyEnv: spec.apiKeyEnv }),
    createCompletion: (request, context) => groupedChunks(() => withHeaders(request, context)),
  };
  return provider;
}
