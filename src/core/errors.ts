/**
 * One base error with a literal `name` and a `code`; subclasses for each way a
 * call can fail. Type guards check `name`, so they work across duplicate installs.
 */

export type ErrorKind =
  | 'invalid_request'
  | 'unknown_model'
  | 'unknown_provider'
  | 'unsupported'
  | 'auth'
  | 'http_status'
  | 'rate_limit'
  | 'connection'
  | 'timeout'
  | 'aborted'
  | 'stream_parse'
  | 'model_not_found'
  | 'stream_interrupted'
  | 'all_providers_failed'
  | 'config'
  | 'circuit_open'
  | 'empty_answer'
  | 'upstream_response_too_large'
  /** A request the HTTP layer itself refuses (route, method, key, host, body), its answer spelled out. */
  | 'http_request'
  /** A fault of this program, not of the upstream (never counted against a provider's health). */
  | 'internal';

export interface G4FErrorOptions {
  provider?: string;
  cause?: unknown;
}

export class G4FError extends Error {
  override readonly name: string = 'G4FError';
  readonly code: ErrorKind;
  /** The provider this error came from, when one did. */
  readonly provider: string | undefined;
  /** Whether the same request may succeed if tried again (here or elsewhere). */
  readonly retryable: boolean = false;

  constructor(code: ErrorKind, message: string, options: G4FErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.provider = options.provider;
  }

  /** A one-line summary without secrets, for logs and error lists. */
  toJSON(): Record<string, unknown> {
    return { name: this.name, code: this.code, provider: this.provider, message: this.message };
  }
}

export class InvalidRequestError extends G4FError {
  override readonly name = 'InvalidRequestError';
  /** The request field at fault, e.g. `messages[2].role`. */
  readonly param: string | undefined;
  constructor(message: string, param?: string) {
    super('invalid_request', message);
    this.param = param;
  }
}

export class UnknownModelError extends G4FError {
  override readonly name = 'UnknownModelError';
  readonly model: string;
  readonly knownModels: readonly string[];
  constructor(model: string, knownModels: readonly string[]) {
    super('unknown_model', `The model: ${model} does not exist. Known models: ${knownModels.join(', ')}`);
    this.model = model;
    this.knownModels = knownModels;
  }
}

export class UnknownProviderError extends G4FError {
  override readonly name = 'UnknownProviderError';
  constructor(provider: string, knownProviders: readonly string[]) {
    super('unknown_provider', `Unknown provider: ${provider}. Known providers: ${knownProviders.join(', ')}`);
  }
}

export class UnsupportedError extends G4FError {
  override readonly name = 'UnsupportedError';
  /** The request field that asks for what cannot be done, e.g. `tools`. */
  readonly param: string | undefined;
  constructor(message: string, options: G4FErrorOptions & { param?: string } = {}) {
    super('unsupported', message, options);
    this.param = options.param;
  }
}

export class AuthError extends G4FError {
  override readonly name = 'AuthError';
  readonly status: number | undefined;
  constructor(message: string, options: G4FErrorOptions & { status?: number } = {}) {
    super('auth', message, options);
    this.status = options.status;
  }
}

/** The upstream answered with a non-2xx status. */
export class ProviderHttpError extends G4FError {
  override readonly name: string = 'ProviderHttpError';
  readonly status: number;
  /** The start of the response body, truncated. */
  readonly body: string;
  override readonly retryable: boolean;
  constructor(status: number, body: string, options: G4FErrorOptions & { message?: string } = {}) {
    super('http_status', options.message ?? `${options.provider ?? 'Upstream'} answered HTTP ${status}${body ? `: ${body}` : ''}`, options);
    this.status = status;
    this.body = body;
    this.retryable = status === 408 || status === 409 || status === 429 || status >= 500;
  }
}

export class RateLimitError extends ProviderHttpError {
  override readonly name = 'RateLimitError';
  override readonly code = 'rate_limit' as const;
  /** How long the upstream asked us to wait, when it said. */
  readonly retryAfterMs: number | undefined;
  constructor(body: string, retryAfterMs: number | undefined, options: G4FErrorOptions = {}) {
    super(429, body, {
      ...options,
      message: `${options.provider ?? 'Upstream'} is rate-limited (HTTP 429)${retryAfterMs === undefined ? '' : `, retry after ${retryAfterMs} ms`}`,
    });
    this.retryAfterMs = retryAfterMs;
  }
}

export class ConnectionError extends G4FError {
  override readonly name = 'ConnectionError';
  override readonly retryable = true;
  constructor(message: string, options: G4FErrorOptions = {}) {
    super('connection', message, options);
  }
}

export type TimeoutPhase = 'connect' | 'first-token' | 'idle' | 'total';

export class TimeoutError extends G4FError {
  override readonly name = 'TimeoutError';
  override readonly retryable = true;
  readonly phase: TimeoutPhase;
  readonly timeoutMs: number;
  constructor(phase: TimeoutPhase, timeoutMs: number, options: G4FErrorOptions = {}) {
    super('timeout', `${options.provider ?? 'Upstream'} timed out: no ${describePhase(phase)} within ${timeoutMs} ms`, options);
    this.phase = phase;
    this.timeoutMs = timeoutMs;
  }
}

function describePhase(phase: TimeoutPhase): string {
  switch (phase) {
    case 'connect':
      return 'connection';
    case 'first-token':
      return 'first token';
    case 'idle':
      return 'data between chunks';
    case 'total':
      return 'complete answer';
  }
}

export class AbortError extends G4FError {
  override readonly name = 'AbortError';
  constructor(message = 'The request was aborted', options: G4FErrorOptions = {}) {
    super('aborted', message, options);
  }
}

export class StreamParseError extends G4FError {
  override readonly name = 'StreamParseError';
  override readonly retryable = true;
  constructor(message: string, options: G4FErrorOptions = {}) {
    super('stream_parse', message, options);
  }
}

/** The upstream said the model does not exist (after any retries). */
export class ModelNotFoundError extends G4FError {
  override readonly name = 'ModelNotFoundError';
  override readonly retryable = true;
  readonly attempts: number;
  constructor(message: string, attempts: number, options: G4FErrorOptions = {}) {
    super('model_not_found', message, options);
    this.attempts = attempts;
  }
}

/** The stream failed after text had reached the caller: the answer is cut. */
export class StreamInterruptedError extends G4FError {
  override readonly name = 'StreamInterruptedError';
  constructor(cause: unknown, options: G4FErrorOptions = {}) {
    const reason = cause instanceof Error ? cause.message : String(cause);
    super('stream_interrupted', `The answer was cut after it started: ${reason}`, { ...options, cause });
  }
}

/** The upstream answered nothing: no text and no reason (users' old complaint: empty answers shown as real). */
export class EmptyAnswerError extends G4FError {
  override readonly name = 'EmptyAnswerError';
  override readonly retryable = true;
  constructor(provider: string) {
    super('empty_answer', `${provider} returned an empty answer`, { provider });
  }
}

/** What a limit on an upstream's reply bounds: a whole body read at once, one event, one answer's text. */
export type ReplyLimitPart = 'body' | 'event' | 'answer';

/**
 * The upstream's reply passed a limit (settings `limits`): the request was aborted there. The
 * upstream's fault, like a broken stream: it counts against the provider's health.
 */
export class UpstreamResponseTooLargeError extends G4FError {
  override readonly name = 'UpstreamResponseTooLargeError';
  override readonly retryable = true;
  readonly part: ReplyLimitPart;
  /** The limit passed: bytes for a body, characters for an event or an answer. */
  readonly limit: number;
  constructor(part: ReplyLimitPart, limit: number, options: G4FErrorOptions = {}) {
    super('upstream_response_too_large', `${options.provider ?? 'Upstream'} sent ${describePart(part, limit)}; the reply was cut there`, options);
    this.part = part;
    this.limit = limit;
  }
}

function describePart(part: ReplyLimitPart, limit: number): string {
  const count = limit.toLocaleString('en-US');
  switch (part) {
    case 'body':
      return `a reply body larger than ${count} bytes`;
    case 'event':
      return `one event (or line) longer than ${count} characters`;
    case 'answer':
      return `an answer longer than ${count} characters`;
  }
}

export class CircuitOpenError extends G4FError {
  override readonly name = 'CircuitOpenError';
  override readonly retryable = true;
  readonly retryInMs: number;
  constructor(provider: string, retryInMs: number) {
    super('circuit_open', `${provider} is skipped after repeated failures; next probe in ${Math.ceil(retryInMs)} ms`, {
      provider,
    });
    this.retryInMs = retryInMs;
  }
}

export interface ProviderAttempt {
  provider: string;
  error: G4FError;
}

export class AllProvidersFailedError extends G4FError {
  override readonly name = 'AllProvidersFailedError';
  readonly attempts: readonly ProviderAttempt[];
  constructor(model: string, attempts: readonly ProviderAttempt[]) {
    super(
      'all_providers_failed',
      `All providers failed for ${model}: ${
        attempts.length === 0 ? 'no provider was available' : attempts.map((a) => `${a.provider} (${describeAttempt(a.error)})`).join('; ')
      }`,
    );
    this.attempts = attempts;
  }

  /** Every provider failed with a rate limit: the smallest wait any of them asked for. */
  get retryAfterMs(): number | undefined {
    // Rate-limited everywhere (some perhaps skipped by an open circuit after their 429s).
    const limited = this.attempts.filter((a) => isG4FError(a.error, 'RateLimitError'));
    if (limited.length === 0 || !this.attempts.every((a) => a.error.code === 'rate_limit' || a.error.code === 'circuit_open')) {
      return undefined;
    }
    const waits = this.attempts.map((a) => (isG4FError(a.error, 'RateLimitError') ? (a.error.retryAfterMs ?? 1000) : (a.error as CircuitOpenError).retryInMs));
    return Math.max(0, Math.min(...waits));
  }
}

function describeAttempt(error: G4FError): string {
  const status = 'status' in error && typeof error.status === 'number' ? ` ${error.status}` : '';
  return `${error.code}${status}: ${error.message}`;
}

export class ConfigError extends G4FError {
  override readonly name = 'ConfigError';
  constructor(message: string, options: G4FErrorOptions = {}) {
    super('config', message, options);
  }
}

/**
 * A request the server's HTTP layer answers itself (no route, wrong method, missing key, body too
 * large, shutting down…), with its answer spelled out: the status, and the error's `type`, `param`
 * and `code` (`answerCode`) that each door puts in its own error shape.
 */
export class HttpRequestError extends G4FError {
  override readonly name = 'HttpRequestError';
  override readonly code = 'http_request' as const;
  readonly status: number;
  /** The error's `type` in the answer, e.g. `invalid_request_error`. */
  readonly type: string;
  /** The error's `code` in the answer, e.g. `conversation_not_found` (the option `code`). */
  readonly answerCode: string | null;
  readonly param: string | null;
  readonly headers: Record<string, string> | undefined;
  constructor(status: number, message: string, options: { type?: string; code?: string; param?: string; headers?: Record<string, string> } = {}) {
    super('http_request', message);
    this.status = status;
    this.type = options.type ?? 'invalid_request_error';
    this.answerCode = options.code ?? null;
    this.param = options.param ?? null;
    this.headers = options.headers;
  }
}

interface ErrorsByName {
  G4FError: G4FError;
  InvalidRequestError: InvalidRequestError;
  UnknownModelError: UnknownModelError;
  UnknownProviderError: UnknownProviderError;
  UnsupportedError: UnsupportedError;
  AuthError: AuthError;
  ProviderHttpError: ProviderHttpError;
  RateLimitError: RateLimitError;
  ConnectionError: ConnectionError;
  TimeoutError: TimeoutError;
  AbortError: AbortError;
  StreamParseError: StreamParseError;
  ModelNotFoundError: ModelNotFoundError;
  StreamInterruptedError: StreamInterruptedError;
  CircuitOpenError: CircuitOpenError;
  EmptyAnswerError: EmptyAnswerError;
  UpstreamResponseTooLargeError: UpstreamResponseTooLargeError;
  AllProvidersFailedError: AllProvidersFailedError;
  ConfigError: ConfigError;
  HttpRequestError: HttpRequestError;
}

const KINDS: ReadonlySet<string> = new Set<ErrorKind>([
  'invalid_request',
  'unknown_model',
  'unknown_provider',
  'unsupported',
  'auth',
  'http_status',
  'rate_limit',
  'connection',
  'timeout',
  'aborted',
  'stream_parse',
  'model_not_found',
  'stream_interrupted',
  'all_providers_failed',
  'config',
  'circuit_open',
  'empty_answer',
  'upstream_response_too_large',
  'http_request',
]);

/** A guard by `name` and `code`, not `instanceof`, so it works across duplicate installs. */
export function isG4FError(value: unknown): value is G4FError;
export function isG4FError<N extends keyof ErrorsByName>(value: unknown, name: N): value is ErrorsByName[N];
export function isG4FError(value: unknown, name?: string): boolean {
  if (typeof value !== 'object' || value === null) return false;
  const candidate = value as { name?: unknown; code?: unknown };
  if (typeof candidate.code !== 'string' || typeof candidate.name !== 'string' || !KINDS.has(candidate.code)) return false;
  if (name === undefined) return value instanceof Error;
  if (name === 'ProviderHttpError') return candidate.name === 'ProviderHttpError' || candidate.name === 'RateLimitError';
  return candidate.name === name;
}

/** Replaces each secret (API key, token) in upstream text with `***`. */
export function redactSecrets(text: string, secrets: ReadonlyArray<string | undefined>): string {
  let result = text;
  for (const secret of secrets) {
    if (secret !== undefined && secret.length >= 4 && result.includes(secret)) result = result.replaceAll(secret, '***');
  }
  return result;
}

/** Keep at most `limit` characters of an upstream body for an error message. */
export function truncate(text: string, limit = 500): string {
  return text.length <= limit ? text : `${text.slice(0, limit)}…`;
}
