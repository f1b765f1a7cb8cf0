/**
 * One Lockchat and one OpenAI-compatible emulator with the demo answer: what `g4f serve --demo`
 * and the benchmarks start in-process.
 */
import type { Emulator, Plan } from './plan.js';
import { createEmulator } from './upstream.js';

export interface StartEmulatorsOptions {
  /** Default `127.0.0.1`. */
  host?: string;
  /** Ports of the two emulators (default 0 = free ports). */
  lockchatPort?: number;
  openaiPort?: number;
  /**
   * Delay between two chunks of the demo answer, so that it visibly streams (default 20 ms).
   * Benchmarks pass 0.
   */
  chunkDelayMs?: number;
  /** Keep the requests in `emulator.requests` (default false: the demo server runs for long). */
  recordRequests?: boolean;
  /** Replace the default plan entirely (default `{ reply: 'demo', chunkDelayMs }`). */
  plan?: Plan;
}

export interface StartedEmulators {
  /** Speaks Lockchat: `POST {url}/v1/chat/completions?auth=…`. */
  lockchat: Emulator;
  /** Speaks OpenAI / Mishalsgpt: `POST {url}/v1/chat/completions`, `POST {url}/api/openai/v1/chat/completions`. */
  openai: Emulator;
  /** Close both. */
  close(): Promise<void>;
}

/** Start both emulators with the demo default plan. */
export async function startEmulators(options: StartEmulatorsOptions = {}): Promise<StartedEmulators> {
  const host = options.host ?? '127.0.0.1';
  const defaultPlan: Plan = options.plan ?? { reply: 'demo', chunkDelayMs: options.chunkDelayMs ?? 20 };
  const recordRequests = options.recordRequests ?? false;
  const lockchat = await createEmulator({ protocol: 'lockchat', host, port: options.lockchatPort ?? 0, defaultPlan, recordRequests });
  let openai: Emulator;
  try {
    openai = await createEmulator({ protocol: 'openai', host, port: options.openaiPort ?? 0, defaultPlan, recordRequests });
  } catch (error) {
    await lockchat.close();
    throw error;
  }
  return {
    lockchat,
    openai,
    close: async () => {
      await Promise.all([lockchat.close(), openai.close()]);
    },
  };
}
