/**
 * Writing to stdout when the reader may go away (`g4f ask ... | head -c 10`): an EPIPE
 * stops the output quietly instead of crashing with a stack trace, and aborts whatever
 * is still producing output (through {@link stdoutClosed}).
 *
 * Imported by the entry point, so it stays tiny: no imports beyond node built-ins.
 */
import { once } from 'node:events';

const closedController = new AbortController();

/** Aborted once stdout is closed by its reader (EPIPE) or otherwise broken. */
export const stdoutClosed: AbortSignal = closedController.signal;

let watching = false;

/** Installs the stdout/stderr error handlers. Idempotent. */
export function watchStdout(): void {
  if (watching) return;
  watching = true;
  process.stdout.on('error', () => {
    // EPIPE (the reader closed the pipe) or any other write failure: the output has
    // nowhere to go, so stop producing it.
    if (!closedController.signal.aborted) closedController.abort();
  });
  // A closed stderr must not crash the process either.
  process.stderr.on('error', () => undefined);
}

/** Writes to stdout, waiting for drain under backpressure. False once stdout is closed. */
export async function writeOut(text: string): Promise<boolean> {
  if (stdoutClosed.aborted) return false;
  if (text === '') return true;
  const flushed = process.stdout.write(text);
  if (!flushed && !stdoutClosed.aborted) await waitForDrain();
  return !stdoutClosed.aborted;
}

async function waitForDrain(): Promise<void> {
  try {
    await once(process.stdout, 'drain', { signal: stdoutClosed });
  } catch {
    // Aborted: stdout closed while waiting.
  }
}

/** Resolves when everything written to stdout has been handed to the OS (or stdout closed). */
export async function flushStdout(): Promise<void> {
  if (stdoutClosed.aborted || process.stdout.writableLength === 0) return;
  await waitForDrain();
}
