/** What every command gets from the global options, and opening the router they share. */
import type { Router } from '../routing/types.js';

export interface GlobalOptions {
  /** `--config PATH`; undefined: G4F_CONFIG, then ./g4f.config.json when present. */
  config?: string;
  verbose: boolean;
}

/** The model used when neither `--model` nor the configuration names one. */
export const DEFAULT_MODEL = 'gpt-3.5-turbo';

/** Loads the configuration and builds the router from it (the library, never the server). */
export async function openRouter(globals: GlobalOptions): Promise<Router> {
  const { loadConfig, createRouterFromConfig } = await import('../config.js');
  const config = await loadConfig(globals.config);
  return createRouterFromConfig(config);
}
