/** The providers: the registry, the built-in providers, the native and OpenAI-compatible factories, the catalog. */
export { builtinProviders, createProviderRegistry, type ProviderRegistry } from './registry.js';
export { Lockchat, LOCKCHAT_DEFAULT_TOKEN, LOCKCHAT_USER_AGENT } from './lockchat.js';
export { Mishalsgpt } from './mishalsgpt.js';
export { createOpenAICompatibleProvider, type OpenAICompatibleSpec } from './openai-compatible.js';
export { ANTHROPIC_CAPABILITIES, createAnthropicProvider, type AnthropicSpec } from './anthropic.js';
export { GEMINI_CAPABILITIES, createGeminiProvider, type GeminiSpec } from './gemini.js';
export { OLLAMA_CAPABILITIES, createOllamaProvider, type OllamaSpec } from './ollama.js';
export type { NativeProviderSpec } from './native-call.js';
export { CATALOG, catalogStates, presetProvider, type Preset, type PresetState } from './catalog.js';
