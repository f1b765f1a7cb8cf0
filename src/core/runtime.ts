/**
 * A runtime: the settings in use, the pooled connections, the per-provider context cache and the
 * clock. The router, the server and the command line are handed one; nothing of it is process-wide,
 * so two runtimes (two servers, two tests) never see each other's settings or connections.
 *
 * Precedence of a provider's values, highest first: the call, the provider's settings (code or
 * config file), the environment (G4F_<NAME>_URL, G4F_PROXY, apiKeyEnv: read on every call, so a
 * changed variable takes effect at once), the global settings, the defaults.
 */
import { createDispatcherPool } from './http.js';
import {
  apiKeyVariable,
  environmentName,
  providerSettings,
  resolveApiKey,
  resolveBaseUrl,
  resolveLimits,
  resolveProxy,
  resolveRetry,
  resolveTimeouts,
  withProviderSettings,
  type CallSettings,
  type ProviderSettings,
  type Settings,
} from './settings.js';
import type { Provider, ProviderContext } from './spec.js';

export interface Runtime {
  /** The settings in use. */
  readonly settings: Readonly<Settings>;
  /** Milliseconds since the epoch: the circuit breakers' clock (tests give their own). */
  readonly now: () => number;
  /** Replaces the settings. */
  configure(settings: Settings): void;
  /** Merges one provider's settings over its current ones. */
  configureProvider(name: string, settings: ProviderSettings): void;
  providerSettings(name: string): ProviderSettings | undefined;
  /** The base URL a provider is called at now (settings, then G4F_<NAME>_URL, then its own). */
  baseUrl(provider: Pick<Provider, 'name' | 'url'>): string;
  /** Everything a provider needs for one call. */
  context(provider: Pick<Provider, 'name' | 'url' | 'apiKeyEnv'>, call?: CallSettings): ProviderContext;
  /** Closes the pooled connections (shutdown, the end of a test). The runtime stays usable: a later call opens new ones. */
  close(): Promise<void>;
}

export interface RuntimeOptions {
  /** Default `Date.now`. */
  now?: () => number;
}

export function createRuntime(initial: Settings = {}, options: RuntimeOptions = {}): Runtime {
  let settings: Settings = initial;
  const pool = createDispatcherPool();
  // Contexts by provider, valid while the settings and the environment values they read are unchanged.
  const contexts = new Map<string, { key: string; context: ProviderContext }>();
  let version = 0;

  function build(provider: Pick<Provider, 'name' | 'url' | 'apiKeyEnv'>, call: CallSettings): ProviderContext {
    const own = providerSettings(settings, provider.name);
    const timeouts = resolveTimeouts(settings, provider.name, call.timeouts);
    const context: ProviderContext = {
      baseUrl: resolveBaseUrl(settings, provider),
      timeouts,
      limits: resolveLimits(settings, provider.name, call.limits),
      dispatcher: pool.get(timeouts.connect, resolveProxy(settings, provider.name)),
      retry: resolveRetry(settings, provider.name),
    };
    const apiKey = call.apiKey ?? resolveApiKey(settings, provider);
    if (apiKey !== undefined) context.apiKey = apiKey;
    if (own?.headers) context.headers = own.headers;
    if (own?.options) context.settings = own.options;
    return context;
  }

  return {
    get settings() {
      return settings;
    },
    now: options.now ?? Date.now,
    configure(next) {
      settings = next;
      version++;
    },
    configureProvider(name, own) {
      settings = withProviderSettings(settings, name, own);
      version++;
    },
    providerSettings: (name) => providerSettings(settings, name),
    baseUrl: (provider) => resolveBaseUrl(settings, provider),
    context(provider, call = {}) {
      if (call.timeouts !== undefined || call.apiKey !== undefined || call.limits !== undefined) return build(provider, call);
      // Cached per provider (the request path is measured); the environment is read on every call.
      const environment = process.env;
      const key = `${version}\0${provider.url}\0${environment[environmentName(provider.name, 'URL')] ?? ''}\0${environment.G4F_PROXY ?? ''}\0${
        environment[apiKeyVariable(settings, provider)] ?? ''
      }`;
      const cached = contexts.get(provider.name);
      if (cached !== undefined && cached.key === key) return cached.context;
      const context = build(provider, call);
      contexts.set(provider.name, { key, context });
      return context;
    },
    async close() {
      // Cached contexts hold the closed dispatchers: forget them.
      contexts.clear();
      version++;
      await pool.close();
    },
  };
}
