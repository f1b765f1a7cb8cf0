/** The listing answers: `/v1/models` in OpenAI's list shape, `/v1/providers` with health, `/health`. */
import { capabilitiesOf } from '../core/messages.js';
import type { Capability } from '../core/spec.js';
import type { ModelInfo, Router } from '../routing/types.js';

export interface ModelObject {
  id: string;
  object: 'model';
  created: number;
  owned_by: string;
  /** Other names of the model. */
  aliases: string[];
  /** Providers that serve it, in the order they are tried. */
  providers: string[];
  /** What it can do through at least one of them: `tools`, `vision`, …, `embeddings` (it answers /v1/embeddings). */
  capabilities: Capability[];
}

function toModelObject(model: ModelInfo, created: number): ModelObject {
  return {
    id: model.id,
    object: 'model',
    created,
    owned_by: model.providers[0] ?? 'g4f',
    aliases: model.aliases,
    providers: model.providers,
    capabilities: model.capabilities,
  };
}

export function listModels(router: Router, created: number): { object: 'list'; data: ModelObject[] } {
  return { object: 'list', data: router.listModels().map((model) => toModelObject(model, created)) };
}

/** A model by id or alias (case-insensitive as a fallback). */
export function findModel(router: Router, id: string, created: number): ModelObject | undefined {
  const models = router.listModels();
  const exact = models.find((model) => model.id === id || model.aliases.includes(id));
  if (exact !== undefined) return toModelObject(exact, created);
  const lower = id.toLowerCase();
  const loose = models.find((model) => model.id.toLowerCase() === lower || model.aliases.some((alias) => alias.toLowerCase() === lower));
  return loose === undefined ? undefined : toModelObject(loose, created);
}

/** A model pinned to a provider, `Provider/model`, when that provider serves it. */
export function findPinnedModel(router: Router, id: string, created: number): ModelObject | undefined {
  const slash = id.indexOf('/');
  if (slash <= 0) return undefined;
  const providerName = id.slice(0, slash).toLowerCase();
  const provider = router.listProviders().find((item) => item.name.toLowerCase() === providerName);
  if (provider === undefined) return undefined;
  const name = id.slice(slash + 1);
  const known = router.listModels().find((model) => model.id === name || model.aliases.includes(name));
  const served = known === undefined ? provider.models.includes(name) : known.providers.includes(provider.name);
  if (!served) return undefined;
  const model = known?.id ?? name;
  const resolved = router.resolve(model, provider.name).providers[0];
  const capabilities =
    resolved === undefined
      ? []
      : (Object.entries(capabilitiesOf(resolved, model))
          .filter(([, on]) => on)
          .map(([key]) => key) as Capability[]);
  return { id: `${provider.name}/${model}`, object: 'model', created, owned_by: provider.name, aliases: [], providers: [provider.name], capabilities };
}

export function listProviders(router: Router): { object: 'list'; data: ReturnType<Router['listProviders']> } {
  return { object: 'list', data: router.listProviders() };
}

export function healthReport(router: Router): { status: 'ok'; providers: { total: number; available: number; open: string[] } } {
  const providers = router.listProviders();
  const open = providers.filter((provider) => provider.health.state === 'open').map((provider) => provider.name);
  return { status: 'ok', providers: { total: providers.length, available: providers.length - open.length, open } };
}
