/** Reading piped stdin (the prompt, or text appended to it). */
import { fstatSync } from 'node:fs';
import { UsageError } from './usage-error.js';

/** Maximum piped input accepted, in bytes. */
export const MAX_STDIN_BYTES = 16 * 1024 * 1024;

/**
 * How long `g4f ask "prompt"` waits for the first byte of a stdin that is neither a terminal
 * nor a file: a pipe that stays open and silent (a parent process that never closes it) must
 * not hang the command.
 */
export const STDIN_FIRST_BYTE_MS = 250;

export interface ReadStdinOptions {
  /** Destroys stdin and resolves with what had arrived. */
  signal?: AbortSignal;
  /**
   * Give up when no byte has arrived within this time (resolves undefined); once bytes arrive,
   * stdin is read to its end. Undefined: wait for the end however long it takes. Not applied
   * when stdin is a regular file (`< file`), which cannot stay silent.
   */
  firstByteTimeoutMs?: number;
  /**
   * Called once when bytes arrive after `firstByteTimeoutMs` gave up on stdin: they are not
   * read (the caller warns that they were ignored).
   */
  onIgnoredInput?: () => void;
  /** Default `process.stdin`. */
  input?: NodeJS.ReadStream;
}

/**
 * All of stdin as UTF-8 text when it is not a terminal, else undefined (also undefined when
 * nothing arrived within `firstByteTimeoutMs`). Throws a UsageError when the input is larger than
 * {@link MAX_STDIN_BYTES}.
 */
export function readPipedStdin(options: ReadStdinOptions = {}): Promise<string | undefined> {
  const input = options.input ?? process.stdin;
  if (input.isTTY === true) return Promise.resolve(undefined);
  const timeoutMs = isRegularFile(input) ? undefined : options.firstByteTimeoutMs;
  const { signal } = options;
  return new Promise((resolve, reject) => {
    const parts: Buffer[] = [];
    let size = 0;
    let timer: NodeJS.Timeout | undefined;
    const finish = (outcome: { text?: string | undefined; error?: unknown }): void => {
      clearTimeout(timer);
      input.off('data', onData);
      input.off('end', onEnd);
      input.off('error', onError);
      signal?.removeEventListener('abort', onAbort);
      if (outcome.error !== undefined) reject(outcome.error);
      else resolve(outcome.text);
    };
    const text = (): string => new TextDecoder('utf-8').decode(Buffer.concat(parts));
    const onData = (part: Buffer | string): void => {
      clearTimeout(timer);
      const buffer = typeof part === 'string' ? Buffer.from(part) : part;
      size += buffer.length;
      if (size > MAX_STDIN_BYTES) {
        input.destroy();
        finish({ error: new UsageError(`piped input is larger than ${MAX_STDIN_BYTES / 1024 / 1024} MiB`) });
        return;
      }
      parts.push(buffer);
    };
    // TextDecoder handles a multi-byte character split across reads (the buffers are joined first).
    const onEnd = (): void => finish({ text: text() });
    const onError = (error: Error): void => finish({ error });
    const onAbort = (): void => {
      input.destroy();
      finish({ text: text() });
    };
    if (signal?.aborted === true) {
      resolve(undefined);
      return;
    }
    input.on('data', onData);
    input.once('end', onEnd);
    input.once('error', onError);
    signal?.addEventListener('abort', onAbort, { once: true });
    if (timeoutMs !== undefined) {
      timer = setTimeout(() => {
        // Nothing arrived: go on without it (the pipe may stay open forever).
        finish({ text: undefined });
        watchIgnored(input, options.onIgnoredInput);
      }, timeoutMs);
    }
  });
}

/**
 * Stdin given up on: bytes that arrive later are reported (once) and not read. The watch does
 * not keep the process alive.
 */
function watchIgnored(input: NodeJS.ReadStream, onIgnoredInput: (() => void) | undefined): void {
  if (onIgnoredInput === undefined) {
    input.destroy();
    return;
  }
  const stop = (): void => {
    input.off('data', onData);
    input.off('end', stop);
    input.off('error', stop);
    input.destroy();
  };
  const onData = (): void => {
    stop();
    onIgnoredInput();
  };
  input.on('data', onData);
  input.once('end', stop);
  input.once('error', stop);
  (input as { unref?: () => void }).unref?.();
}

function isRegularFile(input: NodeJS.ReadStream): boolean {
  const fd = (input as { fd?: unknown }).fd;
  if (typeof fd !== 'number') return false;
  try {
    return fstatSync(fd).isFile();
  } catch {
    return false;
  }
}
