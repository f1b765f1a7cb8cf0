/** What every command gets from the global options, and opening the router they share. */
import { existsSync } from 'node:fs';
import type { Router } from '../routing/types.js';

export interface GlobalOptions {
  /** `--config PATH`; undefined: G4F_CONFIG, then ./g4f.config.json when present. */
  config?: string;
  verbose: boolean;
}

/** The model used when neither `--model` nor the configuration names one. */
export const DEFAULT_MODEL = 'gpt-3.5-turbo';

/** Whether a config file will be read: `--config`, else G4F_CONFIG, else ./g4f.config.json (as `loadConfig` decides). */
export function hasConfigFile(globals: GlobalOptions): boolean {
  const chosen = globals.config ?? process.env.G4F_CONFIG ?? (existsSync('g4f.config.json') ? 'g4f.config.json' : undefined);
  return chosen !== undefined && chosen !== '';
}

/**
 * Loads the configuration, builds a runtime from its settings and the router on it (the library,
 * never the server). Without a config file both are built directly, which spares start-up the
 * config validator (zod) and gives the same router as an empty config.
 */
export async function openRouter(globals: GlobalOptions): Promise<Router> {
  if (!hasConfigFile(globals)) {
    // The router's modules include the runtime's: imported first, they load as one graph. (Imported
    // side by side, the runtime's graph, undici with it, would run while the router's still loads.)
    const { createRouter } = await import('../routing/router.js');
    const { createRuntime } = await import('../core/runtime.js');
    return createRouter({ runtime: createRuntime() });
  }
  const { loadConfig, createRouterFromConfig, settingsFromConfig } = await import('../config.js');
  const { createRuntime } = await import('../core/runtime.js');
  const config = await loadConfig(globals.config);
  return createRouterFromConfig(config, { runtime: createRuntime(settingsFromConfig(config)) });
}
