/**
 * The abort signals of the doors' upstream calls. A request's signal is aborted when its client
 * goes away before the answer is complete, or at the shutdown deadline.
 *
 * The requests of one connection share a signal while it stays clean: never aborted, and no
 * listener left on it once the answer finished. They come one after another, and an HTTP/1
 * client can only cancel one by closing the connection, so sharing changes nothing a request
 * sees. It pays on Node 20, where every new AbortSignal costs about 4 µs and leaves a hidden
 * class of its own in the old generation: a fresh signal per request made the collector the
 * largest cost under load (bench/README.md, speed measures).
 */
import { getEventListeners } from 'node:events';
import type { Socket } from 'node:net';

export interface RequestSignals {
  /** A controller for one request: its connection's clean one, or a new one. */
  take(socket: Socket | null): AbortController;
  /** The request's answer finished: its controller serves the connection's next request when it is clean. */
  release(socket: Socket | null, controller: AbortController): void;
}

export function createRequestSignals(): RequestSignals {
  // Held weakly: a closed connection's controller goes with it.
  const clean = new WeakMap<Socket, AbortController>();
  return {
    take(socket) {
      const kept = socket === null ? undefined : clean.get(socket);
      if (socket === null || kept === undefined) return new AbortController();
      clean.delete(socket);
      return kept;
    },
    release(socket, controller) {
      const { signal } = controller;
      if (socket === null || socket.destroyed || signal.aborted || getEventListeners(signal, 'abort').length > 0) return;
      clean.set(socket, controller);
    },
  };
}
