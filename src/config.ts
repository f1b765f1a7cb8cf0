/**
 * The JSON config file: OpenAI-compatible and native (Anthropic, Ollama, Gemini) providers, routes,
 * built-in provider settings, timers, reply limits, proxies. Validated with zod; secrets come from the
 * environment only (the file names variables, never values).
 */
import { readFile, stat } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { resolve as resolvePath } from 'node:path';
import { z } from 'zod';
import { ConfigError } from './core/errors.js';
import { SECRET_HEADER_NAME } from './core/http.js';
import { ALL_CAPABILITIES } from './core/messages.js';
import { createRuntime, type Runtime } from './core/runtime.js';
import type { ProviderSettings, Settings } from './core/settings.js';
import type { Capabilities, Provider } from './core/spec.js';
import {
  builtinProviders,
  createAnthropicProvider,
  createGeminiProvider,
  createOllamaProvider,
  createOpenAICompatibleProvider,
  createProviderRegistry,
} from './providers/index.js';
import { catalogProviders } from './providers/catalog.js';
import { createRouter } from './routing/router.js';
import type { CircuitShare } from './routing/health.js';
import type { Router } from './routing/types.js';
import type { RouterOptions } from './routing/router.js';

const milliseconds = z.number().int().positive().max(3_600_000);
const timeoutsSchema = z.object({ connect: milliseconds, firstToken: milliseconds, idle: milliseconds, total: milliseconds }).partial().strict();
/** Bounds on one upstream reply (DEFAULT_LIMITS in core/settings.ts). */
const size = z
  .number()
  .int()
  .positive()
  .max(1024 * 1024 * 1024);
const limitsSchema = z.object({ bodyBytes: size, eventChars: size, answerChars: size }).partial().strict();
const retrySchema = z
  .object({
    attempts: z.number().int().min(1).max(10),
    baseDelayMs: z.number().int().min(0).max(60_000),
    maxDelayMs: z.number().int().min(0).max(300_000),
    maxWaitMs: z.number().int().min(0).max(300_000),
  })
  .partial()
  .strict();
const url = z
  .string()
  .url()
  .refine((value) => /^https?:\/\//.test(value), 'must be an http(s) URL');
const providerName = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, 'letters, digits, dot, dash and underscore only');
const environmentVariable = z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'must be an environment variable name');
const headerName = z.string().regex(/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/, 'must be an HTTP header name');
/** Plain headers; any name that carries a credential (by pattern) is refused: its value is a secret. */
const headers = z.record(headerName, z.string()).superRefine((value, context) => {
  for (const name of Object.keys(value)) {
    if (SECRET_HEADER_NAME.test(name)) {
      context.addIssue({
        code: 'custom',
        path: [name],
        message: `"${name}" carries a credential, and secrets do not belong in the file: use apiKeyEnv, or headersEnv {"${name}": "ENV_VARIABLE"}`,
      });
    }
  }
});
/** Header name → the environment variable that holds its value (for credentials). */
const headersEnv = z.record(headerName, z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'must be an environment variable name'));

const capabilitiesSchema = z
  .object({
    tools: z.boolean(),
    vision: z.boolean(),
    jsonSchema: z.boolean(),
    reasoning: z.boolean(),
    n: z.boolean(),
    logprobs: z.boolean(),
    embeddings: z.boolean(),
  })
  .partial()
  .strict();

/** Fields every configured provider has, whatever its protocol. */
const configuredProviderFields = {
  name: providerName,
  baseUrl: url,
  apiKeyEnv: environmentVariable.optional(),
  models: z.array(z.string().min(1)).min(1),
  headers: headers.optional(),
  headersEnv: headersEnv.optional(),
  supportsStream: z.boolean().optional(),
  needsAuth: z.boolean().optional(),
  timeouts: timeoutsSchema.optional(),
  limits: limitsSchema.optional(),
  proxy: url.optional(),
  retry: retrySchema.optional(),
  /** What it can do; default: all its protocol can. Turn one off with `false`. */
  capabilities: capabilitiesSchema.optional(),
  /** Per model, over the provider's capabilities. */
  modelCapabilities: z.record(z.string(), capabilitiesSchema).optional(),
};

const maxTokens = z.number().int().positive().max(10_000_000);

/** A protocol whose upstream lists its models takes `"models": "auto"`, refreshed every `modelRefreshMs`. */
const listedModelsFields = {
  models: z.union([z.array(z.string().min(1)).min(1), z.literal('auto')]),
  /** How long a listing is kept (`"models": "auto"`); default 300000 (5 minutes). */
  modelRefreshMs: z.number().int().min(1).max(86_400_000).optional(),
};

/**
 * A configured provider, by protocol: `openai-compatible` (`{baseUrl}/chat/completions`), or a
 * native one: `anthropic` (`{baseUrl}/v1/messages`), `ollama` (`{baseUrl}/api/chat`), `gemini`
 * (`{baseUrl}/v1beta/models/{model}:generateContent`).
 */
const configuredProviderSchema = z.discriminatedUnion('type', [
  z.object({ ...configuredProviderFields, ...listedModelsFields, type: z.literal('openai-compatible'), path: z.string().startsWith('/').optional() }).strict(),
  z
    .object({
      ...configuredProviderFields,
      ...listedModelsFields,
      type: z.literal('anthropic'),
      /** `max_tokens` when the caller gives none (Anthropic requires one); default 4096. */
      maxTokens: maxTokens.optional(),
      /** Per model, over `maxTokens`. */
      modelMaxTokens: z.record(z.string(), maxTokens).optional(),
    })
    .strict(),
  z.object({ ...configuredProviderFields, ...listedModelsFields, type: z.literal('ollama') }).strict(),
  z.object({ ...configuredProviderFields, ...listedModelsFields, type: z.literal('gemini') }).strict(),
]);

type ConfiguredProvider = z.infer<typeof configuredProviderSchema>;

const builtinSettingsSchema = z
  .object({
    baseUrl: url.optional(),
    /** Lockchat's query token: the name of an environment variable holding it. */
    tokenEnv: environmentVariable.optional(),
    headers: headers.optional(),
    headersEnv: headersEnv.optional(),
    timeouts: timeoutsSchema.optional(),
    limits: limitsSchema.optional(),
    proxy: url.optional(),
    retry: retrySchema.optional(),
    enabled: z.boolean().optional(),
  })
  .strict();

export const configSchema = z
  .object({
    $schema: z.string().optional(),
    providers: z.array(configuredProviderSchema).optional(),
    builtin: z.record(z.string(), builtinSettingsSchema).optional(),
    models: z.record(z.string(), z.array(z.string().min(1)).min(1)).optional(),
    aliases: z.record(z.string(), z.string()).optional(),
    timeouts: timeoutsSchema.optional(),
    limits: limitsSchema.optional(),
    proxy: url.optional(),
    retry: retrySchema.optional(),
    routing: z
      .object({ order: z.enum(['ordered', 'shuffle']) })
      .partial()
      .strict()
      .optional(),
    circuit: z
      .object({
        failureThreshold: z.number().int().min(1).max(1000),
        cooldownMs: z.number().int().min(0).max(3_600_000),
      })
      .partial()
      .strict()
      .optional(),
    /** The database: `postgres://...` (shared by replicas) or `sqlite:PATH`; G4F_DATABASE_URL wins. */
    database: z
      .object({ url: z.string().min(1) })
      .strict()
      .optional(),
    /** Redis for state shared by replicas (circuits, limits, key usage); G4F_REDIS_URL wins. */
    redis: z
      .object({ url: z.string().min(1) })
      .strict()
      .optional(),
    server: z
      .object({
        apiKeysEnv: environmentVariable.optional(),
        corsOrigins: z.array(z.string()).optional(),
        bodyLimitBytes: z
          .number()
          .int()
          .positive()
          .max(100 * 1024 * 1024)
          .optional(),
        /** The body limit of a request that carries images (default 20 MiB). */
        imageBodyLimitBytes: z
          .number()
          .int()
          .positive()
          .max(200 * 1024 * 1024)
          .optional(),
        logMessages: z.boolean().optional(),
        /** Host names requests may use besides loopback ones; `*` for any, `.example.com` with subdomains. */
        allowedHosts: z.array(z.string().min(1).max(253)).optional(),
      })
      .strict()
      .optional(),
  })
  .strict();

export type G4FConfig = z.infer<typeof configSchema>;

/** Validates a parsed config; the error names the field and the reason. */
export function parseConfig(value: unknown, source = 'config'): G4FConfig {
  const result = configSchema.safeParse(value);
  if (!result.success) {
    const issue = result.error.issues[0];
    const field = issue && issue.path.length > 0 ? issue.path.join('.') : '(root)';
    throw new ConfigError(`${source}: ${field}: ${issue?.message ?? 'invalid'}`);
  }
  const names = new Set(builtinProviders.map((provider) => provider.name.toLowerCase()));
  for (const [index, provider] of (result.data.providers ?? []).entries()) {
    const lower = provider.name.toLowerCase();
    if (names.has(lower)) throw new ConfigError(`${source}: providers.${index}.name: "${provider.name}" is already taken`);
    names.add(lower);
  }
  for (const name of Object.keys(result.data.builtin ?? {})) {
    if (!builtinProviders.some((provider) => provider.name.toLowerCase() === name.toLowerCase())) {
      throw new ConfigError(`${source}: builtin.${name}: not a built-in provider`);
    }
  }
  return result.data;
}

/**
 * Loads the config: `path`, else G4F_CONFIG, else ./g4f.config.json when it
 * exists, else an empty config.
 */
export async function loadConfig(path?: string): Promise<G4FConfig> {
  const chosen = path ?? process.env.G4F_CONFIG ?? (existsSync('g4f.config.json') ? 'g4f.config.json' : undefined);
  if (chosen === undefined || chosen === '') return {};
  const absolute = resolvePath(chosen);
  let text: string;
  try {
    // A FIFO or a device would block the read, or never end: only a regular file is read.
    const info = await stat(absolute);
    if (!info.isFile()) throw new ConfigError(`config file ${absolute} is not a regular file`);
    text = await readFile(absolute, 'utf8');
  } catch (error) {
    if (error instanceof ConfigError) throw error;
    throw new ConfigError(`cannot read config file ${absolute}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`);
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new ConfigError(`${absolute}: not valid JSON: ${(error as Error).message}`);
  }
  return parseConfig(value, absolute);
}

/** Plain headers plus the ones whose values come from the environment (unset variables are left out). */
function withHeadersFromEnvironment(
  plain: Record<string, string> | undefined,
  fromEnvironment: Record<string, string> | undefined,
): Record<string, string> | undefined {
  if (fromEnvironment === undefined) return plain;
  const result: Record<string, string> = { ...plain };
  for (const [name, variable] of Object.entries(fromEnvironment)) {
    const value = process.env[variable];
    if (value !== undefined && value !== '') result[name] = value;
  }
  return Object.keys(result).length === 0 ? undefined : result;
}

/** The settings a config describes (a runtime is built from them: `createRuntime(settingsFromConfig(config))`). */
export function settingsFromConfig(config: G4FConfig): Settings {
  const providers: Record<string, ProviderSettings> = {};
  for (const [name, builtin] of Object.entries(config.builtin ?? {})) {
    const settings: ProviderSettings = {};
    if (builtin.baseUrl) settings.baseUrl = builtin.baseUrl;
    const builtinHeaders = withHeadersFromEnvironment(builtin.headers, builtin.headersEnv);
    if (builtinHeaders) settings.headers = builtinHeaders;
    if (builtin.timeouts) settings.timeouts = builtin.timeouts;
    if (builtin.limits) settings.limits = builtin.limits;
    if (builtin.proxy) settings.proxy = builtin.proxy;
    if (builtin.retry) settings.retry = builtin.retry;
    if (builtin.tokenEnv) {
      const token = process.env[builtin.tokenEnv];
      if (token) settings.options = { token };
    }
    providers[name] = settings;
  }
  for (const provider of config.providers ?? []) {
    const settings: ProviderSettings = { baseUrl: provider.baseUrl };
    if (provider.apiKeyEnv) settings.apiKeyEnv = provider.apiKeyEnv;
    const secretHeaders = withHeadersFromEnvironment(undefined, provider.headersEnv);
    if (secretHeaders) settings.headers = secretHeaders;
    if (provider.timeouts) settings.timeouts = provider.timeouts;
    if (provider.limits) settings.limits = provider.limits;
    if (provider.proxy) settings.proxy = provider.proxy;
    if (provider.retry) settings.retry = provider.retry;
    providers[provider.name] = settings;
  }
  const settings: Settings = { providers };
  if (config.timeouts) settings.timeouts = config.timeouts;
  if (config.limits) settings.limits = config.limits;
  if (config.proxy) settings.proxy = config.proxy;
  if (config.retry) settings.retry = config.retry;
  return settings;
}

/** The providers a config describes: enabled built-ins, configured ones, then the catalog's enabled presets. */
export function providersFromConfig(config: G4FConfig): Provider[] {
  const disabled = new Set(
    Object.entries(config.builtin ?? {})
      .filter(([, settings]) => settings.enabled === false)
      .map(([name]) => name.toLowerCase()),
  );
  const providers: Provider[] = builtinProviders.filter((provider) => !disabled.has(provider.name.toLowerCase()));
  for (const spec of config.providers ?? []) providers.push(providerFromConfig(spec));
  // The catalog's presets enabled in this environment, unless a configured provider takes the name.
  const taken = new Set(providers.map((provider) => provider.name.toLowerCase()));
  providers.push(...catalogProviders(taken));
  return providers;
}

/** One configured provider, made by its protocol's factory. */
function providerFromConfig(spec: ConfiguredProvider): Provider {
  const common = {
    name: spec.name,
    url: spec.baseUrl,
    models: spec.models === 'auto' ? [] : spec.models,
    ...(spec.supportsStream === undefined ? {} : { supportsStream: spec.supportsStream }),
    ...(spec.needsAuth === undefined ? {} : { needsAuth: spec.needsAuth }),
    ...(spec.apiKeyEnv === undefined ? {} : { apiKeyEnv: spec.apiKeyEnv }),
    ...(spec.headers === undefined ? {} : { headers: spec.headers }),
    ...(spec.modelCapabilities === undefined
      ? {}
      : { modelCapabilities: Object.fromEntries(Object.entries(spec.modelCapabilities).map(([model, value]) => [model, definedCapabilities(value)])) }),
  };
  const listed = spec.models !== 'auto' ? {} : { listModels: true, ...(spec.modelRefreshMs === undefined ? {} : { modelRefreshMs: spec.modelRefreshMs }) };
  // The protocol's own capabilities, with the ones the file turns on or off over them.
  const capabilities = spec.capabilities === undefined ? {} : { capabilities: definedCapabilities(spec.capabilities) };
  switch (spec.type) {
    case 'openai-compatible':
      return createOpenAICompatibleProvider({
        ...common,
        ...listed,
        ...(spec.path === undefined ? {} : { path: spec.path }),
        ...(spec.capabilities === undefined ? {} : { capabilities: { ...ALL_CAPABILITIES, ...definedCapabilities(spec.capabilities) } }),
      });
    case 'anthropic':
      return createAnthropicProvider({
        ...common,
        ...listed,
        ...capabilities,
        ...(spec.maxTokens === undefined ? {} : { maxTokens: spec.maxTokens }),
        ...(spec.modelMaxTokens === undefined ? {} : { modelMaxTokens: spec.modelMaxTokens }),
      });
    case 'ollama':
      return createOllamaProvider({ ...common, ...listed, ...capabilities });
    case 'gemini':
      return createGeminiProvider({ ...common, ...listed, ...capabilities });
  }
}

function definedCapabilities(value: z.infer<typeof capabilitiesSchema>): Partial<Capabilities> {
  const result: Partial<Capabilities> = {};
  for (const [name, on] of Object.entries(value)) if (on !== undefined) result[name as keyof Capabilities] = on;
  return result;
}

/** A runtime with the settings a config describes. */
export function runtimeFromConfig(config: G4FConfig): Runtime {
  return createRuntime(settingsFromConfig(config));
}

export interface RouterFromConfigOptions extends Pick<RouterOptions, 'onModelListError'> {
  /** Circuits shared with other replicas (through Redis). */
  circuitShare?: CircuitShare;
  /** Default: a new runtime with the config's settings (`runtimeFromConfig`); close it with `router.runtime.close()`. */
  runtime?: Runtime;
  /** Providers to route over besides the config's (demo mode's agent). */
  extraProviders?: readonly Provider[];
}

/** A router over the config's providers, its routes and policy, on a runtime with its settings. */
export function createRouterFromConfig(config: G4FConfig, options: RouterFromConfigOptions = {}): Router {
  return createRouter({
    ...(options.onModelListError === undefined ? {} : { onModelListError: options.onModelListError }),
    ...(options.circuitShare === undefined ? {} : { circuitShare: options.circuitShare }),
    runtime: options.runtime ?? runtimeFromConfig(config),
    providers: createProviderRegistry([...providersFromConfig(config), ...(options.extraProviders ?? [])]),
    ...(config.models === undefined ? {} : { models: config.models }),
    ...(config.aliases === undefined ? {} : { aliases: config.aliases }),
    ...(config.routing?.order === undefined ? {} : { order: config.routing.order }),
    ...(config.retry === undefined ? {} : { retry: config.retry }),
    ...(config.circuit === undefined ? {} : { circuit: config.circuit }),
  });
}
