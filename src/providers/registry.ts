/**
 * The provider registry: one typed list of built-in providers, plus any added at run time.
 * Apart from the package's provider exports (`./index.ts`), so that the router loads the two
 * built-in providers only, not every native provider and the catalog.
 */
import { UnknownProviderError } from '../core/errors.js';
import type { Provider } from '../core/spec.js';
import { Lockchat } from './lockchat.js';
import { Mishalsgpt } from './mishalsgpt.js';

export const builtinProviders: readonly Provider[] = [Lockchat, Mishalsgpt];

export interface ProviderRegistry {
  /** Case-insensitive lookup. */
  get(name: string): Provider | undefined;
  /** Like get, but throws UnknownProviderError listing the known names. */
  require(name: string): Provider;
  list(): Provider[];
  names(): string[];
  /** Adds or replaces (by name) a provider. */
  register(provider: Provider): void;
}

export function createProviderRegistry(initial: readonly Provider[] = builtinProviders): ProviderRegistry {
  const byName = new Map<string, Provider>();
  const registry: ProviderRegistry = {
    get: (name) => byName.get(name.toLowerCase()),
    require(name) {
      const provider = byName.get(name.toLowerCase());
      if (provider === undefined) throw new UnknownProviderError(name, registry.names());
      return provider;
    },
    list: () => [...byName.values()],
    names: () => [...byName.values()].map((provider) => provider.name),
    register(provider) {
      byName.set(provider.name.toLowerCase(), provider);
    },
  };
  for (const provider of initial) registry.register(provider);
  return registry;
}
