/**
 * The model lists of providers whose upstream lists its models (`"models": "auto"`): each kept
 * until it is older than the provider's refresh interval, then asked again on the next use. A
 * failed listing keeps the last good list (reported through `onError`) and is tried again after
 * at most a minute; it never fails a call.
 */
import type { Provider, ProviderContext } from '../core/spec.js';

/** A failed listing is tried again after this long, or the provider's own interval if shorter. */
const RETRY_FAILED_MS = 60_000;

export type ModelListError = (provider: string, error: unknown) => void;

export interface ModelListings {
  /** Changes whenever a provider's list changes. */
  version(): number;
  /** Whether any provider lists its models. */
  any(): boolean;
  /** The provider's models: its own list, then the ones its upstream listed. */
  modelsOf(provider: Provider): readonly string[];
  /** Starts the listings that are due; resolves when they (and any already running) are done. Never rejects. */
  refresh(): Promise<void>;
}

interface ListingState {
  listed: readonly string[];
  /** When the last listing ended (performance.now()), or undefined before the first. */
  endedAt: number | undefined;
  failed: boolean;
  running: Promise<void> | undefined;
}

export function createModelListings(
  providers: () => readonly Provider[],
  contextOf: (provider: Provider) => ProviderContext,
  onError: ModelListError = () => {},
): ModelListings {
  const states = new Map<string, ListingState>();
  let version = 0;

  function stateOf(provider: Provider): ListingState {
    let state = states.get(provider.name);
    if (state === undefined) {
      state = { listed: [], endedAt: undefined, failed: false, running: undefined };
      states.set(provider.name, state);
    }
    return state;
  }

  function due(provider: Provider, state: ListingState): boolean {
    const listing = provider.modelListing;
    if (listing === undefined || state.running !== undefined) return false;
    if (state.endedAt === undefined) return true;
    const interval = state.failed ? Math.min(listing.refreshMs, RETRY_FAILED_MS) : listing.refreshMs;
    return performance.now() - state.endedAt >= interval;
  }

  function start(provider: Provider, state: ListingState): Promise<void> {
    const listing = provider.modelListing;
    if (listing === undefined) return Promise.resolve();
    const list = async (): Promise<void> => {
      try {
        const context = contextOf(provider);
        // A hosted service without its key would refuse: nothing to ask.
        if (provider.needsAuth && context.apiKey === undefined) return;
        const models = await listing.list(context);
        state.failed = false;
        if (models.length !== state.listed.length || models.some((model, index) => model !== state.listed[index])) {
          state.listed = models;
          version++;
        }
      } catch (error) {
        state.failed = true;
        try {
          onError(provider.name, error);
        } catch {
          // A listener's fault is not the listing's.
        }
      }
    };
    // Cleared in a later turn, always after it is set (a listing may end without awaiting anything).
    const running = list().finally(() => {
      state.endedAt = performance.now();
      state.running = undefined;
    });
    state.running = running;
    return running;
  }

  return {
    version: () => version,
    any: () => providers().some((provider) => provider.modelListing !== undefined),
    modelsOf(provider) {
      const listed = provider.modelListing === undefined ? undefined : states.get(provider.name)?.listed;
      if (listed === undefined || listed.length === 0) return provider.models;
      return [...provider.models, ...listed.filter((model) => !provider.models.includes(model))];
    },
    async refresh() {
      const waits: Promise<void>[] = [];
      for (const provider of providers()) {
        if (provider.modelListing === undefined) continue;
        const state = stateOf(provider);
        if (due(provider, state)) waits.push(start(provider, state));
        else if (state.running !== undefined) waits.push(state.running);
      }
      await Promise.all(waits);
    },
  };
}
