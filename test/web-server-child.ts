/**
 * A server process for the kill-and-restart test: emulated Lockchat (a message containing
 * "slow" gets a long, slowly streamed answer; others an echo), the real server on DATA_DIR.
 * Prints one JSON line `{"url": ...}` on stdout when it listens.
 */
import { createRuntime } from '../src/core/runtime.js';
import { createEmulator, type RecordedRequest } from '../src/emulators/index.js';
import { createRouter } from '../src/routing/index.js';
import { startServer } from '../src/server/index.js';

function lastUser(request: RecordedRequest): string {
  const body = request.body as { messages?: Array<{ role?: string; content?: string }> } | undefined;
  const users = (body?.messages ?? []).filter((message) => message.role === 'user');
  return users.at(-1)?.content ?? '';
}

const dataDir = process.env.DATA_DIR;
if (dataDir === undefined) throw new Error('DATA_DIR is required');
const lockchat = await createEmulator({
  protocol: 'lockchat',
  script: (request) => (lastUser(request).includes('slow') ? { tokens: 5_000, chunkDelayMs: 15 } : {}),
});
const runtime = createRuntime({ providers: { Lockchat: { baseUrl: lockchat.url } } });
const router = createRouter({ runtime, retry: { attempts: 1 } });
const server = await startServer({ port: 0, router, dataDir, quiet: true });
process.stdout.write(`${JSON.stringify({ url: server.url })}\n`);
