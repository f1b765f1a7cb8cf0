/**
 * The one server-sent-events writer of every door: events that arrive together (one upstream
 * read) leave in one write, gathered until the event loop's check phase; a full socket buffer
 * makes the caller wait for `drain` (a reader that stays stalled past a minute is dropped).
 */
import type { ServerResponse } from 'node:http';

/** A writer that waits too long for a slow reader gives up on it. */
const DRAIN_TIMEOUT_MS = 60_000;

export interface SseWriter {
  /** Queues event text for the next write. */
  send(text: string): void;
  /** The queued text not yet written, taken (to end the response with it). */
  take(): string;
  /** While the socket buffer is full: resolves once it drained (or the response closed). */
  blocked(): Promise<void> | undefined;
}

function waitForDrain(response: ServerResponse): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      response.destroy();
      done();
    }, DRAIN_TIMEOUT_MS);
    function done(): void {
      clearTimeout(timer);
      response.off('drain', done);
      response.off('close', done);
      resolve();
    }
    response.on('drain', done);
    response.on('close', done);
  });
}

export function createSseWriter(response: ServerResponse): SseWriter {
  let pending = '';
  let flushScheduled = false;
  let blocked: Promise<void> | undefined;
  const flush = (): void => {
    flushScheduled = false;
    const events = pending;
    pending = '';
    if (events === '' || response.writableEnded || response.destroyed) return;
    if (!response.write(events)) {
      blocked = waitForDrain(response).then(() => {
        blocked = undefined;
      });
    }
  };
  return {
    send(text) {
      pending += text;
      if (!flushScheduled) {
        flushScheduled = true;
        setImmediate(flush);
      }
    },
    take() {
      const events = pending;
      pending = '';
      return events;
    },
    blocked: () => blocked,
  };
}
