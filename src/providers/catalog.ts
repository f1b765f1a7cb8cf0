/**
 * The catalog: presets for the hosted services users ask for, each enabled by its usual key
 * variable, and for local servers, each enabled by `G4F_<NAME>_URL`. A preset is data; the
 * protocol's factory makes the provider. Every preset's base URL is overridable by
 * `G4F_<NAME>_URL`, as for the seeds.
 */
import { ALL_CAPABILITIES } from '../core/messages.js';
import type { Capabilities, Provider } from '../core/spec.js';
import { createAnthropicProvider } from './anthropic.js';
import { createGeminiProvider } from './gemini.js';
import { createOllamaProvider } from './ollama.js';
import { createOpenAICompatibleProvider } from './openai-compatible.js';

export type PresetProtocol = 'openai-compatible' | 'anthropic' | 'gemini' | 'ollama';

export interface Preset {
  name: string;
  protocol: PresetProtocol;
  baseUrl: string;
  /** Hosted: the key variable that enables it. Local: none (enabled by `G4F_<NAME>_URL`). */
  keyEnv?: string;
  /** A short default list; any other model of the service is reached as `Name/model`. */
  models: readonly string[];
  /** The service lists its models (`GET /v1/models`, Gemini's `/v1beta/models`, Ollama's `/api/tags`): they are served besides the defaults. */
  listsModels?: boolean;
  /** Over the protocol's own capabilities. */
  capabilities?: Partial<Capabilities>;
}

const TEXT_AND_TOOLS: Partial<Capabilities> = { vision: false, n: false, logprobs: false };

export const CATALOG: readonly Preset[] = [
  {
    name: 'OpenAI',
    protocol: 'openai-compatible',
    baseUrl: 'https://api.openai.com/v1',
    keyEnv: 'OPENAI_API_KEY',
    listsModels: true,
    models: ['gpt-4o', 'gpt-4o-mini', 'gpt-4.1', 'gpt-4.1-mini', 'o4-mini'],
  },
  {
    name: 'Anthropic',
    protocol: 'anthropic',
    baseUrl: 'https://api.anthropic.com',
    keyEnv: 'ANTHROPIC_API_KEY',
    listsModels: true,
    models: ['claude-sonnet-4-5', 'claude-opus-4-1', 'claude-3-5-haiku-latest'],
  },
  {
    name: 'Gemini',
    protocol: 'gemini',
    baseUrl: 'https://generativelanguage.googleapis.com',
    keyEnv: 'GEMINI_API_KEY',
    listsModels: true,
    models: ['gemini-2.5-flash', 'gemini-2.5-pro'],
  },
  {
    name: 'OpenRouter',
    protocol: 'openai-compatible',
    baseUrl: 'https://openrouter.ai/api/v1',
    keyEnv: 'OPENROUTER_API_KEY',
    listsModels: true,
    models: ['openrouter/auto'],
  },
  {
    name: 'Groq',
    protocol: 'openai-compatible',
    baseUrl: 'https://api.groq.com/openai/v1',
    keyEnv: 'GROQ_API_KEY',
    listsModels: true,
    models: ['llama-3.3-70b-versatile', 'llama-3.1-8b-instant'],
    capabilities: { n: false, logprobs: false },
  },
  {
    name: 'DeepSeek',
    protocol: 'openai-compatible',
    baseUrl: 'https://api.deepseek.com/v1',
    keyEnv: 'DEEPSEEK_API_KEY',
    listsModels: true,
    models: ['deepseek-chat', 'deepseek-reasoner'],
    capabilities: TEXT_AND_TOOLS,
  },
  {
    name: 'Mistral',
    protocol: 'openai-compatible',
    baseUrl: 'https://api.mistral.ai/v1',
    keyEnv: 'MISTRAL_API_KEY',
    listsModels: true,
    models: ['mistral-large-latest', 'mistral-small-latest'],
    capabilities: { logprobs: false },
  },
  {
    name: 'Together',
    protocol: 'openai-compatible',
    baseUrl: 'https://api.together.xyz/v1',
    keyEnv: 'TOGETHER_API_KEY',
    listsModels: true,
    models: ['meta-llama/Llama-3.3-70B-Instruct-Turbo'],
  },
  {
    name: 'Fireworks',
    protocol: 'openai-compatible',
    baseUrl: 'https://api.fireworks.ai/inference/v1',
    keyEnv: 'FIREWORKS_API_KEY',
    listsModels: true,
    models: ['accounts/fireworks/models/llama-v3p3-70b-instruct'],
  },
  { name: 'xAI', protocol: 'openai-compatible', baseUrl: 'https://api.x.ai/v1', keyEnv: 'XAI_API_KEY', listsModels: true, models: ['grok-4', 'grok-3-mini'] },
  {
    name: 'Cerebras',
    protocol: 'openai-compatible',
    baseUrl: 'https://api.cerebras.ai/v1',
    keyEnv: 'CEREBRAS_API_KEY',
    listsModels: true,
    models: ['llama-3.3-70b'],
    capabilities: TEXT_AND_TOOLS,
  },
  { name: 'Ollama', protocol: 'ollama', baseUrl: 'http://127.0.0.1:11434', listsModels: true, models: [] },
  { name: 'LMStudio', protocol: 'openai-compatible', baseUrl: 'http://127.0.0.1:1234/v1', listsModels: true, models: [] },
  { name: 'LlamaCpp', protocol: 'openai-compatible', baseUrl: 'http://127.0.0.1:8080/v1', listsModels: true, models: [] },
  { name: 'VLLM', protocol: 'openai-compatible', baseUrl: 'http://127.0.0.1:8000/v1', listsModels: true, models: [] },
];

/** `G4F_OPENAI_URL` for `OpenAI`. */
function urlVariable(name: string): string {
  return `G4F_${name.toUpperCase().replace(/[^A-Z0-9]+/g, '_')}_URL`;
}

export interface PresetState {
  preset: Preset;
  enabled: boolean;
  /** Why it is off (`set GROQ_API_KEY`), or what enabled it. */
  reason: string;
}

/** Whether each preset is on in this environment, and why. */
export function catalogStates(environment: NodeJS.ProcessEnv = process.env): PresetState[] {
  return CATALOG.map((preset) => {
    const has = (variable: string): boolean => (environment[variable] ?? '') !== '';
    if (preset.keyEnv !== undefined) {
      return has(preset.keyEnv) ? { preset, enabled: true, reason: `${preset.keyEnv} is set` } : { preset, enabled: false, reason: `set ${preset.keyEnv}` };
    }
    const variable = urlVariable(preset.name);
    return has(variable) ? { preset, enabled: true, reason: `${variable} is set` } : { preset, enabled: false, reason: `set ${variable}` };
  });
}

export function presetProvider(preset: Preset): Provider {
  const spec = {
    name: preset.name,
    url: preset.baseUrl,
    models: preset.models,
    ...(preset.keyEnv === undefined ? {} : { apiKeyEnv: preset.keyEnv }),
    ...(preset.capabilities === undefined ? {} : { capabilities: preset.capabilities }),
    ...(preset.listsModels === true ? { listModels: true } : {}),
  };
  switch (preset.protocol) {
    case 'anthropic':
      return createAnthropicProvider(spec);
    case 'gemini':
      return createGeminiProvider(spec);
    case 'ollama':
      return createOllamaProvider(spec);
    case 'openai-compatible':
      return createOpenAICompatibleProvider({
        ...spec,
        ...(preset.capabilities === undefined ? {} : { capabilities: { ...ALL_CAPABILITIES, ...preset.capabilities } }),
        ...(preset.keyEnv === undefined ? {} : { needsAuth: true }),
      });
  }
}

/**
 * The enabled presets' providers, except those whose name a configured provider takes (a config
 * entry of the same name replaces the preset).
 */
export function catalogProviders(taken: ReadonlySet<string>, environment: NodeJS.ProcessEnv = process.env): Provider[] {
  return catalogStates(environment)
    .filter((state) => state.enabled && !taken.has(state.preset.name.toLowerCase()))
    .map((state) => presetProvider(state.preset));
}
