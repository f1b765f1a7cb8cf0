/**
 * Child process: `g4f serve` as built in dist/, routing `bench-model` to one OpenAI-compatible
 * provider on the emulator at `UPSTREAM_URL`. Logs as the command does (JSON lines on stderr).
 * Prints `{"url": ...}` on stdout once listening.
 */
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

type ServerModule = typeof import('../src/server/index.js');
type PackageModule = typeof import('../src/index.js');
type RoutingModule = typeof import('../src/routing/index.js');

const upstream = process.env.UPSTREAM_URL;
if (upstream === undefined) throw new Error('UPSTREAM_URL is not set');
const root = process.env.G4F_BENCH_ROOT ?? process.cwd();
const load = async <T>(path: string): Promise<T> => (await import(pathToFileURL(join(root, 'dist', path)).href)) as T;

const { startServer } = await load<ServerModule>('server/index.js');
const { createOpenAICompatibleProvider } = await load<PackageModule>('index.js');
const { createRouter } = await load<RoutingModule>('routing/index.js');

const provider = createOpenAICompatibleProvider({ name: 'bench', url: `${upstream}/v1`, models: ['bench-model'] });
const router = createRouter({ providers: [provider], models: { 'bench-model': ['bench'] } });
const quiet = process.env.G4F_BENCH_QUIET === '1';
const running = await startServer({ port: 0, router, web: false, quiet });
process.stdout.write(`${JSON.stringify({ url: running.url })}\n`);

const stop = (): void => {
  void running.close(1_000).finally(() => process.exit(0));
};
process.on('SIGTERM', stop);
process.stdin.on('end', stop);
process.stdin.resume();
