/**
 * `g4f serve`: the OpenAI-compatible server and the chat page. Prints the URL; on
 * SIGTERM or SIGINT it closes (letting answers in progress finish, up to a deadline)
 * and exits 0. A second signal exits at once.
 */
import type { GlobalOptions } from './context.js';
import { chooseLogFormat, createHumanLogger, type LogFormat } from './serve-log.js';
import { writeOut } from './stdout.js';
import { createStyle } from './style.js';
import { EXIT } from './usage-error.js';

export interface ServeOptions {
  host: string;
  port: number;
  demo?: boolean;
  dataDir?: string;
  /** `auto` (default): one human line per request on a terminal, JSON lines otherwise. */
  logFormat?: LogFormat;
}

/** How long answers in progress may take to finish on shutdown. */
export const SHUTDOWN_DEADLINE_MS = 10_000;

export async function runServe(options: ServeOptions, globals: GlobalOptions): Promise<number> {
  const [{ startServer, createJsonLogger }, { loadConfig, runtimeFromConfig }] = await Promise.all([import('../server/index.js'), import('../config.js')]);
  const config = await loadConfig(globals.config);
  // The settings, connection pools and health the server calls providers with.
  const runtime = runtimeFromConfig(config);
  const errorStyle = createStyle(process.stderr);
  const logger =
    chooseLogFormat(options.logFormat ?? 'auto', process.stderr) === 'json'
      ? createJsonLogger(process.stderr)
      : createHumanLogger(process.stderr, errorStyle, globals.verbose);
  const server = await startServer({
    host: options.host,
    port: options.port,
    config,
    runtime,
    logger,
    ...(options.demo === true ? { demo: true } : {}),
    ...(options.dataDir === undefined ? {} : { dataDir: options.dataDir }),
  });
  const style = createStyle(process.stdout);
  const mode = server.demo === undefined ? '' : ` ${style.yellow('in demo mode')} (answers come from the built-in demo upstream, not real providers)`;
  await writeOut(`g4f server listening on ${server.url}${mode}\n`);
  const signal = await new Promise<NodeJS.Signals>((resolve) => {
    process.once('SIGTERM', resolve);
    process.once('SIGINT', resolve);
  });
  const again = (): void => process.exit(EXIT.interrupted);
  process.on('SIGTERM', again);
  process.on('SIGINT', again);
  process.stderr.write(`g4f: ${signal}: shutting down\n`);
  await server.close(SHUTDOWN_DEADLINE_MS);
  await runtime.close();
  return EXIT.ok;
}
