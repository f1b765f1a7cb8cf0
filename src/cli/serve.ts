/**
 * `g4f serve`: the OpenAI-compatible server and the chat page. Prints the URL; on
 * SIGTERM or SIGINT it closes (letting answers in progress finish, up to a deadline)
 * and exits 0. A second signal exits at once.
 */
import type { GlobalOptions } from './context.js';
import { writeOut } from './stdout.js';
import { EXIT } from './usage-error.js';

export interface ServeOptions {
  host: string;
  port: number;
  demo?: boolean;
  dataDir?: string;
}

/** How long answers in progress may take to finish on shutdown. */
export const SHUTDOWN_DEADLINE_MS = 10_000;

export async function runServe(options: ServeOptions, globals: GlobalOptions): Promise<number> {
  const [{ startServer }, { loadConfig }] = await Promise.all([import('../server/index.js'), import('../config.js')]);
  const config = await loadConfig(globals.config);
  // The server logs JSON lines to stderr by default.
  const server = await startServer({
    host: options.host,
    port: options.port,
    config,
    ...(options.demo === true ? { demo: true } : {}),
    ...(options.dataDir === undefined ? {} : { dataDir: options.dataDir }),
  });
  await writeOut(`g4f server listening on ${server.url}\n`);
  const signal = await new Promise<NodeJS.Signals>((resolve) => {
    process.once('SIGTERM', resolve);
    process.once('SIGINT', resolve);
  });
  const again = (): void => process.exit(EXIT.interrupted);
  process.on('SIGTERM', again);
  process.on('SIGINT', again);
  process.stderr.write(`g4f: ${signal}: shutting down\n`);
  await server.close(SHUTDOWN_DEADLINE_MS);
  return EXIT.ok;
}
