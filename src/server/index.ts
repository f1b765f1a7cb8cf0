/**
 * The OpenAI-compatible HTTP server (`g4f serve`): `startServer` binds it, `createRequestHandler`
 * gives the bare request listener (for embedding in another node:http server).
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createRouterFromConfig, runtimeFromConfig, type G4FConfig } from '../config.js';
import type { Runtime } from '../core/runtime.js';
import type { Router } from '../routing/types.js';
import { createApp, type App, type WebHandler } from './app.js';
import { createAuthorizer, parseApiKeys } from './auth.js';
import { DEFAULT_BODY_LIMIT_BYTES, DEFAULT_IMAGE_BODY_LIMIT_BYTES } from './body.js';
import { isDemoTrigger, startDemo, type Demo } from './demo.js';
import { allowedHostsFrom, createHostCheck, defaultAllowedHosts, isLoopbackAddress, parseAllowedHosts, type AllowedHosts } from './host-check.js';
import { createJsonLogger, silentLogger, type Logger } from './logger.js';
import { createMetrics, type Metrics } from './metrics.js';
import { lazyResponseStore } from './responses/lazy-store.js';
import type { ResponseStore } from '../store/response-store.js';
import type { WebHandlerOptions } from './web-api.js';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { databaseFrom } from '../store/database-url.js';
import type { KeyStore } from '../store/keys.js';
import { createKeysHook } from './admin/index.js';
import { createKeyGate } from './keys/gate.js';
import { createSharedState, redisFrom } from './keys/shared-state.js';

/** A key store opened on first use. */
function lazyKeyStore(open: () => KeyStore): KeyStore {
  let store: KeyStore | undefined;
  const opened = (): KeyStore => (store ??= open());
  return {
    insert: async (record) => opened().insert(record),
    list: async () => opened().list(),
    findByHash: async (hash) => opened().findByHash(hash),
    revoke: async (name) => opened().revoke(name),
    recordUsage: async (entry) => opened().recordUsage(entry),
    usage: async (options) => opened().usage(options),
    close: async () => store?.close(),
  };
}

export { createAuthorizer, parseApiKeys } from './auth.js';
export { toOpenAIError, errorKind, HttpRequestError, type OpenAIError, type OpenAIErrorBody } from './openai-errors.js';
export {
  createJsonLogger,
  createCollectingLogger,
  silentLogger,
  type Logger,
  type LogLevel,
  type LogRecord,
  type RequestLogRecord,
  type CollectingLogger,
} from './logger.js';
export { createMetrics, type Metrics } from './metrics.js';
export { createHostCheck, defaultAllowedHosts, type AllowedHosts } from './host-check.js';
export { startDemo, type Demo, type DemoOptions } from './demo.js';
export type { App, WebHandler } from './app.js';

export const DEFAULT_HOST = '127.0.0.1';
export const DEFAULT_PORT = 1337;
export const DEFAULT_SHUTDOWN_DEADLINE_MS = 10_000;
/** After the deadline: how long answers have to write their shutdown error. */
const SHUTDOWN_GRACE_MS = 1_000;

export interface ServerOptions {
  /** Default 127.0.0.1. Another address without API keys logs a warning. */
  host?: string;
  /** Default 1337; 0 picks a free port. */
  port?: number;
  /** Used to build the router (and its runtime) when none is given, and for the `server` settings. */
  config?: G4FConfig;
  /** Default: one over the config's providers, on `runtime`. */
  router?: Router;
  /**
   * The settings and connection pools to call providers with, when no router is given. Default: one
   * built from the config's settings, closed with the server. A runtime given here is the caller's to close.
   */
  runtime?: Runtime;
  /** Overrides `G4F_API_KEYS` (or the variable named by `config.server.apiKeysEnv`). */
  apiKeys?: string[];
  corsOrigins?: string[];
  /** Default 1 MiB. */
  bodyLimitBytes?: number;
  /** The body limit of a chat request with images; default 20 MiB. */
  imageBodyLimitBytes?: number;
  /** Default: JSON lines on stderr. */
  logger?: Logger;
  /** No log lines at all. */
  quiet?: boolean;
  /** Put messages in the request log lines (default false, or `config.server.logMessages`). */
  logMessages?: boolean;
  /** Start the emulators in-process and route the built-in providers to them. */
  demo?: boolean;
  /** Serve the web page and its API beside the OpenAI API (default true). */
  web?: boolean;
  /** Where the conversation store lives (the web page's, and the Responses API's stored responses). */
  dataDir?: string;
  /** How long `close()` lets answers in flight finish by default (10 s). */
  shutdownDeadlineMs?: number;
  /**
   * Host names requests may use (`*` for any). Default: `G4F_ALLOWED_HOSTS`, then
   * `config.server.allowedHosts`, then loopback names only when bound to a loopback address
   * (against DNS rebinding), any name otherwise. Loopback names are always allowed.
   */
  allowedHosts?: AllowedHosts;
}

export interface RunningServer {
  /** `http://127.0.0.1:1337` */
  url: string;
  port: number;
  host: string;
  server: Server;
  router: Router;
  metrics: Metrics;
  /** The emulators, in demo mode. */
  demo: Demo | undefined;
  /**
   * Stops accepting, lets answers in flight finish up to `deadlineMs`, then drops what is left
   * (which aborts those upstream calls) and resolves. Idempotent.
   */
  close(deadlineMs?: number): Promise<void>;
}

export interface RequestHandlerOptions {
  router: Router;
  logger?: Logger;
  metrics?: Metrics;
  apiKeys?: readonly string[];
  corsOrigins?: readonly string[];
  bodyLimitBytes?: number;
  imageBodyLimitBytes?: number;
  logMessages?: boolean;
  web?: WebHandler;
  /** Host names requests may use; default any (the embedding server decides). */
  allowedHosts?: AllowedHosts;
  /** Where `/v1/responses` keeps stored responses; default in memory (for as long as the process runs). */
  responseStore?: ResponseStore;
}

/** The request listener and its bookkeeping, without binding a socket. */
export function createRequestHandler(options: RequestHandlerOptions): App {
  const keys = options.apiKeys ?? [];
  return createApp({
    router: options.router,
    logger: options.logger ?? silentLogger,
    metrics: options.metrics ?? createMetrics(),
    authorize: createAuthorizer(keys),
    keysRequired: keys.length > 0,
    corsOrigins: options.corsOrigins ?? [],
    bodyLimitBytes: options.bodyLimitBytes ?? DEFAULT_BODY_LIMIT_BYTES,
    imageBodyLimitBytes: options.imageBodyLimitBytes ?? DEFAULT_IMAGE_BODY_LIMIT_BYTES,
    logMessages: options.logMessages ?? false,
    responseStore: options.responseStore ?? lazyResponseStore({ memory: true }),
    ...(options.web === undefined ? {} : { web: options.web }),
    ...(options.allowedHosts === undefined || options.allowedHosts === '*' ? {} : { hostAllowed: createHostCheck(options.allowedHosts) }),
  });
}

function listen(server: Server, port: number, host: string): Promise<AddressInfo> {
  return new Promise((resolve, reject) => {
    const onError = (error: Error): void => {
      server.off('listening', onListening);
      reject(error);
    };
    const onListening = (): void => {
      server.off('error', onError);
      resolve(server.address() as AddressInfo);
    };
    server.once('error', onError);
    server.once('listening', onListening);
    server.listen(port, host);
  });
}

export async function startServer(options: ServerOptions = {}): Promise<RunningServer> {
  const config = options.config ?? {};
  const host = options.host ?? DEFAULT_HOST;
  // Checked first: a malformed URL stops the start with one ConfigError line.
  const database = databaseFrom(config);
  const redisUrl = redisFrom(config);
  const logger = options.quiet === true ? silentLogger : (options.logger ?? createJsonLogger(process.stderr));
  const metrics = createMetrics();
  const shared = await createSharedState(redisUrl, { logger, metrics });
  const demo = options.demo === true ? await startDemo({ host: '127.0.0.1' }) : undefined;
  // A runtime built here is the server's own: closed with it.
  const ownRuntime = options.router === undefined && options.runtime === undefined ? runtimeFromConfig(config) : undefined;
  const runtime = options.runtime ?? ownRuntime;
  const bareRouter =
    options.router ??
    createRouterFromConfig(config, {
      ...(runtime === undefined ? {} : { runtime }),
      ...(shared.circuitShare === undefined ? {} : { circuitShare: shared.circuitShare }),
      extraProviders: demo === undefined ? [] : [demo.agent],
      onModelListError: (provider, error) =>
        logger.log('warn', { event: 'model-list-failed', provider, error: error instanceof Error ? error.message : String(error) }),
    });
  // Demo mode routes the built-in providers to its emulators in this router's runtime, nowhere else.
  demo?.routeBuiltins(bareRouter.runtime);
  // Upstreams that list their models (`"models": "auto"`) are asked at once; /v1/models shows them when they answer.
  void bareRouter.refreshModels();
  const apiKeys = options.apiKeys ?? parseApiKeys(process.env[config.server?.apiKeysEnv ?? 'G4F_API_KEYS']);
  const staticAuthorize = createAuthorizer(apiKeys);
  const storeModule = await import('../store/index.js');
  const location = database === undefined ? (options.dataDir === undefined ? {} : { dataDir: options.dataDir }) : { database };
  const keyStore = lazyKeyStore(() => storeModule.openKeyStore(location));
  const gate = createKeyGate({ staticKeys: apiKeys, keyStore, limiter: shared.limiter, metrics, logger });
  // Named keys are looked for where a database exists already (a server never given one creates no file for it).
  if (database !== undefined || existsSync(join(options.dataDir ?? storeModule.defaultDataDir(), storeModule.DATABASE_FILE))) await gate.start();
  const router = gate.wrapRouter(bareRouter);
  const authorize = (request: IncomingMessage): boolean => gate.admitted(request) || staticAuthorize(request);
  const keys = createKeysHook({ gate, keyStore, adminKey: process.env.G4F_ADMIN_KEY });
  const webOptions: WebHandlerOptions = {
    router,
    demo: demo !== undefined,
    authorize: staticAuthorize as (request: IncomingMessage) => boolean,
    keysRequired: apiKeys.length > 0,
    logger,
  };
  if (options.dataDir !== undefined) webOptions.dataDir = options.dataDir;
  if (database !== undefined) webOptions.store = storeModule.openStore({ database });
  let web: WebHandler | undefined;
  try {
    // Loaded only when served: the web page's API opens a conversation store.
    if (options.web !== false) web = (await import('./web-api.js')).createWebHandler(webOptions);
  } catch (error) {
    await shared.close();
    await demo?.close();
    await ownRuntime?.close();
    throw error;
  }
  // Opened on first use, in the conversation database, whether the page is served or not.
  const responseStore = lazyResponseStore(location);
  const allowedHosts =
    options.allowedHosts ??
    parseAllowedHosts(process.env.G4F_ALLOWED_HOSTS) ??
    (config.server?.allowedHosts === undefined ? undefined : allowedHostsFrom(config.server.allowedHosts)) ??
    defaultAllowedHosts(host);
  const app = createApp({
    router,
    logger,
    metrics,
    authorize,
    ...(allowedHosts === '*' ? {} : { hostAllowed: createHostCheck(allowedHosts) }),
    ...(demo === undefined ? {} : { healthExempt: isDemoTrigger }),
    keysRequired: apiKeys.length > 0 || gate.keysRequired(),
    keys,
    corsOrigins: options.corsOrigins ?? config.server?.corsOrigins ?? [],
    bodyLimitBytes: options.bodyLimitBytes ?? config.server?.bodyLimitBytes ?? DEFAULT_BODY_LIMIT_BYTES,
    imageBodyLimitBytes: options.imageBodyLimitBytes ?? config.server?.imageBodyLimitBytes ?? DEFAULT_IMAGE_BODY_LIMIT_BYTES,
    logMessages: options.logMessages ?? config.server?.logMessages ?? false,
    responseStore,
    ...(web === undefined ? {} : { web }),
  });
  const server = createServer({ noDelay: true, keepAliveTimeout: 5_000, headersTimeout: 30_000, requestTimeout: 60_000 }, app.listener);
  // `Expect: 100-continue` is answered by the routes, once the host, key, type and size checks pass.
  server.on('checkContinue', app.listener);
  let address: AddressInfo;
  try {
    address = await listen(server, options.port ?? DEFAULT_PORT, host);
  } catch (error) {
    await web?.close();
    await responseStore.close();
    await gate.close();
    await keyStore.close();
    await shared.close();
    await demo?.close();
    await ownRuntime?.close();
    throw error;
  }
  const urlHost = address.family === 'IPv6' || host.includes(':') ? `[${address.address}]` : host;
  const url = `http://${urlHost}:${address.port}`;
  if (!isLoopbackAddress(host) && apiKeys.length === 0) {
    logger.log('warn', {
      event: 'insecure-bind',
      message: `Listening on ${host} without API keys: anyone who can reach this address can use the server. Set G4F_API_KEYS to require a key.`,
    });
  }
  logger.log('info', { event: 'listening', url, demo: demo !== undefined, keysRequired: apiKeys.length > 0 });

  let closing: Promise<void> | undefined;
  async function shutdown(deadlineMs: number): Promise<void> {
    app.startClosing();
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    server.closeIdleConnections();
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<'deadline'>((resolve) => {
      timer = setTimeout(() => resolve('deadline'), deadlineMs);
    });
    const outcome = await Promise.race([app.whenIdle().then(() => 'idle' as const), deadline]);
    clearTimeout(timer);
    if (outcome === 'deadline') {
      logger.log('warn', { event: 'shutdown-deadline', inFlight: app.inFlight(), deadlineMs });
      // Each answer left gets its error (an event for a stream) before the connections close.
      app.cutInFlight();
      await Promise.race([app.whenIdle(), new Promise<void>((resolve) => setTimeout(resolve, SHUTDOWN_GRACE_MS).unref())]);
    }
    server.closeAllConnections();
    await closed;
    await web?.close();
    await responseStore.close();
    await gate.close();
    await keyStore.close();
    await shared.close();
    await demo?.close();
    await ownRuntime?.close();
    logger.log('info', { event: 'closed' });
  }

  return {
    url,
    port: address.port,
    host,
    server,
    router,
    metrics,
    demo,
    close(deadlineMs = options.shutdownDeadlineMs ?? DEFAULT_SHUTDOWN_DEADLINE_MS) {
      closing ??= shutdown(deadlineMs);
      return closing;
    },
  };
}
