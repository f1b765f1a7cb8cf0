/** The model registry: models with aliases, each served by an ordered list of providers. */
import { ConfigError, UnknownModelError } from '../core/errors.js';
import { capabilitiesOf } from '../core/messages.js';
import type { Capability, Provider } from '../core/spec.js';
import type { ProviderRegistry } from '../providers/registry.js';
import type { ModelInfo } from './types.js';

/** The original registry, with fallback: Lockchat also serves gpt-3.5-turbo. */
export const DEFAULT_ROUTES: Readonly<Record<string, readonly string[]>> = {
  'gpt-4': ['Lockchat'],
  'gpt-3.5-turbo': ['Mishalsgpt', 'Lockchat'],
  'gpt-3.5-turbo-16k-0613': ['Mishalsgpt'],
};

export const DEFAULT_ALIASES: Readonly<Record<string, string>> = {
  'gpt-3.5-turbo-16k': 'gpt-3.5-turbo-16k-0613',
  'gpt-35-turbo': 'gpt-3.5-turbo',
  gpt4: 'gpt-4',
};

export interface ModelTable {
  /** Canonical id for a name or alias, or undefined. */
  canonical(name: string): string | undefined;
  providersFor(model: string): Provider[];
  list(): ModelInfo[];
  ids(): string[];
}

export function buildModelTable(
  registry: ProviderRegistry,
  routes: Readonly<Record<string, readonly string[]>> = {},
  aliases: Readonly<Record<string, string>> = {},
  modelsOf: (provider: Provider) => readonly string[] = (provider) => provider.models,
): ModelTable {
  const table = new Map<string, string[]>();
  for (const [model, names] of Object.entries(DEFAULT_ROUTES)) {
    const present = names.filter((name) => registry.get(name) !== undefined);
    if (present.length > 0) table.set(model, present);
  }
  // Every provider serves the models it lists, after the default ones.
  for (const provider of registry.list()) {
    for (const model of modelsOf(provider)) {
      const list = table.get(model) ?? [];
      if (!list.some((name) => name.toLowerCase() === provider.name.toLowerCase())) list.push(provider.name);
      table.set(model, list);
    }
  }
  for (const [model, names] of Object.entries(routes)) {
    table.set(
      model,
      names.map((name) => {
        const provider = registry.get(name);
        if (provider === undefined) {
          throw new ConfigError(`models.${model}: unknown provider "${name}" (known: ${registry.names().join(', ')})`);
        }
        return provider.name;
      }),
    );
  }
  const aliasMap = new Map<string, string>();
  for (const [alias, target] of Object.entries({ ...DEFAULT_ALIASES, ...aliases })) {
    if (table.has(target)) aliasMap.set(alias.toLowerCase(), target);
    else if (alias in aliases) throw new ConfigError(`aliases.${alias}: unknown model "${target}"`);
  }
  const lowerIds = new Map([...table.keys()].map((id) => [id.toLowerCase(), id]));

  return {
    canonical(name) {
      if (table.has(name)) return name;
      const lower = name.toLowerCase();
      return lowerIds.get(lower) ?? aliasMap.get(lower);
    },
    providersFor(model) {
      return (table.get(model) ?? []).map((name) => registry.require(name));
    },
    ids: () => [...table.keys()],
    list() {
      return [...table.entries()].map(([id, providers]) => ({
        id,
        aliases: [...aliasMap.entries()].filter(([, target]) => target === id).map(([alias]) => alias),
        providers: [...providers],
        capabilities: modelCapabilities(
          id,
          providers.map((name) => registry.require(name)),
        ),
      }));
    },
  };
}

export function unknownModel(name: string, table: ModelTable): UnknownModelError {
  return new UnknownModelError(name, table.ids());
}

/** The capabilities at least one of a model's providers has for it, in the contract's order. */
function modelCapabilities(model: string, providers: readonly Provider[]): Capability[] {
  const found = new Set<Capability>();
  for (const provider of providers) {
    for (const [name, on] of Object.entries(capabilitiesOf(provider, model))) if (on) found.add(name as Capability);
  }
  return [...found];
}
