/**
 * The one place where any error becomes an OpenAI-shaped answer:
 * `{"error": {"message", "type", "param", "code"}}` with its HTTP status (and headers).
 */
import { isG4FError, type AllProvidersFailedError, type G4FError, type ProviderAttempt } from '../core/errors.js';

export interface OpenAIErrorBody {
  error: {
    message: string;
    type: string;
    param: string | null;
    code: string | null;
    /** With a 502 / 429 / 504 after fallback: each provider tried, in order. */
    attempts?: AttemptSummary[];
  };
}

export interface AttemptSummary {
  provider: string;
  code: string;
  status?: number;
  message: string;
}

export interface OpenAIError {
  status: number;
  body: OpenAIErrorBody;
  headers?: Record<string, string>;
}

/** An error of the HTTP layer itself (route, auth, body), with its answer spelled out. */
export class HttpRequestError extends Error {
  override readonly name = 'HttpRequestError';
  readonly status: number;
  readonly type: string;
  readonly code: string | null;
  readonly param: string | null;
  readonly headers: Record<string, string> | undefined;
  constructor(
    status: number,
    message: string,
    options: { type?: string; code?: string; param?: string; headers?: Record<string, string> } = {},
  ) {
    super(message);
    this.status = status;
    this.type = options.type ?? 'invalid_request_error';
    this.code = options.code ?? null;
    this.param = options.param ?? null;
    this.headers = options.headers;
  }
}

function answer(status: number, message: string, type: string, code: string | null, param: string | null = null): OpenAIError {
  return { status, body: { error: { message, type, param, code } } };
}

function retryAfterHeaders(milliseconds: number): Record<string, string> {
  const wait = Math.max(0, Math.round(milliseconds));
  return { 'retry-after': String(Math.max(1, Math.ceil(wait / 1000))), 'retry-after-ms': String(wait) };
}

function summarize(attempt: ProviderAttempt): AttemptSummary {
  const summary: AttemptSummary = { provider: attempt.provider, code: attempt.error.code, message: attempt.error.message };
  const status = (attempt.error as { status?: unknown }).status;
  if (typeof status === 'number') summary.status = status;
  return summary;
}

/** Maps any thrown value to the status, OpenAI body and headers to answer with. */
export function toOpenAIError(error: unknown): OpenAIError {
  if (error instanceof HttpRequestError) {
    const mapped = answer(error.status, error.message, error.type, error.code, error.param);
    if (error.headers !== undefined) mapped.headers = error.headers;
    return mapped;
  }
  if (!isG4FError(error)) return answer(500, 'The server had an error while processing your request.', 'server_error', 'internal_error');
  return fromG4FError(error);
}

function fromG4FError(error: G4FError): OpenAIError {
  if (isG4FError(error, 'InvalidRequestError')) return answer(400, error.message, 'invalid_request_error', 'invalid_request', error.param ?? null);
  if (isG4FError(error, 'UnknownModelError')) return answer(404, error.message, 'invalid_request_error', 'model_not_found', 'model');
  if (isG4FError(error, 'UnknownProviderError')) return answer(400, error.message, 'invalid_request_error', 'unknown_provider', 'provider');
  if (isG4FError(error, 'UnsupportedError')) return answer(400, error.message, 'invalid_request_error', 'unsupported');
  if (isG4FError(error, 'ConfigError')) return answer(500, error.message, 'server_error', 'config');
  if (isG4FError(error, 'AbortError')) return answer(499, error.message, 'invalid_request_error', 'aborted');
  if (isG4FError(error, 'TimeoutError')) return answer(504, error.message, 'timeout_error', 'timeout');
  if (isG4FError(error, 'RateLimitError')) {
    const mapped = answer(429, error.message, 'rate_limit_error', 'rate_limit_exceeded');
    mapped.headers = retryAfterHeaders(error.retryAfterMs ?? 1000);
    return mapped;
  }
  if (isG4FError(error, 'CircuitOpenError')) {
    const mapped = answer(503, error.message, 'server_error', 'circuit_open');
    mapped.headers = retryAfterHeaders(error.retryInMs);
    return mapped;
  }
  if (isG4FError(error, 'StreamInterruptedError')) return answer(502, error.message, 'upstream_error', 'stream_interrupted');
  if (isG4FError(error, 'AllProvidersFailedError')) return fromAllFailed(error);
  // Upstream failures of one provider: HTTP status, auth refused, connection, parse, model not found.
  return answer(502, error.message, 'upstream_error', error.code);
}

function fromAllFailed(error: AllProvidersFailedError): OpenAIError {
  const attempts = error.attempts;
  let mapped: OpenAIError;
  const retryAfterMs = error.retryAfterMs;
  if (retryAfterMs !== undefined) {
    mapped = answer(429, error.message, 'rate_limit_error', 'rate_limit_exceeded');
    mapped.headers = retryAfterHeaders(retryAfterMs);
  } else if (attempts.length > 0 && attempts.every((attempt) => isG4FError(attempt.error, 'TimeoutError'))) {
    mapped = answer(504, error.message, 'timeout_error', 'timeout');
  } else if (attempts.length > 0 && attempts.every((attempt) => isG4FError(attempt.error, 'CircuitOpenError'))) {
    mapped = answer(503, error.message, 'server_error', 'circuit_open');
    const waits = attempts.map((attempt) => (attempt.error as { retryInMs?: number }).retryInMs ?? 1000);
    mapped.headers = retryAfterHeaders(Math.min(...waits));
  } else {
    mapped = answer(502, error.message, 'upstream_error', 'all_providers_failed');
  }
  mapped.body.error.attempts = attempts.map(summarize);
  return mapped;
}

/** The kind of an error for metrics and logs (`invalid_request`, `timeout`, `http_413`...). */
export function errorKind(error: unknown): string {
  if (error instanceof HttpRequestError) return error.code ?? `http_${error.status}`;
  if (isG4FError(error)) return error.code;
  return 'internal';
}
