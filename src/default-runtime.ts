/**
 * The library's default runtime: what `ChatCompletion`, `createCompletion` and the `Client` use
 * when they are given neither a router nor a runtime. Created on first use, with no settings.
 * `configure` and `configureProvider` are conveniences that change this default only; the server,
 * the command line and a router built with its own runtime never read it.
 */
import { createRuntime, type Runtime } from './core/runtime.js';
import type { ProviderSettings, Settings } from './core/settings.js';

let defaultRuntime: Runtime | undefined;

/** The runtime the library's functions use when given none. */
export function getDefaultRuntime(): Runtime {
  defaultRuntime ??= createRuntime();
  return defaultRuntime;
}

/** Replaces the library's default runtime (the previous one is not closed: it is the caller's). */
export function setDefaultRuntime(runtime: Runtime | undefined): void {
  defaultRuntime = runtime;
}

/** Replaces the default runtime's settings. */
export function configure(settings: Settings): void {
  getDefaultRuntime().configure(settings);
}

/** Merges one provider's settings into the default runtime's. */
export function configureProvider(name: string, settings: ProviderSettings): void {
  getDefaultRuntime().configureProvider(name, settings);
}

/** The default runtime's settings. */
export function getSettings(): Readonly<Settings> {
  return getDefaultRuntime().settings;
}

/** Closes the default runtime's pooled connections (a later call opens new ones). */
export async function closeDispatchers(): Promise<void> {
  await defaultRuntime?.close();
}
