/** g4f-ts: chat models through many providers. The library's public surface. */
export * from './core/errors.js';
export type { ChatMessage, Chunk, CompletionRequest, FinishReason, Provider, ProviderContext, ReplyLimits, Role, Timeouts, Usage } from './core/spec.js';
export {
  DEFAULT_LIMITS,
  DEFAULT_RETRY,
  DEFAULT_TIMEOUTS,
  configure,
  configureProvider,
  environmentName,
  getSettings,
  resolveBaseUrl,
  resolveContext,
  type ProviderSettings,
  type Settings,
} from './core/settings.js';
export { parseEventStream } from './core/sse.js';
export { backoffDelay, parseRetryAfter, sleep } from './core/retry.js';
export { closeDispatchers } from './core/http.js';
export {
  Lockchat,
  LOCKCHAT_DEFAULT_TOKEN,
  LOCKCHAT_USER_AGENT,
  Mishalsgpt,
  builtinProviders,
  createOpenAICompatibleProvider,
  createProviderRegistry,
  type OpenAICompatibleSpec,
  type ProviderRegistry,
} from './providers/index.js';
export * from './routing/index.js';
export { ChatCompletion, createCompletion, getDefaultRouter, setDefaultRouter, type ChatCompletionOptions } from './chat-completion.js';
export {
  Client,
  type ChatCompletionChunkObject,
  type ChatCompletionCreateParams,
  type ChatCompletionObject,
  type ChatCompletionStream,
  type ClientOptions,
} from './client.js';
export { configSchema, createRouterFromConfig, loadConfig, parseConfig, type G4FConfig } from './config.js';
