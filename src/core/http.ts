/**
 * Sending one upstream request with undici's request API, guarded by the
 * timers and the caller's AbortSignal, and mapping every failure to a typed error.
 */
import type { Dispatcher } from 'undici';
import { Agent, createProxyAgent, dispatchRequest } from './undici.js';
import {
  AbortError,
  AuthError,
  ConnectionError,
  G4FError,
  ProviderHttpError,
  RateLimitError,
  TimeoutError,
  isG4FError,
  truncate,
} from './errors.js';
import type { ProviderContext, Timeouts } from './spec.js';
import { parseRetryAfter } from './retry.js';

const dispatchers = new Map<string, Dispatcher>();

/** One pooled dispatcher per (connect timeout, proxy): connections are reused across calls. */
export function getDispatcher(connectTimeoutMs: number, proxy?: string): Dispatcher {
  const key = `${connectTimeoutMs}|${proxy ?? ''}`;
  let dispatcher = dispatchers.get(key);
  if (dispatcher === undefined) {
    const options = { connect: { timeout: connectTimeoutMs }, keepAliveTimeout: 10_000, connections: 256 };
    dispatcher = proxy ? createProxyAgent({ uri: proxy, ...options }) : new Agent(options);
    dispatchers.set(key, dispatcher);
  }
  return dispatcher;
}

/** Closes every pooled connection (tests, shutdown). */
export async function closeDispatchers(): Promise<void> {
  const all = [...dispatchers.values()];
  dispatchers.clear();
  await Promise.all(all.map((dispatcher) => dispatcher.destroy().catch(() => undefined)));
}

/**
 * The life of one upstream call: its AbortController (fed by the caller's
 * signal and by the first-token and total timers) and the error mapping.
 */
export interface CallGuard {
  readonly signal: AbortSignal;
  /** A streaming call (first-token and idle timers) or not (the total timer governs). */
  readonly stream: boolean;
  /** Call when the first text arrives: stops the first-token timer. */
  gotFirstToken(): void;
  /** Map anything thrown while the call ran to a typed error. */
  toError(error: unknown): G4FError;
  dispose(): void;
}

export function createCallGuard(
  provider: string,
  timeouts: Timeouts,
  options: { signal?: AbortSignal | undefined; stream: boolean },
): CallGuard {
  const controller = new AbortController();
  const outer = options.signal;
  const onOuterAbort = (): void => controller.abort(new AbortError(undefined, { provider, cause: outer?.reason }));
  if (outer) {
    if (outer.aborted) onOuterAbort();
    else outer.addEventListener('abort', onOuterAbort, { once: true });
  }
  // A non-streaming answer comes whole: the total timer governs it, not the first-token one.
  let firstTokenTimer: NodeJS.Timeout | undefined = options.stream
    ? setTimeout(() => controller.abort(new TimeoutError('first-token', timeouts.firstToken, { provider })), timeouts.firstToken)
    : undefined;
  const totalTimer: NodeJS.Timeout | undefined = options.stream
    ? undefined
    : setTimeout(() => controller.abort(new TimeoutError('total', timeouts.total, { provider })), timeouts.total);

  return {
    signal: controller.signal,
    stream: options.stream,
    gotFirstToken() {
      if (firstTokenTimer !== undefined) {
        clearTimeout(firstTokenTimer);
        firstTokenTimer = undefined;
      }
    },
    toError(error) {
      if (controller.signal.aborted && isG4FError(controller.signal.reason)) return controller.signal.reason;
      return mapTransportError(error, provider, timeouts, options.stream);
    },
    dispose() {
      if (firstTokenTimer !== undefined) clearTimeout(firstTokenTimer);
      if (totalTimer !== undefined) clearTimeout(totalTimer);
      outer?.removeEventListener('abort', onOuterAbort);
    },
  };
}

function mapTransportError(error: unknown, provider: string, timeouts: Timeouts, stream: boolean): G4FError {
  if (isG4FError(error)) return error;
  const code = (error as { code?: unknown } | null)?.code;
  const message = error instanceof Error ? error.message : String(error);
  switch (code) {
    case 'UND_ERR_CONNECT_TIMEOUT':
      return new TimeoutError('connect', timeouts.connect, { provider, cause: error });
    case 'UND_ERR_HEADERS_TIMEOUT':
      return stream
        ? new TimeoutError('first-token', timeouts.firstToken, { provider, cause: error })
        : new TimeoutError('total', timeouts.total, { provider, cause: error });
    case 'UND_ERR_BODY_TIMEOUT':
      return new TimeoutError('idle', timeouts.idle, { provider, cause: error });
    case 'UND_ERR_ABORTED':
    case 'ABORT_ERR':
      return new AbortError(undefined, { provider, cause: error });
    default:
      return new ConnectionError(`${provider} connection failed: ${code ? `${String(code)} ` : ''}${message}`, {
        provider,
        cause: error,
      });
  }
}

export interface PostOptions {
  provider: string;
  url: string;
  headers: Record<string, string>;
  body: string;
  context: ProviderContext;
  guard: CallGuard;
}

/**
 * POST with undici's request API. The body timeout is the idle timer; headers must come before
 * the first-token timer (streaming) or the total timer (non-streaming).
 */
export function post(options: PostOptions): Promise<Dispatcher.ResponseData> {
  const { context } = options;
  const url = options.url;
  // Split origin and path by hand: the URL was built from a validated base URL.
  const slash = url.indexOf('/', url.indexOf('//') + 2);
  return dispatchRequest(context.dispatcher ?? getDispatcher(context.timeouts.connect), {
    origin: slash === -1 ? url : url.slice(0, slash),
    path: slash === -1 ? '/' : url.slice(slash),
    method: 'POST',
    headers: options.headers,
    body: options.body,
    signal: options.guard.signal,
    headersTimeout: options.guard.stream ? context.timeouts.firstToken : context.timeouts.total,
    bodyTimeout: context.timeouts.idle,
  });
}

/** Reads at most `limit` bytes of an error body, then drops the rest. */
export async function readErrorBody(body: Dispatcher.ResponseData['body'], limit = 4096): Promise<string> {
  let text = '';
  try {
    for await (const chunk of body) {
      text += Buffer.isBuffer(chunk) ? chunk.toString('utf8') : String(chunk);
      if (text.length >= limit) break;
    }
  } catch {
    // A broken error body still makes an error.
  } finally {
    body.destroy();
  }
  return text;
}

/** One factory maps an error response to the right class. */
export function errorFromResponse(
  provider: string,
  status: number,
  headers: Record<string, string | string[] | undefined>,
  bodyText: string,
): G4FError {
  const body = truncate(bodyText.trim());
  if (status === 429) return new RateLimitError(body, parseRetryAfter(headers), { provider });
  if (status === 401 || status === 403) {
    return new AuthError(`${provider} refused the credentials (HTTP ${status})${body ? `: ${body}` : ''}`, {
      provider,
      status,
    });
  }
  return new ProviderHttpError(status, body, { provider });
}
