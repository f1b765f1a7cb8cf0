/** Reading piped stdin (the prompt, or text appended to it). */
import { UsageError } from './usage-error.js';

/** Maximum piped input accepted, in bytes. */
export const MAX_STDIN_BYTES = 16 * 1024 * 1024;

/**
 * All of stdin as UTF-8 text when it is not a terminal, else undefined.
 * Throws a UsageError when the input is larger than {@link MAX_STDIN_BYTES}.
 */
export async function readPipedStdin(signal?: AbortSignal): Promise<string | undefined> {
  if (process.stdin.isTTY === true) return undefined;
  const parts: Buffer[] = [];
  let size = 0;
  const input = process.stdin;
  const onAbort = (): void => {
    input.destroy();
  };
  signal?.addEventListener('abort', onAbort, { once: true });
  try {
    for await (const part of input) {
      const buffer = typeof part === 'string' ? Buffer.from(part) : (part as Buffer);
      size += buffer.length;
      if (size > MAX_STDIN_BYTES) throw new UsageError(`piped input is larger than ${MAX_STDIN_BYTES / 1024 / 1024} MiB`);
      parts.push(buffer);
    }
  } finally {
    signal?.removeEventListener('abort', onAbort);
  }
  // TextDecoder handles a multi-byte character split across reads (the buffers are joined first).
  return new TextDecoder('utf-8').decode(Buffer.concat(parts));
}

