/**
 * The key gate of the API doors. Before a request reaches its route it finds the request's key:
 * one of `G4F_API_KEYS` (unnamed, no limits) or a named key of the key store (revoked or expired:
 * 401). Every upstream call made while answering that request then passes the key's checks first
 * (model allowed: else 403; budget: else 429 `insufficient_quota`; requests and tokens a minute,
 * requests in flight: else 429 `rate_limit_exceeded` with Retry-After), and its tokens (the
 * upstream's usage, else the tokenizer; what was streamed when the stream was cut) are charged
 * when the answer ends: to the limiter, to the usage table, and to `/metrics` under the key's name.
 * The router calls find their request by its abort signal: every door keeps the controller of its
 * upstream call in the request's state (`state.controller`) and passes its signal with the call,
 * and the gate looks among the requests of named keys in flight for the one with that signal; so
 * no door needs to know.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Chunk, Usage } from '../../core/spec.js';
import type { CompletionResult, EmbeddingsRouteResult, EmbedRouteRequest, RouteRequest, RouteStream, Router } from '../../routing/types.js';
import { dayOf, keyRefusal, periodStart, type ApiKeyRecord, type KeyStore, type UsageEntry } from '../../store/keys.js';
import { tokensSince } from '../../store/key-admin.js';
import { bearerToken } from '../auth.js';
import type { Logger } from '../logger.js';
import type { Metrics } from '../metrics.js';
import { HttpRequestError } from '../openai-errors.js';
import { countTexts, countUsage } from '../../core/token-count.js';
import type { Limiter, LimitedKey } from './limiter.js';

/** How long a key read from the store is trusted before it is read again (revocations elsewhere take this long). */
const KEY_CACHE_MS = 5_000;
/** Usage is added up in memory and written this often (and on close); what the database refuses is kept for the next time. */
const USAGE_FLUSH_MS = 1_000;

export interface KeyGateOptions {
  /** `G4F_API_KEYS`: unnamed keys without limits. */
  staticKeys: readonly string[];
  keyStore: KeyStore;
  limiter: Limiter;
  metrics: Metrics;
  logger: Logger;
}

/** An admitted upstream call: `finish` charges its tokens and frees its slot. */
interface Admitted {
  key: LimitedKey;
  finish(tokens: number, now: number): Promise<void>;
}

interface RequestKey {
  /** Undefined for an unnamed key (or none needed). */
  record: ApiKeyRecord | undefined;
  /** Slots taken by this request's calls, freed when it ends. */
  releases: Set<() => Promise<void>>;
}

export interface KeyGate {
  /**
   * Finds the request's key (on `/v1` and `/metrics`), then runs `next`; a 401 when none fits.
   * `state.controller`, once a door sets it, ties the upstream calls made with its signal to the key.
   */
  run(
    request: IncomingMessage,
    response: ServerResponse,
    path: string,
    state: { controller?: AbortController | undefined },
    next: () => Promise<void>,
  ): Promise<void>;
  /** The name of the request's named key, once `run` found it. */
  keyName(request: IncomingMessage): string | undefined;
  /** Whether `run` let this request in (for the routes' own key check). */
  admitted(request: IncomingMessage): boolean;
  /** Whether any key is needed: `G4F_API_KEYS` is set, or a named key was created. */
  keysRequired(): boolean;
  /** The router whose calls pass the key's checks and are charged. */
  wrapRouter(router: Router): Router;
  /** Reads whether named keys exist (at start-up). */
  start(): Promise<void>;
  /** Forgets cached keys (after a revocation here). */
  forget(): void;
  /** Writes the usage still in memory. */
  close(): Promise<void>;
}

/** The tokens of an embeddings input: text counted by the tokenizer, token ids as they are. */
async function inputTokens(input: EmbedRouteRequest['input']): Promise<number> {
  const items: unknown[] = typeof input === 'string' ? [input] : [...input];
  const texts = items.filter((item): item is string => typeof item === 'string');
  const ids = items.reduce<number>((sum, item) => sum + (Array.isArray(item) ? item.length : typeof item === 'number' ? 1 : 0), 0);
  return ids + (texts.length === 0 ? 0 : await countTexts(texts).catch(() => 0));
}

function digest(text: string): Buffer {
  return createHash('sha256').update(text).digest();
}

/** The key of a request: `Authorization: Bearer`, else Anthropic's `x-api-key`. */
export function presentedKey(request: IncomingMessage): string | undefined {
  const bearer = bearerToken(request.headers.authorization);
  if (bearer !== undefined) return bearer;
  const header = request.headers['x-api-key'];
  return typeof header === 'string' && header.trim() !== '' ? header.trim() : undefined;
}

function unauthorized(message = 'Missing or invalid API key: send the header Authorization: Bearer <key>.'): HttpRequestError {
  return new HttpRequestError(401, message, { type: 'authentication_error', code: 'invalid_api_key' });
}

export function createKeyGate(options: KeyGateOptions): KeyGate {
  const { keyStore, limiter, metrics, logger } = options;
  const staticDigests = options.staticKeys.filter((key) => key.length > 0).map(digest);
  /** Requests of named keys in flight, with the state where their door keeps its controller. */
  const named = new Set<{ state: { controller?: AbortController | undefined }; context: RequestKey }>();
  const contextOf = (signal: AbortSignal | undefined): RequestKey | undefined => {
    if (signal === undefined || named.size === 0) return undefined;
    for (const entry of named) if (entry.state.controller?.signal === signal) return entry.context;
    return undefined;
  };
  const admittedRequests = new WeakMap<IncomingMessage, RequestKey>();
  const cache = new Map<string, { record: ApiKeyRecord | undefined; at: number }>();
  let namedKeys = false;
  const pending = new Map<string, UsageEntry & { requests: number }>();
  let usageFailing = false;
  let flushing: Promise<void> | undefined;
  const flush = async (): Promise<void> => {
    if (flushing !== undefined) return flushing;
    const entries = [...pending.values()];
    pending.clear();
    flushing = (async () => {
      for (const entry of entries) {
        try {
          await keyStore.recordUsage(entry);
        } catch (error) {
          // Kept, added to what comes next, and written once the database answers.
          const id = usageId(entry);
          const later = pending.get(id);
          pending.set(
            id,
            later === undefined
              ? entry
              : {
                  ...later,
                  requests: later.requests + entry.requests,
                  promptTokens: later.promptTokens + entry.promptTokens,
                  completionTokens: later.completionTokens + entry.completionTokens,
                },
          );
          // One line per outage, not one a second.
          if (!usageFailing)
            logger.log('error', {
              event: 'usage-not-saved',
              key: entry.key,
              message: `${error instanceof Error ? error.message : String(error)} (kept in memory, written when the database answers)`,
            });
          usageFailing = true;
          continue;
        }
        usageFailing = false;
      }
    })().finally(() => {
      flushing = undefined;
    });
    return flushing;
  };
  const flushTimer = setInterval(() => {
    if (pending.size > 0) void flush();
  }, USAGE_FLUSH_MS);
  flushTimer.unref();

  const isStatic = (token: string): boolean => {
    const presented = digest(token);
    let match = false;
    for (const expected of staticDigests) match = timingSafeEqual(presented, expected) || match;
    return match;
  };

  /** The stored key with this hash; a stale copy when the store cannot answer. */
  const lookup = async (hash: string): Promise<ApiKeyRecord | undefined> => {
    const cached = cache.get(hash);
    if (cached !== undefined && Date.now() - cached.at < KEY_CACHE_MS) return cached.record;
    try {
      const record = await keyStore.findByHash(hash);
      cache.set(hash, { record, at: Date.now() });
      if (cache.size > 10_000) cache.delete(cache.keys().next().value as string);
      return record;
    } catch (error) {
      if (cached !== undefined) return cached.record;
      logger.log('error', { event: 'key-store-error', message: `Cannot read API keys: ${error instanceof Error ? error.message : String(error)}` });
      throw new HttpRequestError(503, 'The key store is unavailable; try again shortly.', { type: 'server_error', code: 'key_store_unavailable' });
    }
  };

  /** Whether any request needs a key: listed keys, or named ones in the database. */
  const keysRequired = (): boolean => staticDigests.length > 0 || namedKeys;

  const identify = async (request: IncomingMessage): Promise<RequestKey> => {
    const token = presentedKey(request);
    const needed = keysRequired();
    // A server that needs no key at all looks none up (nor opens a database for it).
    if (token === undefined || !needed) {
      if (needed) throw unauthorized();
      return { record: undefined, releases: new Set() };
    }
    if (staticDigests.length > 0 && isStatic(token)) return { record: undefined, releases: new Set() };
    const record = await lookup(createHash('sha256').update(token).digest('hex'));
    if (record === undefined) throw unauthorized();
    const refusal = keyRefusal(record);
    if (refusal !== undefined) throw unauthorized(refusal);
    return { record, releases: new Set() };
  };

  const limitedKey = (record: ApiKeyRecord, now: Date): LimitedKey => {
    const since = periodStart(record.budgetPeriod, now);
    const key: LimitedKey = {
      name: record.name,
      budgetPeriod: since ?? 'total',
      spentBefore: () => tokensSince(keyStore, record.name, since),
    };
    if (record.rpm !== undefined) key.rpm = record.rpm;
    if (record.tpm !== undefined) key.tpm = record.tpm;
    if (record.maxParallel !== undefined) key.maxParallel = record.maxParallel;
    if (record.budgetTokens !== undefined) key.budgetTokens = record.budgetTokens;
    return key;
  };

  /** The checks of one upstream call; resolves with what frees its slot. */
  const admit = async (context: RequestKey, router: Router, request: Pick<RouteRequest, 'model' | 'provider'>): Promise<Admitted | undefined> => {
    const record = context.record;
    if (record === undefined) return undefined;
    if (record.models !== undefined) {
      let canonical = request.model;
      try {
        canonical = router.resolve(request.model, request.provider).model;
      } catch {
        // An unknown model: the router's own error comes later.
      }
      if (!record.models.includes(request.model) && !record.models.includes(canonical)) {
        throw new HttpRequestError(403, `The API key "${record.name}" may not use the model ${request.model}; it may use: ${record.models.join(', ')}.`, {
          type: 'permission_error',
          code: 'model_not_allowed',
          param: 'model',
        });
      }
    }
    const now = new Date();
    const key = limitedKey(record, now);
    const admission = await limiter.admit(key, now.getTime());
    if (!admission.ok) {
      const headers = { 'retry-after': String(admission.retryAfterSeconds) };
      if (admission.reason === 'budget') {
        throw new HttpRequestError(
          429,
          `The API key "${record.name}" has spent its budget of ${record.budgetTokens} tokens (${record.budgetPeriod === 'total' ? 'in all' : `this ${record.budgetPeriod}`}).`,
          {
            type: 'insufficient_quota',
            code: 'insufficient_quota',
            headers,
          },
        );
      }
      const what = { rpm: `${record.rpm} requests a minute`, tpm: `${record.tpm} tokens a minute`, parallel: `${record.maxParallel} requests at once` }[
        admission.reason
      ];
      throw new HttpRequestError(429, `Rate limit of the API key "${record.name}" reached: ${what}. Retry after ${admission.retryAfterSeconds} s.`, {
        type: 'rate_limit_error',
        code: 'rate_limit_exceeded',
        headers,
      });
    }
    const release = async (): Promise<void> => {
      context.releases.delete(release);
      await admission.release().catch(() => undefined);
    };
    context.releases.add(release);
    return {
      key,
      finish: async (tokens: number, now: number) => {
        context.releases.delete(release);
        await admission.finish(tokens, now).catch(() => undefined);
      },
    };
  };

  /** Charges an answer's tokens (to the limiter, the usage table, the metrics) and frees its slot. */
  const settle = async (
    context: RequestKey,
    admitted: Admitted | undefined,
    model: string,
    provider: string | undefined,
    usage: Usage | undefined,
  ): Promise<void> => {
    const at = new Date();
    const finished = admitted?.finish(usage?.totalTokens ?? 0, at.getTime());
    if (usage === undefined) return finished;
    const name = context.record?.name;
    metrics.tokens(name, provider ?? 'none', usage.promptTokens, usage.completionTokens);
    if (name !== undefined) {
      const entry = {
        key: name,
        model,
        provider: provider ?? 'none',
        promptTokens: usage.promptTokens,
        completionTokens: usage.completionTokens,
        at,
        requests: 1,
      };
      const id = usageId(entry);
      const earlier = pending.get(id);
      if (earlier === undefined) pending.set(id, entry);
      else {
        earlier.requests += 1;
        earlier.promptTokens += entry.promptTokens;
        earlier.completionTokens += entry.completionTokens;
        earlier.at = at;
      }
    }
    return finished;
  };

  const guardedStream = (router: Router, request: RouteRequest, context: RequestKey): RouteStream => {
    let inner: RouteStream | undefined;
    const admission = admit(context, router, request);
    admission.catch(() => undefined); // reported when the stream is read
    async function* batches(): AsyncGenerator<readonly Chunk[]> {
      const key = await admission;
      inner = router.stream(request);
      let usage: Usage | undefined;
      let text = '';
      try {
        for await (const batch of inner.batches()) {
          for (const chunk of batch) {
            if (chunk.type === 'usage') usage = chunk.usage;
            else if (chunk.type === 'text-delta' || chunk.type === 'reasoning-delta') text += chunk.text;
            else if (chunk.type === 'tool-call-delta') text += (chunk.name ?? '') + chunk.argumentsDelta;
          }
          yield batch;
        }
      } finally {
        const answered = inner;
        const counted =
          usage === undefined && answered.provider !== undefined ? countUsage(request.messages, text).catch(() => undefined) : Promise.resolve(usage);
        void counted.then((tokens) => settle(context, key, answered.model, answered.provider, tokens));
      }
    }
    let model: string | undefined;
    return {
      get model() {
        if (inner !== undefined) return inner.model;
        if (model === undefined) {
          try {
            model = router.resolve(request.model, request.provider).model;
          } catch {
            model = request.model;
          }
        }
        return model;
      },
      get provider() {
        return inner?.provider;
      },
      get attempts() {
        return inner?.attempts ?? [];
      },
      batches,
      async *[Symbol.asyncIterator]() {
        for await (const batch of batches()) yield* batch;
      },
    };
  };

  const guardedComplete = async (router: Router, request: RouteRequest, context: RequestKey): Promise<CompletionResult> => {
    const key = await admit(context, router, request);
    let result: CompletionResult | undefined;
    try {
      result = await router.complete(request);
      return result;
    } finally {
      const answered = result;
      const usage =
        answered === undefined
          ? undefined
          : (answered.usage ??
            (await countUsage(request.messages, answered.choices.map((choice) => choice.text + (choice.reasoning ?? '')).join('')).catch(() => undefined)));
      void settle(context, key, answered?.model ?? request.model, answered?.provider, usage);
    }
  };

  const guardedEmbed = async (router: Router, request: EmbedRouteRequest, context: RequestKey): Promise<EmbeddingsRouteResult> => {
    const key = await admit(context, router, request);
    let result: EmbeddingsRouteResult | undefined;
    try {
      result = await router.embed(request);
      return result;
    } finally {
      const answered = result;
      let usage: Usage | undefined;
      if (answered !== undefined) {
        const promptTokens = answered.usage?.promptTokens ?? (await inputTokens(request.input));
        usage = { promptTokens, completionTokens: 0, totalTokens: answered.usage?.totalTokens ?? promptTokens };
      }
      void settle(context, key, answered?.model ?? request.model, answered?.provider, usage);
    }
  };

  return {
    async run(request, response, path, state, next) {
      // A CORS preflight carries no key; the route answers it.
      if (request.method === 'OPTIONS' || !(path === '/metrics' || path === '/v1' || path.startsWith('/v1/'))) return next();
      // A server that needs no key does no key work on its request path.
      if (!keysRequired()) return next();
      const context = await identify(request);
      admittedRequests.set(request, context);
      // Only a named key has limits and usage.
      if (context.record === undefined) return next();
      const entry = { state, context };
      named.add(entry);
      response.once('close', () => {
        named.delete(entry);
        for (const release of [...context.releases]) void release();
      });
      return next();
    },
    keyName: (request) => admittedRequests.get(request)?.record?.name,
    admitted: (request) => admittedRequests.has(request),
    keysRequired,
    wrapRouter(router) {
      return {
        ...router,
        listModels: () => router.listModels(),
        listProviders: () => router.listProviders(),
        resolve: (model, provider) => router.resolve(model, provider),
        health: (provider) => router.health(provider),
        stream(request) {
          const context = contextOf(request.signal);
          return context === undefined ? router.stream(request) : guardedStream(router, request, context);
        },
        complete(request) {
          const context = contextOf(request.signal);
          return context === undefined ? router.complete(request) : guardedComplete(router, request, context);
        },
        embed(request) {
          const context = contextOf(request.signal);
          return context === undefined ? router.embed(request) : guardedEmbed(router, request, context);
        },
      };
    },
    async start() {
      try {
        namedKeys = (await keyStore.list()).length > 0;
      } catch (error) {
        // Unknown: keys are required until the store answers.
        namedKeys = true;
        logger.log('warn', {
          event: 'key-store-error',
          message: `Cannot read API keys at start-up: ${error instanceof Error ? error.message : String(error)}`,
        });
      }
    },
    forget() {
      cache.clear();
    },
    async close() {
      clearInterval(flushTimer);
      await flushing;
      await flush();
    },
  };
}

function usageId(entry: UsageEntry): string {
  return `${entry.key}\u0000${dayOf(entry.at)}\u0000${entry.model}\u0000${entry.provider}`;
}
