/**
 * Settings of providers (base URLs, secrets, timeouts, reply limits, proxies) as plain data, and
 * the pure functions that resolve one provider's values from them. A runtime (runtime.ts) holds
 * the settings in use; nothing here is state.
 *
 * Precedence, highest first: the call, the provider's settings (code or config
 * file), the environment (G4F_<NAME>_URL, G4F_PROXY, apiKeyEnv), the global
 * settings (code or config file), the defaults.
 */
import type { Provider, ReplyLimits, Timeouts } from './spec.js';

export const DEFAULT_TIMEOUTS: Readonly<Timeouts> = Object.freeze({
  connect: 10_000,
  firstToken: 60_000,
  idle: 30_000,
  total: 120_000,
});

const MEBI = 1024 * 1024;

/**
 * Bounds on one upstream reply: far above any real answer (4 Mi characters is about a million
 * tokens), and sized so that a reply just under them fits the heap `g4f serve` runs with
 * (bench/upstream-limits.ts): a non-streamed answer is held several times over (its text, its JSON,
 * its usage count).
 */
export const DEFAULT_LIMITS: Readonly<ReplyLimits> = Object.freeze({
  bodyBytes: 16 * MEBI,
  eventChars: MEBI,
  answerChars: 4 * MEBI,
});

export interface RetrySettings {
  attempts: number;
  baseDelayMs: number;
  maxDelayMs: number;
}

export const DEFAULT_RETRY: Readonly<RetrySettings> = Object.freeze({ attempts: 3, baseDelayMs: 250, maxDelayMs: 4_000 });

/** Optional fields that may also be explicitly undefined (as zod's partial objects are). */
export type Loose<T> = { [K in keyof T]?: T[K] | undefined };

/** A copy without the keys whose value is undefined. */
export function stripUndefined<T extends object>(value: Loose<T> | undefined): Partial<T> {
  const result: Partial<T> = {};
  if (value === undefined) return result;
  for (const key of Object.keys(value) as Array<keyof T>) {
    const field = value[key];
    if (field !== undefined) result[key] = field as T[keyof T];
  }
  return result;
}

/** Spreads `layers` over `base`, skipping undefined values. */
function merge<T extends object>(base: T, ...layers: Array<Loose<T> | undefined>): T {
  const result = { ...base };
  for (const layer of layers) {
    if (layer === undefined) continue;
    for (const key of Object.keys(layer) as Array<keyof T>) {
      const value = layer[key];
      if (value !== undefined) result[key] = value as T[keyof T];
    }
  }
  return result;
}

export interface ProviderSettings {
  baseUrl?: string;
  /** A secret given in code; config files name an environment variable instead. */
  apiKey?: string;
  apiKeyEnv?: string;
  headers?: Record<string, string>;
  timeouts?: Loose<Timeouts>;
  limits?: Loose<ReplyLimits>;
  proxy?: string;
  retry?: Loose<RetrySettings>;
  /** Provider-specific settings, e.g. `{ token }` for Lockchat. */
  options?: Record<string, unknown>;
}

export interface Settings {
  timeouts?: Loose<Timeouts>;
  limits?: Loose<ReplyLimits>;
  proxy?: string;
  retry?: Loose<RetrySettings>;
  providers?: Record<string, ProviderSettings>;
}

function findKey(record: Record<string, unknown>, name: string): string | undefined {
  if (name in record) return name;
  const lower = name.toLowerCase();
  return Object.keys(record).find((key) => key.toLowerCase() === lower);
}

/** The settings of one provider (its name matched case-insensitively). */
export function providerSettings(settings: Readonly<Settings>, name: string): ProviderSettings | undefined {
  const providers = settings.providers;
  if (providers === undefined) return undefined;
  const key = findKey(providers, name);
  return key === undefined ? undefined : providers[key];
}

/** `settings` with one provider's settings merged over its current ones. */
export function withProviderSettings(settings: Readonly<Settings>, name: string, own: ProviderSettings): Settings {
  const providers = { ...settings.providers };
  const key = findKey(providers, name) ?? name;
  providers[key] = { ...providers[key], ...own };
  return { ...settings, providers };
}

/** `G4F_LOCKCHAT_URL` for `Lockchat`. */
export function environmentName(provider: string, suffix: string): string {
  return `G4F_${provider.toUpperCase().replace(/[^A-Z0-9]+/g, '_')}_${suffix}`;
}

export function resolveBaseUrl(settings: Readonly<Settings>, provider: Pick<Provider, 'name' | 'url'>): string {
  const url = providerSettings(settings, provider.name)?.baseUrl ?? process.env[environmentName(provider.name, 'URL')] ?? provider.url;
  return url.endsWith('/') ? url.slice(0, -1) : url;
}

export function resolveTimeouts(settings: Readonly<Settings>, providerName: string, call?: Loose<Timeouts>): Timeouts {
  return merge<Timeouts>(DEFAULT_TIMEOUTS, settings.timeouts, providerSettings(settings, providerName)?.timeouts, call);
}

/** The provider's limits; a call's own (`call`) may only lower them. */
export function resolveLimits(settings: Readonly<Settings>, providerName: string, call?: Loose<ReplyLimits>): ReplyLimits {
  const limits = merge<ReplyLimits>(DEFAULT_LIMITS, settings.limits, providerSettings(settings, providerName)?.limits);
  if (call !== undefined) {
    for (const key of Object.keys(limits) as Array<keyof ReplyLimits>) {
      const own = call[key];
      if (own !== undefined && own < limits[key]) limits[key] = own;
    }
  }
  return limits;
}

export function resolveRetry(settings: Readonly<Settings>, providerName: string): RetrySettings {
  return merge<RetrySettings>(DEFAULT_RETRY, settings.retry, providerSettings(settings, providerName)?.retry);
}

export function resolveApiKey(settings: Readonly<Settings>, provider: Pick<Provider, 'name' | 'apiKeyEnv'>): string | undefined {
  const own = providerSettings(settings, provider.name);
  if (own?.apiKey) return own.apiKey;
  const variable = apiKeyVariable(settings, provider);
  const value = process.env[variable];
  return value === undefined || value === '' ? undefined : value;
}

/** What one call sets for itself, over the settings. */
export interface CallSettings {
  timeouts?: Loose<Timeouts> | undefined;
  /** Only lower than the provider's. */
  limits?: Loose<ReplyLimits> | undefined;
  apiKey?: string | undefined;
}

/** The environment variable that holds a provider's key: its settings' `apiKeyEnv`, its own, else G4F_<NAME>_API_KEY. */
export function apiKeyVariable(settings: Readonly<Settings>, provider: Pick<Provider, 'name' | 'apiKeyEnv'>): string {
  return providerSettings(settings, provider.name)?.apiKeyEnv ?? provider.apiKeyEnv ?? environmentName(provider.name, 'API_KEY');
}

/** The proxy of a provider: its own setting, else G4F_PROXY, else the global setting. */
export function resolveProxy(settings: Readonly<Settings>, providerName: string): string | undefined {
  const proxy = providerSettings(settings, providerName)?.proxy ?? process.env.G4F_PROXY ?? settings.proxy;
  return proxy === '' ? undefined : proxy;
}
