/**
 * `ChatCompletion.create` in the g4f manner: plain text tokens when streaming,
 * the joined text otherwise; typed errors, never a process exit.
 */
import type { ChatMessage, Provider, Timeouts } from './core/spec.js';
import { createRouter } from './routing/router.js';
import { validateMessages } from './routing/validate.js';
import type { RouteRequest, Router } from './routing/types.js';

export interface ChatCompletionOptions {
  model: string;
  messages: ChatMessage[];
  /** A provider object or name; otherwise chosen by model from the registry. */
  provider?: string | Provider;
  stream?: boolean;
  temperature?: number;
  /** A secret for a provider that needs auth. */
  auth?: string;
  signal?: AbortSignal;
  timeouts?: Partial<Timeouts>;
  /** Passed through to the upstream (max_tokens, top_p, …). */
  [option: string]: unknown;
}

let defaultRouter: Router | undefined;

/** The router ChatCompletion and Client use unless given one: the built-in providers. */
export function getDefaultRouter(): Router {
  defaultRouter ??= createRouter();
  return defaultRouter;
}

/** Replaces the default router (e.g. with `createRouterFromConfig(await loadConfig())`). */
export function setDefaultRouter(router: Router | undefined): void {
  defaultRouter = router;
}

function toRouteRequest(options: ChatCompletionOptions, stream: boolean): RouteRequest {
  const request: RouteRequest = { ...options, stream };
  return request;
}

async function* textTokens(router: Router, request: RouteRequest): AsyncGenerator<string> {
  for await (const chunk of router.stream(request)) {
    if (chunk.type === 'text-delta') yield chunk.text;
  }
}

function create(options: ChatCompletionOptions & { stream: true }, router?: Router): AsyncIterable<string>;
function create(options: ChatCompletionOptions & { stream?: false }, router?: Router): Promise<string>;
function create(options: ChatCompletionOptions, router?: Router): AsyncIterable<string> | Promise<string>;
function create(options: ChatCompletionOptions, router: Router = getDefaultRouter()): AsyncIterable<string> | Promise<string> {
  if (options.stream === true) {
    // Bad input fails here, at the call, not at the first token.
    validateMessages(options.messages);
    router.resolve(options.model, options.provider);
    return textTokens(router, toRouteRequest(options, true));
  }
  return router.complete(toRouteRequest(options, false)).then((result) => result.text);
}

export const ChatCompletion = { create };

/**
 * The g4f provider helper of the seeds: `createCompletion(Lockchat, { model, messages, stream })`
 * yields plain text tokens from one provider.
 */
export function createCompletion(
  provider: Provider,
  options: ChatCompletionOptions,
  router: Router = getDefaultRouter(),
): AsyncIterable<string> {
  return textTokens(router, toRouteRequest({ ...options, provider }, options.stream ?? false));
}
