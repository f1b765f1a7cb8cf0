/**
 * Process-wide settings of providers (base URLs, secrets, timeouts, reply limits, proxies),
 * and the resolution of one provider's context for one call.
 *
 * Precedence, highest first: the call, the provider's settings (code or config
 * file), the environment (G4F_<NAME>_URL, G4F_PROXY, apiKeyEnv), the global
 * settings (code or config file), the defaults.
 */
import { dispatcherGeneration, getDispatcher } from './http.js';
import type { Provider, ProviderContext, ReplyLimits, Timeouts } from './spec.js';

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

let current: Settings = {};

/** Replaces the process-wide settings (the config loader and tests call this). */
export function configure(settings: Settings): void {
  current = settings;
  version++;
}

export function getSettings(): Readonly<Settings> {
  return current;
}

/** Settings of one provider, merged into the current ones. */
export function configureProvider(name: string, settings: ProviderSettings): void {
  const providers = { ...current.providers };
  const key = findKey(providers, name) ?? name;
  providers[key] = { ...providers[key], ...settings };
  current = { ...current, providers };
  version++;
}

function findKey(record: Record<string, unknown>, name: string): string | undefined {
  if (name in record) return name;
  const lower = name.toLowerCase();
  return Object.keys(record).find((key) => key.toLowerCase() === lower);
}

export function providerSettings(name: string): ProviderSettings | undefined {
  const providers = current.providers;
  if (providers === undefined) return undefined;
  const key = findKey(providers, name);
  return key === undefined ? undefined : providers[key];
}

/** `G4F_LOCKCHAT_URL` for `Lockchat`. */
export function environmentName(provider: string, suffix: string): string {
  return `G4F_${provider.toUpperCase().replace(/[^A-Z0-9]+/g, '_')}_${suffix}`;
}

export function resolveBaseUrl(provider: Pick<Provider, 'name' | 'url'>): string {
  const url = providerSettings(provider.name)?.baseUrl ?? process.env[environmentName(provider.name, 'URL')] ?? provider.url;
  return url.endsWith('/') ? url.slice(0, -1) : url;
}

export function resolveTimeouts(providerName: string, call?: Loose<Timeouts>): Timeouts {
  return merge<Timeouts>(DEFAULT_TIMEOUTS, current.timeouts, providerSettings(providerName)?.timeouts, call);
}

/** The provider's limits; a call's own (`call`) may only lower them. */
export function resolveLimits(providerName: string, call?: Loose<ReplyLimits>): ReplyLimits {
  const limits = merge<ReplyLimits>(DEFAULT_LIMITS, current.limits, providerSettings(providerName)?.limits);
  if (call !== undefined) {
    for (const key of Object.keys(limits) as Array<keyof ReplyLimits>) {
      const own = call[key];
      if (own !== undefined && own < limits[key]) limits[key] = own;
    }
  }
  return limits;
}

export function resolveRetry(providerName: string): RetrySettings {
  return merge<RetrySettings>(DEFAULT_RETRY, current.retry, providerSettings(providerName)?.retry);
}

export function resolveApiKey(provider: Pick<Provider, 'name' | 'apiKeyEnv'>): string | undefined {
  const settings = providerSettings(provider.name);
  if (settings?.apiKey) return settings.apiKey;
  const variable = settings?.apiKeyEnv ?? provider.apiKeyEnv ?? environmentName(provider.name, 'API_KEY');
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

interface CachedContext {
  key: string;
  context: ProviderContext;
}

/** Contexts by provider, valid while the settings and the environment values they read are unchanged. */
const contexts = new Map<string, CachedContext>();
let version = 0;

/** Everything a provider needs for one call. Cached per provider: the request path is measured. */
export function resolveContext(
  provider: Pick<Provider, 'name' | 'url' | 'apiKeyEnv'>,
  call: CallSettings = {},
): ProviderContext {
  if (call.timeouts !== undefined || call.apiKey !== undefined || call.limits !== undefined) return buildContext(provider, call);
  const settings = providerSettings(provider.name);
  const environment = process.env;
  // The environment is read on every call, so a changed variable takes effect at once.
  const key = `${version}\0${dispatcherGeneration()}\0${provider.url}\0${environment[environmentName(provider.name, 'URL')] ?? ''}\0${environment.G4F_PROXY ?? ''}\0${
    environment[settings?.apiKeyEnv ?? provider.apiKeyEnv ?? environmentName(provider.name, 'API_KEY')] ?? ''
  }`;
  const cached = contexts.get(provider.name);
  if (cached !== undefined && cached.key === key) return cached.context;
  const context = buildContext(provider, call);
  contexts.set(provider.name, { key, context });
  return context;
}

function buildContext(provider: Pick<Provider, 'name' | 'url' | 'apiKeyEnv'>, call: CallSettings): ProviderContext {
  const settings = providerSettings(provider.name);
  const timeouts = resolveTimeouts(provider.name, call.timeouts);
  const proxy = resolveProxy(provider.name);
  const context: ProviderContext = {
    baseUrl: resolveBaseUrl(provider),
    timeouts,
    limits: resolveLimits(provider.name, call.limits),
    dispatcher: getDispatcher(timeouts.connect, proxy),
    retry: resolveRetry(provider.name),
  };
  const apiKey = call.apiKey ?? resolveApiKey(provider);
  if (apiKey !== undefined) context.apiKey = apiKey;
  if (settings?.headers) context.headers = settings.headers;
  if (settings?.options) context.settings = settings.options;
  return context;
}

/** The proxy of a provider: its own setting, else G4F_PROXY, else the global setting. */
export function resolveProxy(providerName: string): string | undefined {
  const proxy = providerSettings(providerName)?.proxy ?? process.env.G4F_PROXY ?? current.proxy;
  return proxy === '' ? undefined : proxy;
}
