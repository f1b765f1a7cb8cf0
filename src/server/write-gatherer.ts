/**
 * The one write-coalescing helper of the server: text added during one turn of the event loop
 * leaves in one write, in the loop's check phase (a write is a system call, and under load many
 * pieces arrive in one turn), or at once past a size. The SSE writer of the doors, the request
 * log and the chat page's event stream gather with it; `waitForDrain` is the backpressure they
 * share.
 */

export interface Gatherer {
  /** Adds text to the next write. */
  add(text: string): void;
  /** Writes what is gathered now (before a write that must come after it). */
  flush(): void;
  /** The gathered text, taken unwritten (to end a response with it). */
  take(): string;
}

export interface GathererOptions {
  /** Write at once when this many characters are gathered; default: only once per turn. */
  flushAtChars?: number;
  /** Write what is gathered when the process exits (a log: its last lines must not be lost). */
  flushOnExit?: boolean;
}

/** Gatherers holding text, written when the process exits (synchronous writes only then). */
const unwritten = new Set<() => void>();
let exitHookAdded = false;

function flushAllOnExit(): void {
  for (const flush of unwritten) flush();
}

/** Gathers text and hands it to `write` once per turn of the event loop. */
export function createGatherer(write: (text: string) => void, options: GathererOptions = {}): Gatherer {
  const flushAtChars = options.flushAtChars ?? Number.POSITIVE_INFINITY;
  const onExit = options.flushOnExit === true;
  if (onExit && !exitHookAdded) {
    exitHookAdded = true;
    process.once('exit', flushAllOnExit);
  }
  let pending = '';
  let scheduled: NodeJS.Immediate | undefined;
  function unschedule(): void {
    if (scheduled !== undefined) {
      clearImmediate(scheduled);
      scheduled = undefined;
      if (onExit) unwritten.delete(flush);
    }
  }
  function flush(): void {
    unschedule();
    if (pending === '') return;
    const text = pending;
    pending = '';
    write(text);
  }
  return {
    add(text) {
      pending += text;
      if (pending.length >= flushAtChars) flush();
      else if (scheduled === undefined) {
        scheduled = setImmediate(flush);
        if (onExit) unwritten.add(flush);
      }
    },
    flush,
    take() {
      unschedule();
      const text = pending;
      pending = '';
      return text;
    },
  };
}

/** What `waitForDrain` needs of a response or stream. */
interface Drainable {
  on(event: 'drain' | 'close', listener: () => void): unknown;
  off(event: 'drain' | 'close', listener: () => void): unknown;
  destroy(): unknown;
}

/**
 * Resolves once a full buffer drained, or the response closed. With `timeoutMs`, a reader that
 * stays stalled that long is dropped (the response destroyed) and it resolves too.
 */
export function waitForDrain(response: Drainable, timeoutMs?: number): Promise<void> {
  return new Promise((resolve) => {
    const timer =
      timeoutMs === undefined
        ? undefined
        : setTimeout(() => {
            response.destroy();
            done();
          }, timeoutMs);
    function done(): void {
      if (timer !== undefined) clearTimeout(timer);
      response.off('drain', done);
      response.off('close', done);
      resolve();
    }
    response.on('drain', done);
    response.on('close', done);
  });
}
