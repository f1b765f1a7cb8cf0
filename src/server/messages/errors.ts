/**
 * Any error in Anthropic's shape, `{"type": "error", "error": {"type", "message"}, "request_id"}`,
 * with its HTTP status. The status, message and headers (Retry-After, x-should-retry) are the
 * server's one mapping (openai-errors.ts); only the type names and the envelope differ.
 */
import { toOpenAIError, type AttemptSummary } from '../openai-errors.js';

export interface AnthropicErrorBody {
  type: 'error';
  error: {
    type: string;
    message: string;
    /** With a 502 / 429 / 504 after fallback: each provider tried, in order (an addition of this server). */
    attempts?: AttemptSummary[];
  };
  request_id?: string;
}

export interface AnthropicError {
  status: number;
  body: AnthropicErrorBody;
  headers?: Record<string, string>;
}

/** Anthropic's error type for an HTTP status (its documented table; other 4xx are invalid_request_error). */
export function anthropicErrorType(status: number): string {
  switch (status) {
    case 401:
      return 'authentication_error';
    case 403:
      return 'permission_error';
    case 404:
      return 'not_found_error';
    case 413:
      return 'request_too_large';
    case 429:
      return 'rate_limit_error';
    case 529:
      return 'overloaded_error';
    default:
      return status >= 500 ? 'api_error' : 'invalid_request_error';
  }
}

const KEY_HINT = 'Missing or invalid API key: send it in the x-api-key header (or as Authorization: Bearer <key>).';

/**
 * Maps any thrown value to the status, Anthropic body and headers to answer with. A 503 (every
 * circuit open, the server shutting down) is Anthropic's 529 overloaded_error, the status its
 * clients know to wait and retry on.
 */
export function toAnthropicError(error: unknown, requestId?: string): AnthropicError {
  const mapped = toOpenAIError(error);
  const status = mapped.status === 503 ? 529 : mapped.status;
  const source = mapped.body.error;
  const message = source.code === 'invalid_api_key' ? KEY_HINT : source.message;
  const body: AnthropicErrorBody = { type: 'error', error: { type: anthropicErrorType(status), message } };
  if (source.attempts !== undefined) body.error.attempts = source.attempts;
  if (requestId !== undefined) body.request_id = requestId;
  const answer: AnthropicError = { status, body };
  if (mapped.headers !== undefined) answer.headers = mapped.headers;
  return answer;
}
