/**
 * What the user sees when a command fails: one line on stderr (which providers were
 * tried and why), more detail (causes, stacks) only with `--verbose`; and the exit code.
 */
import { isG4FError, type G4FError } from '../core/errors.js';
import { createStyle } from './style.js';
import { EXIT, UsageError } from './usage-error.js';

const USAGE_ERRORS = new Set(['InvalidRequestError', 'UnknownModelError', 'UnknownProviderError', 'ConfigError', 'UnsupportedError']);

export function exitCodeFor(error: unknown): number {
  if (error instanceof UsageError) return EXIT.usage;
  if (isG4FError(error) && USAGE_ERRORS.has(error.name)) return EXIT.usage;
  return EXIT.failed;
}

/** One line, no trailing newline, without the `g4f:` prefix. */
export function describeFailure(error: unknown): string {
  if (isG4FError(error, 'AllProvidersFailedError')) {
    const model = /^All providers failed for (.*?):/.exec(error.message)?.[1];
    const head = `all providers failed${model === undefined ? '' : ` for ${model}`}`;
    if (error.attempts.length === 0) return `${head}: no provider was available`;
    return `${head}: ${error.attempts.map((attempt) => `${attempt.provider} (${describeReason(attempt.error, attempt.provider)})`).join('; ')}`;
  }
  if (isG4FError(error)) return oneLine(error.message);
  if (error instanceof Error) return oneLine(error.message || error.name);
  return oneLine(String(error));
}

/** Why one provider failed, short: "HTTP 500: upstream exploded", "timed out: no first token within 100 ms". */
export function describeReason(error: G4FError, provider?: string): string {
  let text: string;
  if (isG4FError(error, 'ProviderHttpError')) {
    const detail = upstreamMessage(error.body);
    text = isG4FError(error, 'RateLimitError') ? stripProvider(error.message, provider) : `HTTP ${error.status}`;
    if (detail !== '' && !text.includes(detail)) text += `: ${detail}`;
  } else {
    text = stripProvider(error.message, provider);
  }
  return truncateLine(oneLine(text), 200);
}

/** The `error.message` of an OpenAI-shaped body, else the start of the body. */
function upstreamMessage(body: string): string {
  const trimmed = body.trim();
  if (trimmed === '') return '';
  try {
    const parsed: unknown = JSON.parse(trimmed);
    if (typeof parsed === 'object' && parsed !== null && 'error' in parsed) {
      const inner = (parsed as { error: unknown }).error;
      if (typeof inner === 'string') return inner;
      if (typeof inner === 'object' && inner !== null && 'message' in inner) {
        const message = (inner as { message: unknown }).message;
        if (typeof message === 'string') return message;
      }
    }
  } catch {
    // Not JSON: keep the text.
  }
  return truncateLine(oneLine(trimmed), 120);
}

function stripProvider(message: string, provider: string | undefined): string {
  if (provider === undefined) return message;
  for (const prefix of [`${provider}: `, `${provider} `]) {
    if (message.startsWith(prefix)) return message.slice(prefix.length);
  }
  return message;
}

function oneLine(text: string): string {
  return text.replace(/\s*[\r\n]+\s*/g, ' ').trim();
}

function truncateLine(text: string, limit: number): string {
  return text.length <= limit ? text : `${text.slice(0, limit - 1)}…`;
}

/** The detail shown under `--verbose`: every attempt, cause chains and stacks. */
export function describeFailureVerbose(error: unknown): string {
  const lines: string[] = [];
  const seen = new Set<unknown>();
  const describe = (value: unknown, indent: string): void => {
    if (seen.has(value)) return;
    seen.add(value);
    if (value instanceof Error) {
      const code = isG4FError(value) ? ` [${value.code}]` : '';
      lines.push(`${indent}${value.name}${code}: ${value.message}`);
      if (value.stack !== undefined) {
        for (const line of value.stack.split('\n').slice(1)) lines.push(`${indent}${line.trimEnd()}`);
      }
      if (isG4FError(value, 'AllProvidersFailedError')) {
        for (const attempt of value.attempts) {
          lines.push(`${indent}  attempt: ${attempt.provider}`);
          describe(attempt.error, `${indent}    `);
        }
      }
      if (value.cause !== undefined) {
        lines.push(`${indent}  caused by:`);
        describe(value.cause, `${indent}    `);
      }
    } else {
      lines.push(`${indent}${String(value)}`);
    }
  };
  describe(error, '  ');
  return lines.join('\n');
}

/** Prints the failure to stderr and returns the exit code. */
export function reportFailure(error: unknown, verbose: boolean): number {
  const style = createStyle(process.stderr);
  process.stderr.write(`${style.red('g4f: error:')} ${describeFailure(error)}\n`);
  if (verbose) process.stderr.write(`${style.dim(describeFailureVerbose(error))}\n`);
  return exitCodeFor(error);
}
