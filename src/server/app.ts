/**
 * The request listener: a tiny route table over node:http, auth, CORS, one log line and the
 * metrics of each request, and the count of requests in flight for a graceful shutdown.
 */
import { randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { isG4FError, UnknownModelError, type G4FError, type ProviderAttempt } from '../core/errors.js';
import type { RouteRequest, Router } from '../routing/types.js';
import { expectsContinue, readJsonBodySized, tooLarge } from './body.js';
import { handleChatCompletions, type ChatOutcome } from './chat-completions.js';
import { parseChatRequest } from './chat-request.js';
import { handleEmbeddings } from './embeddings/index.js';
import type { Logger, RequestLogRecord } from './logger.js';
import type { Metrics } from './metrics.js';
import { errorKind, HttpRequestError, shutdownReason, shuttingDown, toOpenAIError } from './openai-errors.js';
import { hostName, hostProblem, requestUrl } from './host-check.js';
import { listModels, findModel, findPinnedModel, listProviders, healthReport } from './listings.js';
import { acceptApiKeyHeader, handleCountTokens, handleMessages, isMessagesPath, messagesErrorFormatter, type MessagesRouteContext } from './messages/index.js';
import { createRouteTable, type RouteCall } from './route-table.js';
import { createRequestSignals } from './request-signals.js';
import { createResponsesDoor } from './responses/door.js';
import type { ResponseStore } from '../store/response-store.js';
import type { WebHandler } from './web-api.js';
import type { KeysHook } from './admin/index.js';

export type { WebHandler } from './web-api.js';

export interface AppOptions {
  router: Router;
  logger: Logger;
  metrics: Metrics;
  authorize: (request: IncomingMessage) => boolean;
  keysRequired: boolean;
  /** Allowed browser origins (`*` for any); empty: no CORS headers at all. */
  corsOrigins: readonly string[];
  bodyLimitBytes: number;
  /** The body limit of a chat request that carries images (larger). */
  imageBodyLimitBytes: number;
  /** Put the request's messages in its log line. */
  logMessages: boolean;
  /** The page's routes (`/api`) and files: everything outside `/v1`, `/health` and `/metrics`. */
  web?: WebHandler;
  /** Whether a request's Host header names this server (see host-check.ts); default: any. */
  hostAllowed?: (host: string | undefined) => boolean;
  /** Requests whose failures must not count against the providers' health (demo fault prompts). */
  healthExempt?: (messages: RouteRequest['messages']) => boolean;
  /** Where `/v1/responses` keeps stored responses. */
  responseStore: ResponseStore;
  /** Named keys with limits, and `/admin/keys` (admin/index.ts). */
  keys?: KeysHook;
}

export interface App {
  listener(request: IncomingMessage, response: ServerResponse): void;
  /** Requests being answered now. */
  inFlight(): number;
  /** Resolves when no request is in flight. */
  whenIdle(): Promise<void>;
  /** From now on every answer says `connection: close`. */
  startClosing(): void;
  /**
   * Ends every answer in flight now (the shutdown deadline): upstream calls are aborted, and
   * each answer ends with a `server_shutting_down` error (an error event for a stream).
   */
  cutInFlight(): void;
}

const CORS_EXPOSED = 'x-g4f-provider, x-request-id, retry-after, retry-after-ms, x-should-retry';

interface RequestState extends ChatOutcome {
  /** The route's name in metrics and the log: a table row's, or `preflight`, `host_rejected`, `not_found`. */
  route: string;
  error?: unknown;
  messages?: unknown;
  /** Aborts the request's upstream call when the client goes away (made by `upstreamSignal`). */
  controller?: AbortController;
  /** The error shape of the route's API (Anthropic's on /v1/messages); default OpenAI's. */
  formatError?: (error: unknown) => { status: number; body: unknown; headers?: Record<string, string> };
}

/**
 * Request ids: a random prefix per server and a counter, 32 hex digits in all (unique without
 * a call to the random source per request).
 */
function createIdSource(): () => string {
  const prefix = randomBytes(8).toString('hex');
  let counter = 0;
  return () => {
    counter += 1;
    return prefix + counter.toString(16).padStart(16, '0');
  };
}

export function createApp(options: AppOptions): App {
  const { router, logger, metrics } = options;
  const corsAny = options.corsOrigins.includes('*');
  const corsOrigins = new Set(options.corsOrigins);
  const startedAtSeconds = Math.floor(Date.now() / 1000);
  let active = 0;
  let closing = false;
  let idleWaiters: Array<() => void> = [];
  const nextId = createIdSource();
  // A key is taken from Anthropic's x-api-key header too.
  const authorize = acceptApiKeyHeader(options.authorize);
  const inFlightStates = new Set<RequestState>();
  const signals = createRequestSignals();
  const responses = createResponsesDoor({
    router,
    metrics,
    bodyLimitBytes: options.bodyLimitBytes,
    imageBodyLimitBytes: options.imageBodyLimitBytes,
    logMessages: options.logMessages,
    keysRequired: options.keysRequired,
    store: options.responseStore,
    ...(options.healthExempt === undefined ? {} : { healthExempt: options.healthExempt }),
  });

  function corsOrigin(request: IncomingMessage): string | undefined {
    if (corsOrigins.size === 0) return undefined;
    const origin = request.headers.origin;
    if (origin === undefined) return undefined;
    return corsAny || corsOrigins.has(origin) ? origin : undefined;
  }

  function sendJson(response: ServerResponse, status: number, headers: Record<string, string>, value: unknown): void {
    const body = JSON.stringify(value);
    response.writeHead(status, {
      ...headers,
      // The page's API answers with its charset spelled out (its error formatter says so).
      'content-type': headers['content-type'] ?? 'application/json',
      'content-length': Buffer.byteLength(body),
      'x-content-type-options': 'nosniff',
    });
    response.end(body);
  }

  function sendError(response: ServerResponse, headers: Record<string, string>, error: unknown, state: RequestState): void {
    state.error = error;
    if (response.destroyed || response.headersSent) {
      if (!response.writableEnded) response.destroy();
      return;
    }
    const mapped = (state.formatError ?? toOpenAIError)(shutdownReason(state.controller?.signal) ?? error);
    try {
      sendJson(response, mapped.status, mapped.headers === undefined ? headers : { ...headers, ...mapped.headers }, mapped.body);
    } catch (failure) {
      // Nothing sensible can be written (e.g. a header refused by node:http): drop the connection.
      state.error = failure;
      response.destroy();
    }
  }

  function finished(request: IncomingMessage, response: ServerResponse, path: string, id: string, startedAt: number, state: RequestState): void {
    active -= 1;
    inFlightStates.delete(state);
    if (active === 0 && idleWaiters.length > 0) {
      const waiters = idleWaiters;
      idleWaiters = [];
      for (const resolve of waiters) resolve();
    }
    const completed = response.writableFinished;
    const status = completed ? response.statusCode : 499;
    const latencyMs = Math.round((performance.now() - startedAt) * 10) / 10;
    const failure = state.streamError ?? state.error ?? (completed ? undefined : 'client_closed');
    const kind = failure === undefined ? undefined : failure === 'client_closed' ? 'client_closed' : errorKind(failure);
    const upstream =
      state.route === 'chat' || state.route === 'embeddings' || state.route === 'messages' || state.route === 'responses'
        ? upstreamFailures(state.attempts, failure)
        : undefined;
    if (upstream !== undefined) for (const item of upstream) metrics.upstreamError(item.provider, item.kind);
    metrics.request({
      route: state.route,
      provider: state.provider,
      status,
      errorKind: kind,
      durationMs: latencyMs,
      stream: state.stream === true,
      key: options.keys?.keyName(request),
    });
    const record: RequestLogRecord = { event: 'request', id, method: request.method ?? '', path, status, latencyMs };
    if (state.model !== undefined) record.model = state.model;
    if (state.provider !== undefined) record.provider = state.provider;
    if (state.stream !== undefined) record.stream = state.stream;
    if (state.usage !== undefined) record.tokens = state.usage;
    if (kind !== undefined) record.error = kind;
    // Which upstream failed and how, never what it said (its text may quote the conversation).
    if (upstream !== undefined) record.upstream = upstream;
    if (options.logMessages && failure instanceof Error) record.errorMessage = failure.message;
    if (state.messages !== undefined) record.messages = state.messages;
    const level = status >= 500 && status !== 499 ? 'error' : 'info';
    if (logger.logRequest !== undefined) logger.logRequest(level, record);
    else logger.log(level, record);
  }

  async function chat({ request, response, headers, id, startedAt, state, upstreamSignal }: RouteCall<RequestState>): Promise<void> {
    const limit = Math.max(options.bodyLimitBytes, options.imageBodyLimitBytes);
    const body = await readJsonBodySized(request, limit, response);
    const parsed = parseChatRequest(body.value, { imageBytes: options.imageBodyLimitBytes });
    // Only a request with images may use the larger limit.
    if (body.bytes > options.bodyLimitBytes && !parsed.hasImages) throw tooLarge(options.bodyLimitBytes);
    if (options.healthExempt?.(parsed.request.messages) === true) parsed.request.healthExempt = true;
    if (options.logMessages) state.messages = parsed.request.messages;
    await handleChatCompletions(
      response,
      parsed,
      {
        router,
        metrics,
        baseHeaders: headers,
        signal: upstreamSignal(),
        startedAt,
        completionId: `chatcmpl-${id}`,
      },
      state,
    );
  }

  const { bodyLimitBytes, imageBodyLimitBytes, logMessages, healthExempt } = options;
  const messagesContext = (call: RouteCall<RequestState>): MessagesRouteContext => ({
    router,
    metrics,
    headers: call.headers,
    id: call.id,
    startedAt: call.startedAt,
    bodyLimitBytes,
    imageBodyLimitBytes,
    logMessages,
    healthExempt,
    upstreamSignal: call.upstreamSignal,
  });

  function model(call: RouteCall<RequestState>): void {
    const modelId = decodePath(call.params.id ?? '');
    if (modelId === '') throw new HttpRequestError(404, 'Name a model: GET /v1/models/{model}, or GET /v1/models for the list.', { code: 'unknown_url' });
    const found = findModel(router, modelId, startedAtSeconds) ?? findPinnedModel(router, modelId, startedAtSeconds);
    if (found === undefined)
      throw new UnknownModelError(
        modelId,
        router.listModels().map((item) => item.id),
      );
    sendJson(call.response, 200, call.headers, found);
  }

  function prometheus({ request, response, headers }: RouteCall<RequestState>): void {
    if (!authorize(request)) throw unauthorized();
    const text = metrics.render();
    response.writeHead(200, { ...headers, 'content-type': 'text/plain; version=0.0.4; charset=utf-8', 'content-length': Buffer.byteLength(text) });
    response.end(text);
  }

  /** Every route of the server: the doors, the listings, health and metrics, then the page's API. A new door is one row. */
  const table = createRouteTable<RequestState>([
    { method: 'POST', path: '/v1/chat/completions', name: 'chat', handle: chat },
    {
      method: 'POST',
      path: '/v1/embeddings',
      name: 'embeddings',
      handle: (call) =>
        handleEmbeddings(
          call.request,
          call.response,
          { router, headers: call.headers, bodyLimitBytes, logMessages, upstreamSignal: call.upstreamSignal },
          call.state,
        ),
    },
    {
      method: 'POST',
      path: '/v1/messages',
      name: 'messages',
      handle: (call) => handleMessages(call.request, call.response, messagesContext(call), call.state),
    },
    {
      method: 'POST',
      path: '/v1/messages/count_tokens',
      name: 'count_tokens',
      handle: (call) => handleCountTokens(call.request, call.response, messagesContext(call), call.state),
    },
    { method: 'POST', path: '/v1/responses', name: 'responses', handle: responses.create },
    { method: 'GET', path: '/v1/responses/:id', name: 'responses', handle: responses.retrieve },
    { method: 'DELETE', path: '/v1/responses/:id', name: 'responses', handle: responses.remove },
    { method: 'POST', path: '/v1/responses/:id/cancel', name: 'responses', handle: responses.cancel },
    { method: 'GET', path: '/v1/models', name: 'models', handle: (call) => sendJson(call.response, 200, call.headers, listModels(router, startedAtSeconds)) },
    // The rest of the path, slashes and all: a pinned id is `Provider/model`, encoded or not.
    { method: 'GET', path: '/v1/models/*id', name: 'model', handle: model },
    { method: 'GET', path: '/v1/providers', name: 'providers', handle: (call) => sendJson(call.response, 200, call.headers, listProviders(router)) },
    { method: 'GET', path: '/health', name: 'health', handle: (call) => sendJson(call.response, 200, call.headers, healthReport(router)) },
    { method: 'GET', path: '/metrics', name: 'metrics', handle: prometheus },
    ...(options.web?.routes ?? []),
  ]);

  async function route(
    request: IncomingMessage,
    response: ServerResponse,
    rawPath: string,
    query: string,
    headers: Record<string, string>,
    id: string,
    startedAt: number,
    state: RequestState,
  ): Promise<void> {
    const method = request.method ?? 'GET';
    const badHost = hostProblem(request.headers.host);
    if (badHost !== undefined) {
      state.route = 'host_rejected';
      throw new HttpRequestError(400, badHost, { code: 'invalid_host' });
    }
    if (options.hostAllowed !== undefined && !options.hostAllowed(request.headers.host)) {
      state.route = 'host_rejected';
      throw new HttpRequestError(
        403,
        `This server does not answer to the host name in the request (${hostName(request.headers.host ?? '')}). ` +
          'Use its address (127.0.0.1 or localhost), or allow the name with G4F_ALLOWED_HOSTS or server.allowedHosts in the config.',
        { type: 'permission_error', code: 'host_not_allowed' },
      );
    }
    const openAI = isOpenAIPath(rawPath);
    // CORS is for the OpenAI API only: the page's `/api` is never granted to another origin.
    if (method === 'OPTIONS' && corsOrigins.size > 0 && openAI) {
      state.route = 'preflight';
      const allowed = headers['access-control-allow-origin'] !== undefined;
      response.writeHead(
        204,
        allowed
          ? {
              ...headers,
              'access-control-allow-methods': 'GET, POST, DELETE, OPTIONS',
              'access-control-allow-headers': request.headers['access-control-request-headers'] ?? 'authorization, content-type',
              'access-control-max-age': '600',
            }
          : headers,
      );
      response.end();
      return;
    }
    // Every `/v1` path needs the key, known or not.
    if (openAI && !authorize(request)) throw unauthorized();
    const { web } = options;
    let path = rawPath;
    // The page's side: its `/api` rows and its files, by the path as a browser resolves it.
    let pageOnly = false;
    if (!openAI && path !== '/health' && path !== '/metrics' && web !== undefined) {
      state.route = 'web';
      path = requestUrl(request.url, request.headers.host).pathname;
      // The page's routes have no key check of their own; each reads its own body within its own limits.
      if (expectsContinue(request)) response.writeContinue();
      for (const [name, value] of Object.entries(headers)) response.setHeader(name, value);
      if (path === '/api' || path.startsWith('/api/')) {
        state.formatError = web.formatError;
        web.guard(request, response, path);
      } else {
        // `/x/../v1/models` resolves to a path of another row: it is no row of the page's, only a file name.
        pageOnly = true;
      }
    }
    const match = pageOnly ? ({ kind: 'none' } as const) : table.match(method, path);
    if (match.kind === 'found') {
      state.route = match.route.name;
      const upstreamSignal = (): AbortSignal => {
        // Aborted or handed back to the connection by the close listener.
        state.controller ??= signals.take(request.socket);
        if (response.destroyed) state.controller.abort();
        return state.controller.signal;
      };
      return match.route.handle({
        request,
        response,
        method,
        path,
        query: new URLSearchParams(query),
        params: match.params,
        headers,
        id,
        startedAt,
        state,
        upstreamSignal,
      });
    }
    if (match.kind === 'method') {
      state.route = match.name;
      throw new HttpRequestError(405, `Method ${method} is not allowed here; use ${match.allow}.`, {
        code: 'method_not_allowed',
        headers: { allow: match.allow },
      });
    }
    if (state.route === 'web' && web !== undefined) {
      // An unknown `/api` route is the page's own 404; any other path may be one of its files.
      if (state.formatError === web.formatError) throw notFound(method, path);
      if (await web.serveFile(path, method, response)) return;
    }
    state.route = 'not_found';
    throw notFound(method, path);
  }

  function listener(request: IncomingMessage, response: ServerResponse): void {
    const startedAt = performance.now();
    const id = nextId();
    active += 1;
    const rawUrl = request.url ?? '/';
    const mark = rawUrl.indexOf('?');
    const path = mark === -1 ? rawUrl : rawUrl.slice(0, mark);
    const query = mark === -1 ? '' : rawUrl.slice(mark + 1);
    const state: RequestState = { route: 'not_found' };
    if (isMessagesPath(path)) state.formatError = messagesErrorFormatter(id);
    inFlightStates.add(state);
    const headers: Record<string, string> = { 'x-request-id': id };
    if (closing) headers.connection = 'close';
    const origin = isOpenAIPath(path) ? corsOrigin(request) : undefined;
    if (origin !== undefined) {
      headers['access-control-allow-origin'] = origin;
      headers.vary = 'origin';
      headers['access-control-expose-headers'] = CORS_EXPOSED;
    }
    response.once('close', () => {
      if (state.controller !== undefined) {
        if (response.writableFinished) signals.release(request.socket, state.controller);
        else state.controller.abort();
      }
      finished(request, response, path, id, startedAt, state);
    });
    const next = (): Promise<void> => route(request, response, path, query, headers, id, startedAt, state);
    (options.keys === undefined ? next() : options.keys.intercept(request, response, path, headers, state, next)).catch((error: unknown) =>
      sendError(response, headers, error, state),
    );
  }

  return {
    listener,
    inFlight: () => active,
    whenIdle: () => (active === 0 ? Promise.resolve() : new Promise((resolve) => idleWaiters.push(resolve))),
    startClosing() {
      closing = true;
    },
    cutInFlight() {
      for (const state of inFlightStates) state.controller?.abort(shuttingDown());
    },
  };
}

interface UpstreamFailure {
  provider: string;
  kind: string;
  status?: number;
}

function describeFailure(provider: string, error: G4FError): UpstreamFailure {
  // A stream cut after it started counts as the kind of what cut it (connection, timeout...).
  const cause = isG4FError(error, 'StreamInterruptedError') && isG4FError(error.cause) ? error.cause : error;
  const failure: UpstreamFailure = { provider, kind: cause.code };
  const status = (cause as { status?: unknown }).status;
  if (typeof status === 'number') failure.status = status;
  return failure;
}

/**
 * Every failed upstream call of a chat request: the providers that failed before the one that
 * answered, each attempt of an all-failed fallback, or the provider whose stream broke.
 */
function upstreamFailures(attempts: readonly ProviderAttempt[] | undefined, failure: unknown): UpstreamFailure[] | undefined {
  if (isG4FError(failure, 'AllProvidersFailedError')) {
    return failure.attempts.length === 0 ? undefined : failure.attempts.map((attempt) => describeFailure(attempt.provider, attempt.error));
  }
  const own = isG4FError(failure) && failure.provider !== undefined && failure.code !== 'aborted' ? failure : undefined;
  if (attempts === undefined && own === undefined) return undefined;
  const list = attempts === undefined ? [] : attempts.map((attempt) => describeFailure(attempt.provider, attempt.error));
  if (own?.provider !== undefined) list.push(describeFailure(own.provider, own));
  return list;
}

/** `/v1` and below: the only routes CORS applies to. */
function isOpenAIPath(path: string): boolean {
  return path === '/v1' || path.startsWith('/v1/');
}

function unauthorized(): HttpRequestError {
  return new HttpRequestError(401, 'Missing or invalid API key: send the header Authorization: Bearer <key>.', {
    type: 'authentication_error',
    code: 'invalid_api_key',
  });
}

function notFound(method: string, path: string): HttpRequestError {
  return new HttpRequestError(404, `Unknown route: ${method} ${path}`, { code: 'unknown_url' });
}

function decodePath(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    throw new HttpRequestError(400, 'The model id in the path is not valid percent-encoding.', { code: 'invalid_path', param: 'model' });
  }
}
