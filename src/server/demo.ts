/**
 * Demo mode: the project's upstream emulators run in-process and the built-in providers are
 * pointed at them, so the server answers without any real upstream.
 */
import { configureProvider } from '../core/settings.js';
import { startEmulators, type StartedEmulators } from '../emulators/index.js';

export interface Demo {
  emulators: StartedEmulators;
  close(): Promise<void>;
}

export interface DemoOptions {
  host?: string;
  /** Delay between two chunks of the demo answer (default 20 ms, so it visibly streams). */
  chunkDelayMs?: number;
}

/** Starts the emulators and routes Lockchat and Mishalsgpt to them (process-wide provider settings). */
export async function startDemo(options: DemoOptions = {}): Promise<Demo> {
  const emulators = await startEmulators({
    ...(options.host === undefined ? {} : { host: options.host }),
    ...(options.chunkDelayMs === undefined ? {} : { chunkDelayMs: options.chunkDelayMs }),
  });
  configureProvider('Lockchat', { baseUrl: emulators.lockchat.url });
  configureProvider('Mishalsgpt', { baseUrl: emulators.openai.url });
  return { emulators, close: () => emulators.close() };
}
