/** Wait until a condition holds, re-checked on an event (and optionally on a short poll). */
import type { EventEmitter } from 'node:events';

export interface WaitUntilOptions<T> {
  /** A value when the wait is over, undefined to keep waiting; throwing rejects the wait. */
  check: () => T | undefined;
  timeoutMs: number;
  /** The message of the timeout error. */
  describe: () => string;
  /** Run before each check, also every 10 ms (e.g. to close idle sockets). */
  poll?: () => void;
}

export function waitUntil<T>(events: EventEmitter, event: string, options: WaitUntilOptions<T>): Promise<T> {
  const { check, timeoutMs, describe, poll } = options;
  return new Promise<T>((resolve, reject) => {
    let interval: NodeJS.Timeout | undefined;
    const done = (): void => {
      events.off(event, onChange);
      clearTimeout(timeout);
      if (interval !== undefined) clearInterval(interval);
    };
    function onChange(): void {
      let result: T | undefined;
      try {
        poll?.();
        result = check();
      } catch (error) {
        done();
        reject(error instanceof Error ? error : new Error(String(error)));
        return;
      }
      if (result !== undefined) {
        done();
        resolve(result);
      }
    }
    const timeout = setTimeout(() => {
      done();
      reject(new Error(describe()));
    }, timeoutMs);
    events.on(event, onChange);
    if (poll !== undefined) interval = setInterval(onChange, 10);
    onChange();
  });
}
