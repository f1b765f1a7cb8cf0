/**
 * One call of a provider whose wire format is not OpenAI's (Anthropic, Ollama, Gemini): the
 * request sent with undici under the call's timers, a non-2xx reply made a typed error by the
 * protocol, and a streamed reply (server-sent events or NDJSON) read one network read at a time,
 * each read's stream parts yielded as one batch. The protocol supplies only its decoder and a
 * reader of its items.
 */
import { groupedChunks } from '../core/batches.js';
import { redactSecrets, type G4FError } from '../core/errors.js';
import { createCallGuard, joinUrl, post, readErrorBody, secretHeaderValues, urlSecrets, type CallGuard } from '../core/http.js';
import { isOutputChunk } from '../core/messages.js';
import type { ReplyBody, ReplyHeaders } from '../core/reply.js';
import type { Capabilities, Chunk, CompletionRequest, Provider, ProviderContext, ProviderKind } from '../core/spec.js';

/** How long an upstream may keep a reply open after its last event before it is cut (the answer is complete). */
const AFTER_END_GRACE_MS = 1_000;

/** Turns the bytes of each network read into whole items (events, lines). */
export interface ItemDecoder<Item> {
  push(bytes: Uint8Array): readonly Item[];
  end(): readonly Item[];
}

/** Reads the items of one streamed answer; it keeps the answer's state (open blocks, tool indexes). */
export interface ItemReader<Item> {
  /** Appends the parts of one item to `into`; `done` once the protocol says the answer is complete. */
  read(item: Item, into: Chunk[]): 'more' | 'done';
  /** The body ended: appends any last parts, or throws when the answer was cut short. */
  end(into: Chunk[], done: boolean): void;
}

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

/**
 * The parts of a streamed body, one batch per network read. A bad item still lets the good ones
 * of its read through, then fails. After the protocol's last item the body is read to its end
 * (the pooled connection is reused), cut after a short grace if the upstream holds it open.
 */
async function* readItems<Item>(body: ReplyBody, decoder: ItemDecoder<Item>, reader: ItemReader<Item>, guard: CallGuard): AsyncGenerator<readonly Chunk[]> {
  let done = false;
  let started = false;
  let grace: NodeJS.Timeout | undefined;
  const pass = (batch: Chunk[]): readonly Chunk[] => {
    if (!started && batch.some(isOutputChunk)) {
      started = true;
      guard.gotFirstToken();
    }
    return batch;
  };
  try {
    for (;;) {
      const bytes = body.read();
      if (bytes === null) break;
      if (bytes === undefined) {
        await body.wait();
        continue;
      }
      if (done) continue;
      const batch: Chunk[] = [];
      let failure: unknown;
      try {
        for (const item of decoder.push(bytes)) {
          if (reader.read(item, batch) === 'done') {
            done = true;
            grace = setTimeout(() => body.destroy(), AFTER_END_GRACE_MS);
            break;
          }
        }
      } catch (error) {
        failure = error ?? new Error('unknown failure');
      }
      if (batch.length > 0) yield pass(batch);
      if (failure !== undefined) throw failure;
    }
    const batch: Chunk[] = [];
    if (!done) for (const item of decoder.end()) if (reader.read(item, batch) === 'done') done = true;
    reader.end(batch, done);
    if (batch.length > 0) yield pass(batch);
  } catch (error) {
    if (!done) throw error;
    // Cut after the answer was complete (the grace timer): nothing is lost.
    const batch: Chunk[] = [];
    reader.end(batch, true);
    if (batch.length > 0) yield pass(batch);
  } finally {
    if (grace !== undefined) clearTimeout(grace);
  }
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
