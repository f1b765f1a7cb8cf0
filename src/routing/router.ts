/**
 * Routing over providers: for a model, its providers in order (or shuffled),
 * a small retry budget each, a circuit breaker each, and fallback, but only
 * while nothing has reached the caller. After the first chunk, a failure ends
 * the stream with StreamInterruptedError: text is never replayed.
 */
import {
  AbortError,
  AllProvidersFailedError,
  AuthError,
  CircuitOpenError,
  EmptyAnswerError,
  G4FError,
  StreamInterruptedError,
  UnsupportedError,
  UpstreamResponseTooLargeError,
  isG4FError,
  type ProviderAttempt,
  type ProviderHttpError,
} from '../core/errors.js';
import { chunkGroupsOf, flattenBatches } from '../core/batches.js';
import { backoffDelay, sleep } from '../core/retry.js';
import { createRuntime, type Runtime } from '../core/runtime.js';
import { DEFAULT_LIMITS, stripUndefined, type Loose } from '../core/settings.js';
import { CAPABILITY_NAMES, capabilitiesOf, isOutputChunk, requiredCapabilities } from '../core/messages.js';
import type { Capability, Chunk, CompletionRequest, EmbeddingRequest, Provider } from '../core/spec.js';
import { builtinProviders, createProviderRegistry, type ProviderRegistry } from '../providers/registry.js';
import { createBreaker, DEFAULT_CIRCUIT, type Breaker, type CircuitOptions, type CircuitShare } from './health.js';
import { buildModelTable, unknownModel, type ModelTable } from './models.js';
import { createModelListings, type ModelListError } from './model-listings.js';
import { createAnswerCollector } from './answer.js';
import type { CompletionResult, EmbedRouteRequest, EmbeddingsRouteResult, ProviderInfo, RouteRequest, RouteStream, Router } from './types.js';
import { validateMessages } from './validate.js';

export interface RouterRetryOptions {
  /** Attempts per provider for retryable failures (connection, 5xx, 429), 1 = no retry. */
  attempts: number;
  baseDelayMs: number;
  maxDelayMs: number;
  /** A wait longer than this (e.g. a long Retry-After) moves on to the next provider instead. */
  maxWaitMs: number;
}

export const DEFAULT_ROUTER_RETRY: Readonly<RouterRetryOptions> = Object.freeze({
  attempts: 2,
  baseDelayMs: 200,
  maxDelayMs: 2_000,
  maxWaitMs: 5_000,
});

export interface RouterOptions {
  /** Providers to route over; default: the built-in ones. */
  providers?: readonly Provider[] | ProviderRegistry;
  /** Model → provider names, in order; replaces the default list for that model. */
  models?: Readonly<Record<string, readonly string[]>>;
  aliases?: Readonly<Record<string, string>>;
  /** Try a model's providers in order (default) or shuffled per call. */
  order?: 'ordered' | 'shuffle';
  retry?: Loose<RouterRetryOptions>;
  circuit?: Loose<CircuitOptions>;
  /** Circuits shared with other replicas (through Redis); default: this process's own. */
  circuitShare?: CircuitShare;
  /** For tests: the random source of jitter and shuffling. */
  random?: () => number;
  /**
   * The settings, connection pools and clock to call providers with. Default: a runtime of its
   * own with no settings (its owner closes it: `router.runtime.close()`).
   */
  runtime?: Runtime;
  /** Told of each failed model listing (`"models": "auto"`); the last good list is kept. */
  onModelListError?: ModelListError;
}

export function createRouter(options: RouterOptions = {}): Router {
  const registry: ProviderRegistry =
    options.providers === undefined
      ? createProviderRegistry(builtinProviders)
      : Array.isArray(options.providers)
        ? createProviderRegistry(options.providers as readonly Provider[])
        : (options.providers as ProviderRegistry);
  const runtime = options.runtime ?? createRuntime();
  const listings = createModelListings(
    () => registry.list(),
    (provider) => runtime.context(provider),
    options.onModelListError,
  );
  let table = buildModelTable(registry, options.models, options.aliases, listings.modelsOf);
  let tableVersion = listings.version();
  /** The model table, rebuilt when a provider's listed models changed. */
  function currentTable(): ModelTable {
    if (listings.version() !== tableVersion) {
      tableVersion = listings.version();
      table = buildModelTable(registry, options.models, options.aliases, listings.modelsOf);
    }
    return table;
  }
  /** Starts the model listings that are due, in the background. */
  function refreshListings(): Promise<void> {
    return listings.any() ? listings.refresh() : Promise.resolve();
  }
  const retry: RouterRetryOptions = { ...DEFAULT_ROUTER_RETRY, ...stripUndefined(options.retry) };
  const circuit: CircuitOptions = { ...DEFAULT_CIRCUIT, ...stripUndefined(options.circuit) };
  const random = options.random ?? Math.random;
  const breakers = new Map<string, Breaker>();

  function breakerOf(name: string): Breaker {
    let breaker = breakers.get(name);
    if (breaker === undefined) {
      const share = options.circuitShare;
      breaker = createBreaker(name, circuit, runtime.now, share === undefined ? undefined : (untilMs, lastError) => share.opened(name, untilMs, lastError));
      breakers.set(name, breaker);
    }
    return breaker;
  }
  options.circuitShare?.subscribe((provider, untilMs, lastError) => {
    if (registry.get(provider) !== undefined) breakerOf(registry.require(provider).name).openUntil(untilMs, lastError);
  });

  /** Like resolve, and says whether one provider was pinned (by `provider` or `provider/model`). */
  function resolvePinned(model: string, provider?: string | Provider): { model: string; providers: Provider[]; pinned: boolean } {
    let pinned = typeof provider === 'string' ? registry.require(provider) : provider;
    let name = model;
    if (pinned === undefined) {
      const slash = model.indexOf('/');
      if (slash > 0) {
        const prefix = registry.get(model.slice(0, slash));
        if (prefix !== undefined) {
          pinned = prefix;
          name = model.slice(slash + 1);
        }
      }
    }
    const table = currentTable();
    const canonical = table.canonical(name);
    if (pinned !== undefined) {
      // A pinned provider may serve a model the registry does not list (e.g. a local server's own names).
      return { model: canonical ?? name, providers: [pinned], pinned: true };
    }
    if (canonical === undefined) throw unknownModel(name, table);
    const providers = table.providersFor(canonical);
    if (options.order === 'shuffle') shuffle(providers, random);
    return { model: canonical, providers, pinned: false };
  }

  function resolve(model: string, provider?: string | Provider): { model: string; providers: Provider[] } {
    void refreshListings();
    const { model: canonical, providers } = resolvePinned(model, provider);
    return { model: canonical, providers };
  }

  /** The request a provider sees: the routing fields left out, the model resolved. */
  function upstreamRequest(request: RouteRequest, model: string): CompletionRequest {
    const { provider: _provider, timeouts: _timeouts, limits: _limits, auth: _auth, healthExempt: _healthExempt, ...upstream } = request;
    return { ...upstream, model };
  }

  /**
   * The providers that can do what the request needs, in order. None: a 400 naming the
   * features and the providers considered, and no upstream is asked. A feature is never dropped.
   */
  function capableProviders(providers: Provider[], request: CompletionRequest, model: string): Provider[] {
    const needed = requiredCapabilities(request);
    if (needed.length === 0) return providers;
    const able = providers.filter((provider) => {
      const capabilities = capabilitiesOf(provider, model);
      return needed.every((capability) => capabilities[capability]);
    });
    if (able.length > 0) return able;
    const lacking = providers.map((provider) => {
      const capabilities = capabilitiesOf(provider, model);
      const missing = needed.filter((capability) => !capabilities[capability]);
      return `${provider.name} (no ${missing.map((capability) => CAPABILITY_NAMES[capability]).join(', no ')})`;
    });
    throw new UnsupportedError(
      `The request needs ${describeNeeds(needed)}, and no provider of ${model} can do it: ${lacking.join('; ')}. ` +
        'Choose a model whose provider has the capability, or leave the feature out.',
      { param: PARAM_OF[needed[0] as Capability] },
    );
  }

  /**
   * The fallback loop. With `replayable`, nothing reaches the caller before
   * the end (complete()), so a failure after text may still fall back.
   */
  async function* run(request: RouteRequest, state: RunState, replayable: boolean): AsyncGenerator<readonly Chunk[]> {
    validateMessages(request.messages);
    let resolved;
    try {
      resolved = resolvePinned(request.model, request.provider);
    } catch (error) {
      // A model no list names yet may be one an upstream lists: wait for the listings due or under way.
      if (!isG4FError(error, 'UnknownModelError') || !listings.any()) throw error;
      await refreshListings();
      resolved = resolvePinned(request.model, request.provider);
    }
    const { model, providers: listed, pinned: forced } = resolved;
    state.model = model;
    const upstream = upstreamRequest(request, model);
    const providers = capableProviders(listed, upstream, model);
    const signal = request.signal;

    for (const provider of providers) {
      if (request.stream && !provider.supportsStream) {
        const error = new UnsupportedError(`${provider.name} cannot stream`, { provider: provider.name });
        if (forced) throw error;
        state.attempts.push({ provider: provider.name, error });
        continue;
      }
      const context = runtime.context(provider, { timeouts: request.timeouts, limits: request.limits, apiKey: request.auth });
      if (provider.needsAuth && context.apiKey === undefined) {
        const error = new AuthError(`${provider.name} needs auth and none was given`, { provider: provider.name });
        if (forced) throw error;
        state.attempts.push({ provider: provider.name, error });
        continue;
      }
      const breaker = breakerOf(provider.name);
      if (!breaker.allow()) {
        state.attempts.push({ provider: provider.name, error: new CircuitOpenError(provider.name, breaker.retryInMs()) });
        continue;
      }
      const budget = retryFor(provider.name);
      const answerLimit = (context.limits ?? DEFAULT_LIMITS).answerChars;
      for (let attempt = 1; ; attempt++) {
        const started = performance.now();
        let committed = false;
        let settled = false;
        // Chunks before the first output (a finish, usage) are held: the answer is uncommitted until then.
        let held: Chunk[] | undefined;
        let latency = 0;
        // Characters of text so far: an answer that never ends is cut here, by the upstream's fault.
        let answered = 0;
        state.exchanges++;
        try {
          const batches = chunkGroupsOf(provider.createCompletion(upstream, context));
          for await (const batch of batches) {
            for (const chunk of batch) {
              if (chunk.type === 'text-delta' || chunk.type === 'reasoning-delta') answered += chunk.text.length;
              else if (chunk.type === 'tool-call-delta') answered += chunk.argumentsDelta.length;
            }
            if (answered > answerLimit) throw new UpstreamResponseTooLargeError('answer', answerLimit, { provider: provider.name });
            if (committed) {
              if (batch.length > 0) yield batch;
            } else if (batch.some(isOutputChunk)) {
              committed = true;
              state.provider = provider.name;
              latency = performance.now() - started;
              yield held === undefined ? batch : [...held, ...batch];
            } else {
              (held ??= []).push(...batch);
            }
          }
          if (!committed) {
            // No output at all: a real answer only when the upstream said why (length, content filter…).
            const finish = held?.find((chunk) => chunk.type === 'finish');
            if (finish === undefined || finish.reason === 'stop') throw new EmptyAnswerError(provider.name);
            state.provider = provider.name;
            latency = performance.now() - started;
            if (held !== undefined) yield held;
          }
          settled = true;
          breaker.success(latency);
          return;
        } catch (thrown) {
          settled = true;
          const error = toG4FError(thrown, provider.name);
          if (signal?.aborted || error.code === 'aborted') {
            breaker.release();
            throw isG4FError(error, 'AbortError') ? error : new AbortError(undefined, { provider: provider.name, cause: error });
          }
          if (countsAgainstHealth(error) && request.healthExempt !== true) breaker.failure(error);
          else breaker.release();
          if (committed && !replayable) throw new StreamInterruptedError(error, { provider: provider.name });
          const wait = attempt < budget.attempts && breaker.allow() ? retryWait(error, attempt, budget) : undefined;
          if (wait === undefined) {
            state.attempts.push({ provider: provider.name, error });
            break;
          }
          await sleep(wait, signal);
        } finally {
          // The caller left early (broke out of its loop): no verdict unless the provider had answered.
          if (!settled) {
            if (committed) breaker.success(latency);
            else breaker.release();
          }
        }
      }
    }
    throw new AllProvidersFailedError(model, state.attempts);
  }

  /**
   * Embeddings: the model's providers that make them, in order, each with its retry budget and
   * circuit breaker, falling back on any failure (an embedding is never half sent).
   */
  async function embed(request: EmbedRouteRequest): Promise<EmbeddingsRouteResult> {
    const { model, providers: listed, pinned: forced } = resolvePinned(request.model, request.provider);
    const providers = listed.filter((provider) => capabilitiesOf(provider, model).embeddings);
    if (providers.length === 0) {
      throw new UnsupportedError(
        `The model ${model} makes no embeddings: none of its providers (${listed.map((provider) => provider.name).join(', ')}) can. ` +
          'Choose an embedding model (GET /v1/models lists `embeddings` among its capabilities).',
        { param: 'model' },
      );
    }
    const upstream: EmbeddingRequest = { model, input: request.input };
    if (request.dimensions !== undefined) upstream.dimensions = request.dimensions;
    if (request.user !== undefined) upstream.user = request.user;
    if (request.signal !== undefined) upstream.signal = request.signal;
    const attempts: ProviderAttempt[] = [];
    for (const provider of providers) {
      const context = runtime.context(provider, { timeouts: request.timeouts, limits: request.limits, apiKey: request.auth });
      if (provider.needsAuth && context.apiKey === undefined) {
        const error = new AuthError(`${provider.name} needs auth and none was given`, { provider: provider.name });
        if (forced) throw error;
        attempts.push({ provider: provider.name, error });
        continue;
      }
      const breaker = breakerOf(provider.name);
      if (!breaker.allow()) {
        attempts.push({ provider: provider.name, error: new CircuitOpenError(provider.name, breaker.retryInMs()) });
        continue;
      }
      const budget = retryFor(provider.name);
      for (let attempt = 1; ; attempt++) {
        const started = performance.now();
        try {
          const result = await (provider.createEmbeddings as NonNullable<Provider['createEmbeddings']>)(upstream, context);
          breaker.success(performance.now() - started);
          const answer: EmbeddingsRouteResult = { embeddings: result.embeddings, model, provider: provider.name, attempts };
          if (result.usage !== undefined) answer.usage = result.usage;
          return answer;
        } catch (thrown) {
          const error = toG4FError(thrown, provider.name);
          if (request.signal?.aborted || error.code === 'aborted') {
            breaker.release();
            throw isG4FError(error, 'AbortError') ? error : new AbortError(undefined, { provider: provider.name, cause: error });
          }
          if (countsAgainstHealth(error) && request.healthExempt !== true) breaker.failure(error);
          else breaker.release();
          const wait = attempt < budget.attempts && breaker.allow() ? retryWait(error, attempt, budget) : undefined;
          if (wait === undefined) {
            attempts.push({ provider: provider.name, error });
            break;
          }
          await sleep(wait, request.signal);
        }
      }
    }
    throw new AllProvidersFailedError(model, attempts);
  }

  /** The router's retry budget, with the provider's own settings over it. */
  function retryFor(providerName: string): RouterRetryOptions {
    const own = runtime.providerSettings(providerName)?.retry;
    return own === undefined ? retry : { ...retry, ...stripUndefined(own) };
  }

  /** How long to wait before retrying the same provider, or undefined to move on. */
  function retryWait(error: G4FError, attempt: number, budget: RouterRetryOptions): number | undefined {
    const retryable = error.code === 'connection' || error.code === 'rate_limit' || (error.code === 'http_status' && error.retryable);
    if (!retryable) return undefined;
    const asked = isG4FError(error, 'RateLimitError') ? error.retryAfterMs : undefined;
    const wait = asked ?? backoffDelay(attempt, budget, random);
    return wait > budget.maxWaitMs ? undefined : wait;
  }

  const router: Router = {
    runtime,

    stream(request) {
      const state = newState(request.model);
      return new StateStream(state, () => run(request, state, false));
    },

    async complete(request) {
      const state = newState(request.model);
      let answer = createAnswerCollector();
      let exchange = 0;
      for await (const batch of run({ ...request, stream: false }, state, true)) {
        if (state.exchanges !== exchange) {
          // A replay after a failure mid-answer (same provider or the next) starts over.
          exchange = state.exchanges;
          answer = createAnswerCollector();
        }
        for (const chunk of batch) answer.add(chunk);
      }
      const choices = answer.choices();
      const first = choices[0] as (typeof choices)[number];
      const result: CompletionResult = {
        text: first.text,
        finishReason: first.finishReason,
        choices,
        model: state.model,
        provider: state.provider ?? '',
        attempts: state.attempts,
      };
      if (first.reasoning !== undefined) result.reasoning = first.reasoning;
      if (first.reasoningSignature !== undefined) result.reasoningSignature = first.reasoningSignature;
      if (first.toolCalls !== undefined) result.toolCalls = first.toolCalls;
      if (first.logprobs !== undefined) result.logprobs = first.logprobs;
      if (first.finishDetail !== undefined) result.finishDetail = first.finishDetail;
      const usage = answer.usage();
      if (usage) result.usage = usage;
      return result;
    },

    embed,

    listModels() {
      void refreshListings();
      return currentTable().list();
    },

    refreshModels: refreshListings,

    listProviders() {
      return registry.list().map(
        (provider): ProviderInfo => ({
          name: provider.name,
          url: publicUrl(runtime.baseUrl(provider)),
          models: [...listings.modelsOf(provider)],
          supportsStream: provider.supportsStream,
          needsAuth: provider.needsAuth,
          kind: provider.kind ?? 'builtin',
          capabilities: capabilitiesOf(provider, ''),
          ...(provider.modelCapabilities === undefined ? {} : { modelCapabilities: { ...provider.modelCapabilities } }),
          health: breakerOf(provider.name).snapshot(),
        }),
      );
    },

    resolve,

    health(name) {
      return breakerOf(registry.require(name).name).snapshot();
    },
  };
  return router;
}

interface RunState {
  model: string;
  provider: string | undefined;
  attempts: ProviderAttempt[];
  /** Upstream exchanges started so far: a new one means any partial answer is void. */
  exchanges: number;
}

function newState(model: string): RunState {
  return { model, provider: undefined, attempts: [], exchanges: 0 };
}

/**
 * A routed stream: its chunks, and the run's state as it goes. A class, not an object literal with
 * getters: one is made per request, and a literal's getters are defined anew each time.
 */
class StateStream implements RouteStream {
  constructor(
    private readonly state: RunState,
    readonly batches: () => AsyncGenerator<readonly Chunk[]>,
  ) {}
  get model(): string {
    return this.state.model;
  }
  get provider(): string | undefined {
    return this.state.provider;
  }
  get attempts(): readonly ProviderAttempt[] {
    return this.state.attempts;
  }
  [Symbol.asyncIterator](): AsyncIterator<Chunk> {
    return flattenBatches(this.batches());
  }
}

/**
 * Whether a failure says something about the provider's health. A request the
 * upstream refused as invalid (400, 404, 413, 422…) is the caller's doing: it
 * must not shut the provider off for everyone.
 */
function countsAgainstHealth(error: G4FError): boolean {
  // A fault here, or a provider refusing what this request asks (before sending it), says nothing of its health.
  if (error.code === 'internal' || error.code === 'unsupported' || error.code === 'invalid_request') return false;
  if (error.code !== 'http_status') return true;
  const status = (error as ProviderHttpError).status;
  return status >= 500 || status === 408 || status === 409;
}

/** A base URL fit to show: no user name, password or query (they may carry secrets). */
function publicUrl(url: string): string {
  try {
    const parsed = new URL(url);
    parsed.username = '';
    parsed.password = '';
    parsed.search = '';
    return parsed.toString().replace(/\/$/, '');
  } catch {
    return url;
  }
}

/**
 * Providers throw typed errors for what the upstream did; anything else (a RangeError, a
 * TypeError) is a fault here, never the upstream's: it is kept apart from the provider's health.
 */
function toG4FError(error: unknown, provider: string): G4FError {
  if (isG4FError(error)) return error;
  const message = error instanceof Error ? error.message : String(error);
  return new G4FError('internal', `${provider} could not be called: ${message}`, { provider, cause: error });
}

/** The request field that asks for each capability, for the error's `param`. */
const PARAM_OF: Readonly<Record<Capability, string>> = {
  tools: 'tools',
  vision: 'messages',
  jsonSchema: 'response_format',
  reasoning: 'reasoning_effort',
  n: 'n',
  logprobs: 'logprobs',
  embeddings: 'model',
};

function describeNeeds(needed: readonly Capability[]): string {
  return needed.map((capability) => CAPABILITY_NAMES[capability]).join(' and ');
}

function shuffle<T>(items: T[], random: () => number): void {
  for (let index = items.length - 1; index > 0; index--) {
    const other = Math.floor(random() * (index + 1));
    [items[index], items[other]] = [items[other] as T, items[index] as T];
  }
}
