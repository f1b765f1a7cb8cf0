/**
 * Sending one upstream request with undici's request API, guarded by the
 * timers and the caller's AbortSignal, and mapping every failure to a typed error.
 */
import type { Dispatcher } from 'undici';
import { Agent, createProxyAgent, globalDispatcher } from './undici.js';
import { dispatchReply, type ReplyBody, type ReplyTooLargeError, type UpstreamReply } from './reply.js';
import {
  AbortError,
  AuthError,
  ConnectionError,
  type G4FError,
  ProviderHttpError,
  RateLimitError,
  TimeoutError,
  UpstreamResponseTooLargeError,
  isG4FError,
  redactSecrets,
  truncate,
} from './errors.js';
import type { ProviderContext, Timeouts } from './spec.js';
import { parseRetryAfter } from './retry.js';

/** Pooled dispatchers, one per (connect timeout, proxy): connections are reused across calls. */
export interface DispatcherPool {
  get(connectTimeoutMs: number, proxy?: string): Dispatcher;
  /** Closes every pooled connection; a later `get` opens a new dispatcher. */
  close(): Promise<void>;
}

export function createDispatcherPool(): DispatcherPool {
  const dispatchers = new Map<string, Dispatcher>();
  return {
    get(connectTimeoutMs, proxy) {
      const key = `${connectTimeoutMs}|${proxy ?? ''}`;
      let dispatcher = dispatchers.get(key);
      if (dispatcher === undefined) {
        const options = { connect: { timeout: connectTimeoutMs }, keepAliveTimeout: 10_000, connections: 256 };
        dispatcher = proxy ? createProxyAgent({ uri: proxy, ...options }) : new Agent(options);
        dispatchers.set(key, dispatcher);
      }
      return dispatcher;
    },
    async close() {
      const all = [...dispatchers.values()];
      dispatchers.clear();
      await Promise.all(all.map((dispatcher) => dispatcher.destroy().catch(() => undefined)));
    },
  };
}

/**
 * The life of one upstream call: the caller's signal, the first-token and total
 * timers, and the error mapping. No AbortController of its own (the request path
 * is measured): undici gets the caller's signal, headers are bounded by undici's
 * headersTimeout, and a timer that fires once the reply has started destroys
 * the reply's body with the TimeoutError.
 */
export interface CallGuard {
  /** The caller's signal, for undici and for sleeps between attempts. */
  readonly signal: AbortSignal | undefined;
  /** A streaming call (first-token and idle timers) or not (the total timer governs). */
  readonly stream: boolean;
  /** The reply has started: a timer that fires from now on destroys this body. */
  attach(body: ReplyBody): void;
  /** Call when the first text arrives: stops the first-token timer. */
  gotFirstToken(): void;
  /** Throws the TimeoutError if a timer already fired (between attempts). */
  check(): void;
  /** Map anything thrown while the call ran to a typed error. */
  toError(error: unknown): G4FError;
  dispose(): void;
}

export function createCallGuard(provider: string, timeouts: Timeouts, options: { signal?: AbortSignal | undefined; stream: boolean }): CallGuard {
  const signal = options.signal;
  let body: ReplyBody | undefined;
  let expired: TimeoutError | undefined;
  // A non-streaming answer comes whole: the total timer governs it, not the first-token one.
  // The error is made only when the timer fires (an Error's stack trace is not cheap).
  const phase = options.stream ? 'first-token' : 'total';
  const limit = options.stream ? timeouts.firstToken : timeouts.total;
  const expire = (): void => {
    expired = new TimeoutError(phase, limit, { provider });
    body?.destroy(expired);
  };
  let timer: NodeJS.Timeout | undefined = setTimeout(expire, limit);

  return {
    signal,
    stream: options.stream,
    attach(attached) {
      body = attached;
      if (expired !== undefined) attached.destroy(expired);
    },
    gotFirstToken() {
      if (options.stream && timer !== undefined) {
        clearTimeout(timer);
        timer = undefined;
      }
    },
    check() {
      if (expired !== undefined) throw expired;
    },
    toError(error) {
      if (signal?.aborted) return isG4FError(error, 'AbortError') ? error : new AbortError(undefined, { provider, cause: signal.reason });
      if (expired !== undefined) return expired;
      return mapTransportError(error, provider, timeouts, options.stream);
    },
    dispose() {
      if (timer !== undefined) clearTimeout(timer);
      body = undefined;
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
    case 'G4F_REPLY_TOO_LARGE':
      return new UpstreamResponseTooLargeError('body', (error as ReplyTooLargeError).limitBytes, { provider, cause: error });
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
 * POST through undici's dispatcher. Headers must come before the first-token timer (streaming) or
 * the total timer (non-streaming); then the body may not be silent longer than the idle timer.
 */
export async function post(options: PostOptions): Promise<UpstreamReply> {
  const { context, guard } = options;
  const url = options.url;
  // Split origin and path by hand: the URL was built from a validated base URL.
  const slash = url.indexOf('/', url.indexOf('//') + 2);
  const dispatchOptions: Dispatcher.DispatchOptions = {
    origin: slash === -1 ? url : url.slice(0, slash),
    path: slash === -1 ? '/' : url.slice(slash),
    method: 'POST',
    headers: options.headers,
    body: options.body,
    headersTimeout: guard.stream ? context.timeouts.firstToken : context.timeouts.total,
    // The idle timer is the reply's own (precise); undici's runs on a coarse clock.
    bodyTimeout: 0,
  };
  guard.check();
  const reply = await dispatchReply(
    // A context made by hand may carry none: undici's own global dispatcher then.
    (context.dispatcher as Dispatcher | undefined) ?? globalDispatcher(),
    dispatchOptions,
    guard.signal,
    context.timeouts.idle,
  );
  guard.attach(reply.body);
  return reply;
}

/**
 * Reads at most `limit` characters of an error body, then drops the rest. Secrets
 * the upstream may echo (its API key, a token) are replaced with `***`.
 */
export async function readErrorBody(body: ReplyBody, secrets: ReadonlyArray<string | undefined> = [], limit = 4096): Promise<string> {
  const decoder = new TextDecoder();
  let text = '';
  try {
    for await (const chunk of body) {
      text += decoder.decode(chunk, { stream: true });
      if (text.length >= limit) break;
    }
    text += decoder.decode();
  } catch {
    // A broken error body still makes an error.
  } finally {
    body.destroy();
  }
  return redactSecrets(text, secrets);
}

/** One factory maps an error response to the right class. */
export function errorFromResponse(provider: string, status: number, headers: Record<string, string | string[] | undefined>, bodyText: string): G4FError {
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

/**
 * A base URL joined with a path: `http://host/v1?token=X` + `/chat/completions` gives
 * `http://host/v1/chat/completions?token=X`. The base's query parameters come after the path's own.
 */
export function joinUrl(baseUrl: string, path: string): string {
  const query = baseUrl.indexOf('?');
  if (query === -1) return trimSlash(baseUrl) + path;
  const base = trimSlash(baseUrl.slice(0, query));
  const baseQuery = baseUrl.slice(query + 1);
  if (baseQuery === '') return base + path;
  return base + path + (path.includes('?') ? '&' : '?') + baseQuery;
}

function trimSlash(url: string): string {
  return url.endsWith('/') ? url.slice(0, -1) : url;
}

/** The query values of a base URL (and its password): secrets to keep out of errors and logs. */
export function urlSecrets(baseUrl: string): string[] {
  // Only a query or a password holds one: a base URL with neither is not parsed.
  if (!baseUrl.includes('?') && !baseUrl.includes('@')) return [];
  const secrets: string[] = [];
  try {
    const parsed = new URL(baseUrl);
    for (const value of parsed.searchParams.values()) if (value !== '') secrets.push(value);
    if (parsed.password !== '') secrets.push(decodeURIComponent(parsed.password));
  } catch {
    // Not a URL: the request fails with its own error.
  }
  return secrets;
}

/** Header names that carry a credential: their values never belong in a file, an error or a log. */
export const SECRET_HEADER_NAME = /key|token|secret|auth|cookie|password|passwd|credential|session|signature/i;

/** The values of the credential-carrying headers among `headers`, to redact from upstream text. */
export function secretHeaderValues(headers: Record<string, string> | undefined): string[] {
  if (headers === undefined) return [];
  const values: string[] = [];
  for (const [name, value] of Object.entries(headers)) if (SECRET_HEADER_NAME.test(name)) values.push(value);
  return values;
}
