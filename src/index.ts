/** g4f-ts: chat models through many providers. The library's public surface. */
export * from './core/errors.js';
export type {
  AssistantMessage,
  CallSettings,
  Capabilities,
  Capability,
  ChatMessage,
  Chunk,
  CompletionRequest,
  ContentPart,
  EmbeddingRequest,
  EmbeddingResult,
  EmbeddingUsage,
  FinishReason,
  ImagePart,
  Provider,
  ProviderContext,
  ReplyLimits,
  ResponseFormat,
  Role,
  SystemMessage,
  TextPart,
  Timeouts,
  ToolCall,
  ToolChoice,
  ToolDefinition,
  ToolMessage,
  Usage,
  UserMessage,
} from './core/spec.js';
export { ALL_CAPABILITIES, NO_CAPABILITIES, capabilitiesOf, isOutputChunk, messageText, requiredCapabilities } from './core/messages.js';
export {
  DEFAULT_LIMITS,
  DEFAULT_RETRY,
  DEFAULT_TIMEOUTS,
  environmentName,
  resolveBaseUrl,
  type ProviderSettings,
  type Settings,
} from './core/settings.js';
export { createRuntime, type Runtime, type RuntimeOptions } from './core/runtime.js';
export { closeDispatchers, configure, configureProvider, getDefaultRuntime, getSettings, setDefaultRuntime } from './default-runtime.js';
export { parseEventStream } from './core/sse.js';
export { backoffDelay, parseRetryAfter, sleep } from './core/retry.js';
export {
  Lockchat,
  LOCKCHAT_DEFAULT_TOKEN,
  LOCKCHAT_USER_AGENT,
  Mishalsgpt,
  builtinProviders,
  createOpenAICompatibleProvider,
  createAnthropicProvider,
  createGeminiProvider,
  createOllamaProvider,
  createProviderRegistry,
  type OpenAICompatibleSpec,
  type AnthropicSpec,
  type GeminiSpec,
  type OllamaSpec,
  type ProviderRegistry,
} from './providers/index.js';
export * from './routing/index.js';
export { ChatCompletion, createCompletion, getDefaultRouter, routerFor, setDefaultRouter, type ChatCompletionOptions } from './chat-completion.js';
export {
  Client,
  type ChatCompletionChunkObject,
  type ChatCompletionCreateParams,
  type ChatCompletionMessage,
  type ChatCompletionObject,
  type ClientMessage,
  type ChatCompletionStream,
  type ClientOptions,
} from './client.js';
export {
  configSchema,
  createRouterFromConfig,
  loadConfig,
  parseConfig,
  runtimeFromConfig,
  settingsFromConfig,
  type G4FConfig,
  type RouterFromConfigOptions,
} from './config.js';
