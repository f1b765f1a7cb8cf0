/**
 * `ChatCompletion.create` in the g4f manner: plain text tokens when streaming, the joined text
 * otherwise; `ChatCompletion.complete` and `ChatCompletion.stream` for the whole answer (tool
 * calls, reasoning, choices) and its typed stream parts. Typed errors, never a process exit.
 */
import { UnsupportedError } from './core/errors.js';
import type { Runtime } from './core/runtime.js';
import { getDefaultRuntime } from './default-runtime.js';
import type { CallSettings, ChatMessage, Chunk, Provider, Timeouts } from './core/spec.js';
import { OPENAI_SCALAR_SETTINGS } from './providers/openai-wire.js';
import { createRouter } from './routing/router.js';
import { validateMessages } from './routing/validate.js';
import type { CompletionResult, RouteRequest, Router } from './routing/types.js';

export interface ChatCompletionOptions extends CallSettings {
  model: string;
  messages: ChatMessage[];
  /** A provider object or name; otherwise chosen by model from the registry. */
  provider?: string | Provider;
  stream?: boolean;
  /** A secret for a provider that needs auth. */
  auth?: string;
  signal?: AbortSignal;
  timeouts?: Partial<Timeouts>;
  /** The settings and connection pools to call with; default the library's (`configure`, `setDefaultRuntime`). */
  runtime?: Runtime;
  /**
   * g4f's loose options: an OpenAI wire name (`max_tokens`, `top_p`, …) is read as the setting it
   * names; any other is sent to the upstream as it is (`extraBody`).
   */
  [option: string]: unknown;
}

let chosenRouter: Router | undefined;
/** One router (and so one set of circuit breakers) per runtime the library is handed. */
const routers = new WeakMap<Runtime, Router>();

/** The router over the built-in providers on `runtime`, made once per runtime. */
export function routerFor(runtime: Runtime): Router {
  let router = routers.get(runtime);
  if (router === undefined) {
    router = createRouter({ runtime });
    routers.set(runtime, router);
  }
  return router;
}

/**
 * The router ChatCompletion and Client use unless given one or a runtime: the one set with
 * `setDefaultRouter`, else the built-in providers on the default runtime.
 */
export function getDefaultRouter(): Router {
  return chosenRouter ?? routerFor(getDefaultRuntime());
}

/** Replaces the default router (e.g. with `createRouterFromConfig(await loadConfig())`); undefined goes back to the built-in one. */
export function setDefaultRouter(router: Router | undefined): void {
  chosenRouter = router;
}

/** The router a call uses: the one given, else its runtime's, else the default. */
function routerOf(options: ChatCompletionOptions, router: Router | undefined): Router {
  if (router !== undefined) return router;
  return options.runtime === undefined ? getDefaultRouter() : routerFor(options.runtime);
}

/** Fields taken as they are: the routing ones and the contract's settings. */
const OWN_FIELDS: ReadonlySet<string> = new Set([
  'model',
  'messages',
  'provider',
  'auth',
  'signal',
  'timeouts',
  ...OPENAI_SCALAR_SETTINGS.map(([, setting]) => setting),
  'stop',
  'tools',
  'toolChoice',
  'responseFormat',
  'providerOptions',
  'extraBody',
]);
const SETTING_OF_WIRE: ReadonlyMap<string, string> = new Map(OPENAI_SCALAR_SETTINGS);

export function toRouteRequest(options: ChatCompletionOptions, stream: boolean): RouteRequest {
  const request: RouteRequest = { model: options.model, messages: options.messages, stream };
  const target = request as unknown as Record<string, unknown>;
  let extra: Record<string, unknown> | undefined;
  for (const key in options) {
    const value = options[key];
    if (value === undefined || key === 'stream' || key === 'runtime') continue;
    if (OWN_FIELDS.has(key)) target[key] = value;
    else if (SETTING_OF_WIRE.has(key)) target[SETTING_OF_WIRE.get(key) as string] = value;
    else (extra ??= {})[key] = value;
  }
  if (typeof request.stop === 'string') request.stop = [request.stop];
  if (extra !== undefined) request.extraBody = { ...extra, ...request.extraBody };
  return request;
}

/** Text-only answers cannot carry tool calls: a request with tools goes through complete() or stream(). */
function refuseTools(options: ChatCompletionOptions): void {
  if (options.tools !== undefined && options.tools.length > 0) {
    throw new UnsupportedError(
      'ChatCompletion.create returns text only and would drop tool calls: use ChatCompletion.complete or ChatCompletion.stream with tools',
      {
        param: 'tools',
      },
    );
  }
}

async function* textTokens(router: Router, request: RouteRequest): AsyncGenerator<string> {
  for await (const chunk of router.stream(request)) {
    if (chunk.type === 'text-delta') yield chunk.text;
  }
}

function create(options: ChatCompletionOptions & { stream: true }, router?: Router): AsyncIterable<string>;
function create(options: ChatCompletionOptions & { stream?: false }, router?: Router): Promise<string>;
function create(options: ChatCompletionOptions, router?: Router): AsyncIterable<string> | Promise<string>;
function create(options: ChatCompletionOptions, given?: Router): AsyncIterable<string> | Promise<string> {
  const router = routerOf(options, given);
  if (options.stream === true) {
    // Bad input fails here, at the call, not at the first token.
    refuseTools(options);
    validateMessages(options.messages);
    router.resolve(options.model, options.provider);
    return textTokens(router, toRouteRequest(options, true));
  }
  try {
    refuseTools(options);
  } catch (error) {
    return Promise.reject(error);
  }
  return router.complete(toRouteRequest(options, false)).then((result) => result.text);
}

/** The whole answer, from a non-streaming upstream call: text, reasoning, tool calls, every choice, usage. */
function complete(options: ChatCompletionOptions, router?: Router): Promise<CompletionResult> {
  return routerOf(options, router).complete(toRouteRequest(options, false));
}

/** The answer's typed stream parts as they arrive: text, reasoning and tool-call deltas, finish, usage. */
function stream(options: ChatCompletionOptions, given?: Router): AsyncIterable<Chunk> {
  const router = routerOf(options, given);
  validateMessages(options.messages);
  router.resolve(options.model, options.provider);
  return router.stream(toRouteRequest(options, true));
}

export const ChatCompletion = { create, complete, stream };

/**
 * The g4f provider helper of the seeds: `createCompletion(Lockchat, { model, messages, stream })`
 * yields plain text tokens from one provider.
 */
export function createCompletion(provider: Provider, options: ChatCompletionOptions, router?: Router): AsyncIterable<string> {
  refuseTools(options);
  return textTokens(routerOf(options, router), toRouteRequest({ ...options, provider }, options.stream ?? false));
}
