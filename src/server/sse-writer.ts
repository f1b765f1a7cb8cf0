/**
 * The one server-sent-events writer of every door: events that arrive together (one upstream
 * read) leave in one write, gathered until the event loop's check phase (write-gatherer.ts); a full
 * socket buffer makes the caller wait for `drain` (a reader that stays stalled past a minute is dropped).
 */
import type { ServerResponse } from 'node:http';
import { createGatherer, waitForDrain } from './write-gatherer.js';

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

export function createSseWriter(response: ServerResponse): SseWriter {
  let blocked: Promise<void> | undefined;
  const gatherer = createGatherer((events) => {
    if (response.writableEnded || response.destroyed) return;
    if (!response.write(events)) {
      blocked = waitForDrain(response, DRAIN_TIMEOUT_MS).then(() => {
        blocked = undefined;
      });
    }
  });
  return {
    send: gatherer.add,
    take: gatherer.take,
    blocked: () => blocked,
  };
}
