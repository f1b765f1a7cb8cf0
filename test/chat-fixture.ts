/**
 * Set-up of the tool, image, reasoning and capability tests: emulated OpenAI-compatible
 * upstreams behind one router, the server over a real socket.
 */
import { createRuntime } from '../src/core/runtime.js';
import { createEmulator, type Emulator } from '../src/emulators/index.js';
import { createOpenAICompatibleProvider } from '../src/providers/index.js';
import { createRouter } from '../src/routing/index.js';
import { createCollectingLogger, startServer, type CollectingLogger, type RunningServer } from '../src/server/index.js';

export interface ChatFixture {
  /** `test-model`, first; every capability. */
  alpha: Emulator;
  /** `test-model`, second; every capability. */
  beta: Emulator;
  /** `mixed-model`, second; every capability. */
  gamma: Emulator;
  /** Text only: `mixed-model` first, `text-model` first. */
  plain: Emulator;
  /** Text only: `text-model` second. */
  plain2: Emulator;
  server: RunningServer;
  logger: CollectingLogger;
  url: string;
  /** Every emulator: queue, records, script and default plan back to the start. */
  reset(): void;
  /** Requests every emulator received. */
  upstreamRequests(): number;
  close(): Promise<void>;
}

export async function startChatFixture(): Promise<ChatFixture> {
  const [alpha, beta, gamma, plain, plain2] = await Promise.all([createEmulator(), createEmulator(), createEmulator(), createEmulator(), createEmulator()]);
  const all = [alpha, beta, gamma, plain, plain2];
  const providers = [
    createOpenAICompatibleProvider({ name: 'alpha', url: `${alpha.url}/v1`, models: ['test-model'] }),
    createOpenAICompatibleProvider({ name: 'beta', url: `${beta.url}/v1`, models: ['test-model'] }),
    createOpenAICompatibleProvider({ name: 'gamma', url: `${gamma.url}/v1`, models: ['mixed-model'] }),
    createOpenAICompatibleProvider({ name: 'plain', url: `${plain.url}/v1`, models: ['mixed-model', 'text-model'], capabilities: {} }),
    createOpenAICompatibleProvider({ name: 'plain2', url: `${plain2.url}/v1`, models: ['text-model'], capabilities: {} }),
  ];
  // The fixture's own settings and connections, closed with it.
  const runtime = createRuntime();
  const router = createRouter({
    runtime,
    providers,
    models: { 'test-model': ['alpha', 'beta'], 'mixed-model': ['plain', 'gamma'], 'text-model': ['plain', 'plain2'] },
    retry: { attempts: 1 },
    circuit: { failureThreshold: 1_000_000 },
  });
  const logger = createCollectingLogger();
  const server = await startServer({ port: 0, web: false, router, logger });
  return {
    alpha,
    beta,
    gamma,
    plain,
    plain2,
    server,
    logger,
    url: server.url,
    reset() {
      for (const emulator of all) {
        emulator.reset();
        emulator.setScript(undefined);
        emulator.setDefaultPlan({});
      }
    },
    upstreamRequests: () => all.reduce((count, emulator) => count + emulator.requests.length, 0),
    async close() {
      await server.close(2_000);
      await Promise.all(all.map((emulator) => emulator.close()));
      await runtime.close();
    },
  };
}
