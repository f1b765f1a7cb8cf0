/**
 * The one place where any error becomes an OpenAI-shaped answer:
 * `{"error": {"message", "type", "param", "code"}}` with its HTTP status (and headers).
 */
import {
  HttpRequestError,
  isG4FError,
  type AllProvidersFailedError,
  type CircuitOpenError,
  type G4FError,
  type ProviderAttempt,
  type ProviderHttpError,
} from '../core/errors.js';

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

/** The HTTP layer's own refusals are on the error ladder (src/core/errors.ts); mapped here to OpenAI's shape. */
export { HttpRequestError };

/** What answers in flight end with when the server's shutdown deadline passes. */
export function shuttingDown(): HttpRequestError {
  return new HttpRequestError(503, 'The server is shutting down; this answer was cut at its shutdown deadline.', {
    type: 'server_error',
    code: 'server_shutting_down',
  });
}

/** The shutdown error, when that is why `signal` was aborted. */
export function shutdownReason(signal: AbortSignal | undefined): HttpRequestError | undefined {
  const reason: unknown = signal?.aborted === true ? signal.reason : undefined;
  return isG4FError(reason, 'HttpRequestError') && reason.answerCode === 'server_shutting_down' ? reason : undefined;
}

function answer(status: number, message: string, type: string, code: string | null, param: string | null = null): OpenAIError {
  return { status, body: { error: { message, type, param, code } } };
}

/** An upstream's Retry-After passed on is clamped to this: a wait of years helps no client. */
export const MAX_RETRY_AFTER_MS = 10 * 60_000;

function retryAfterHeaders(milliseconds: number): Record<string, string> {
  const wait = Number.isFinite(milliseconds) ? Math.min(MAX_RETRY_AFTER_MS, Math.max(0, Math.round(milliseconds))) : MAX_RETRY_AFTER_MS;
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
  if (isG4FError(error, 'HttpRequestError')) {
    const mapped = answer(error.status, error.message, error.type, error.answerCode, error.param);
    if (error.headers !== undefined) mapped.headers = error.headers;
    return mapped;
  }
  if (!isG4FError(error)) return answer(500, 'The server had an error while processing your request.', 'server_error', 'internal_error');
  const mapped = fromG4FError(error);
  // The server has already retried and fallen back: an SDK retrying on top only multiplies the load.
  if (mapped.status === 429 || mapped.status >= 500) mapped.headers = { ...mapped.headers, 'x-should-retry': 'false' };
  return mapped;
}

function fromG4FError(error: G4FError): OpenAIError {
  if (isG4FError(error, 'InvalidRequestError')) return answer(400, error.message, 'invalid_request_error', 'invalid_request', error.param ?? null);
  if (isG4FError(error, 'UnknownModelError')) return answer(404, error.message, 'invalid_request_error', 'model_not_found', 'model');
  if (isG4FError(error, 'UnknownProviderError')) return answer(400, error.message, 'invalid_request_error', 'unknown_provider', 'provider');
  if (isG4FError(error, 'UnsupportedError')) return answer(400, error.message, 'invalid_request_error', 'unsupported', error.param ?? null);
  if (isG4FError(error, 'ConfigError')) return answer(500, error.message, 'server_error', 'config');
  if (isG4FError(error, 'AbortError')) return answer(499, error.message, 'invalid_request_error', 'aborted');
  if (isG4FError(error, 'TimeoutError')) return answer(504, error.message, 'timeout_error', 'timeout');
  if (isG4FError(error, 'RateLimitError')) return rateLimited(error.message, error.retryAfterMs);
  if (isG4FError(error, 'CircuitOpenError')) return circuitOpen(error.message, error.retryInMs);
  if (isG4FError(error, 'StreamInterruptedError')) return answer(502, error.message, 'upstream_error', 'stream_interrupted');
  if (isG4FError(error, 'AllProvidersFailedError')) return fromAllFailed(error);
  if (error.code === 'internal') return answer(500, error.message, 'server_error', 'internal_error');
  const refusal = clientRefusal(error);
  if (refusal !== undefined) return fromRefusal(refusal);
  // Upstream failures of one provider: HTTP status, auth refused, connection, parse, model not found,
  // a reply past its limits (`upstream_response_too_large`).
  return answer(502, error.message, 'upstream_error', error.code);
}

function rateLimited(message: string, retryAfterMs: number | undefined): OpenAIError {
  const mapped = answer(429, message, 'rate_limit_error', 'rate_limit_exceeded');
  if (retryAfterMs !== undefined) mapped.headers = retryAfterHeaders(retryAfterMs);
  return mapped;
}

function circuitOpen(message: string, retryInMs: number | undefined): OpenAIError {
  const mapped = answer(503, message, 'server_error', 'circuit_open');
  if (retryInMs !== undefined) mapped.headers = retryAfterHeaders(retryInMs);
  return mapped;
}

/**
 * 4xx statuses that do not blame the client's request: our credentials (401, 403, 407), our
 * endpoint or wire format (404, 405, 415), transient (408, 409) and rate limits (429).
 */
const NOT_THE_CLIENT = new Set([401, 403, 404, 405, 407, 408, 409, 415, 429]);

/** An upstream status that says the request itself is at fault (the same request fails anywhere). */
function isClientStatus(status: number): boolean {
  return status >= 400 && status < 500 && !NOT_THE_CLIENT.has(status);
}

function clientRefusal(error: G4FError): ProviderHttpError | undefined {
  return isG4FError(error, 'ProviderHttpError') && isClientStatus(error.status) ? error : undefined;
}

function stringField(value: Record<string, unknown>, key: string): string | undefined {
  const field = value[key];
  return typeof field === 'string' && field !== '' ? field : undefined;
}

/**
 * The upstream's own reason for refusing a request, from its (already redacted, truncated) body:
 * OpenAI's `{"error": {message, type, param, code}}`, `{"error": "..."}` or `{"message": "..."}`.
 */
function fromRefusal(error: ProviderHttpError): OpenAIError {
  let message: string | undefined;
  let type: string | undefined;
  let param: string | undefined;
  let code: string | undefined;
  const text = error.body;
  if (text.startsWith('{')) {
    try {
      const parsed = JSON.parse(text) as unknown;
      if (typeof parsed === 'object' && parsed !== null) {
        const record = parsed as Record<string, unknown>;
        const inner = record.error;
        if (typeof inner === 'string') message = inner;
        else if (typeof inner === 'object' && inner !== null) {
          const details = inner as Record<string, unknown>;
          message = stringField(details, 'message');
          type = stringField(details, 'type');
          param = stringField(details, 'param');
          code = stringField(details, 'code');
        } else message = stringField(record, 'message') ?? stringField(record, 'detail');
      }
    } catch {
      // A truncated or non-JSON body: the error's own message says it.
    }
  }
  const provider = error.provider ?? 'The upstream';
  return answer(
    error.status,
    message === undefined ? error.message : `${provider} refused the request (HTTP ${error.status}): ${message}`,
    type ?? 'invalid_request_error',
    code ?? 'upstream_refused',
    param ?? null,
  );
}

function smallest(values: ReadonlyArray<number | undefined>): number | undefined {
  let least: number | undefined;
  for (const value of values) if (value !== undefined && (least === undefined || value < least)) least = value;
  return least;
}

function fromAllFailed(error: AllProvidersFailedError): OpenAIError {
  const attempts = error.attempts;
  const every = (check: (attempt: ProviderAttempt) => boolean): boolean => attempts.length > 0 && attempts.every(check);
  let mapped: OpenAIError;
  const refusals = attempts.map((attempt) => clientRefusal(attempt.error));
  const firstRefusal = refusals[0];
  if (firstRefusal !== undefined && refusals.every((refusal) => refusal !== undefined)) {
    // Every upstream refused the request itself (e.g. 400 for max_tokens): the client's error, not ours.
    mapped = fromRefusal(firstRefusal);
  } else if (every((attempt) => attempt.error.code === 'unsupported')) {
    // Every provider refused what the request asks before sending it: the request's doing.
    const first = attempts[0]?.error as { message: string; param?: string } | undefined;
    mapped = answer(400, `${error.message}`, 'invalid_request_error', 'unsupported', first?.param ?? null);
  } else if (every((attempt) => attempt.error.code === 'internal')) {
    mapped = answer(500, error.message, 'server_error', 'internal_error');
  } else if (every((attempt) => isG4FError(attempt.error, 'TimeoutError'))) {
    mapped = answer(504, error.message, 'timeout_error', 'timeout');
  } else if (every((attempt) => isG4FError(attempt.error, 'UpstreamResponseTooLargeError'))) {
    mapped = answer(502, error.message, 'upstream_error', 'upstream_response_too_large');
  } else if (every((attempt) => isG4FError(attempt.error, 'CircuitOpenError'))) {
    mapped = circuitOpen(error.message, smallest(attempts.map((attempt) => (attempt.error as CircuitOpenError).retryInMs)));
  } else if (every((attempt) => isG4FError(attempt.error, 'RateLimitError') || isG4FError(attempt.error, 'CircuitOpenError'))) {
    // Rate limits, possibly with circuits opened by earlier ones: wait for whichever frees first.
    const waits = attempts.map((attempt) =>
      isG4FError(attempt.error, 'RateLimitError')
        ? attempt.error.retryAfterMs
        : isG4FError(attempt.error, 'CircuitOpenError')
          ? attempt.error.retryInMs
          : undefined,
    );
    mapped = rateLimited(error.message, smallest(waits));
  } else {
    mapped = answer(502, error.message, 'upstream_error', 'all_providers_failed');
  }
  mapped.body.error.attempts = attempts.map(summarize);
  return mapped;
}

/** The kind of an error for metrics and logs (`invalid_request`, `timeout`, `http_413`...). */
export function errorKind(error: unknown): string {
  if (isG4FError(error, 'HttpRequestError')) return error.answerCode ?? `http_${error.status}`;
  if (isG4FError(error)) return error.code;
  return 'internal';
}
