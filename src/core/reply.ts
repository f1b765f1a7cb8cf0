/**
 * An upstream reply read straight from undici's dispatcher: status, headers, and a body read
 * by pulling chunks from a queue the connection fills. No stream object per request (the
 * request path is measured): undici's own `request()` wraps each body in a Readable, and its
 * machinery (events, buffering, the async iterator) cost more than the rest of a streamed relay.
 *
 * The headers timeout is undici's. The idle timer is kept here, on a native timer refreshed by each
 * chunk (undici's body timeout runs on a coarse clock and fires up to a second late), and stopped
 * while the socket is paused for a slow reader. Abort comes from an AbortSignal; backpressure
 * pauses the socket when too much is unread.
 */
import type { Dispatcher } from 'undici';

/** Bytes unread before the socket is paused, and below which it is resumed. */
const HIGH_WATER_BYTES = 256 * 1024;
const LOW_WATER_BYTES = 64 * 1024;

export type ReplyHeaders = Record<string, string | string[] | undefined>;

/** No byte of the body for the idle limit (undici's code for it, so both map alike). */
export class ReplyIdleTimeoutError extends Error {
  readonly code = 'UND_ERR_BODY_TIMEOUT';
  constructor(readonly limitMs: number) {
    super(`no data for ${limitMs} ms`);
    this.name = 'ReplyIdleTimeoutError';
  }
}

/** The reason a reply was cut with `destroy()` and no error of the caller's. */
export class ReplyAbortedError extends Error {
  readonly code = 'UND_ERR_ABORTED';
  constructor() {
    super('Request aborted');
    this.name = 'ReplyAbortedError';
  }
}

/** The body passed the bytes a caller would read whole. */
export class ReplyTooLargeError extends Error {
  readonly code = 'G4F_REPLY_TOO_LARGE';
  constructor(readonly limitBytes: number) {
    super(`reply body larger than ${limitBytes} bytes`);
    this.name = 'ReplyTooLargeError';
  }
}

export interface ReplyBody extends AsyncIterable<Uint8Array> {
  /**
   * The next chunk that has arrived, `null` at the end, or `undefined` when none has yet
   * (then `wait()`). Throws the failure that cut the reply.
   */
  read(): Uint8Array | null | undefined;
  /** Resolves when `read()` has something new: a chunk, the end, or a failure. */
  wait(): Promise<void>;
  /**
   * The whole body as text (UTF-8). Past `maxBytes` (announced or received) the reply is cut,
   * which aborts the request, and this throws ReplyTooLargeError.
   */
  text(maxBytes?: number): Promise<string>;
  /** Stops the reply: the request is aborted unless it already ended. Unread chunks are dropped. */
  destroy(error?: Error): void;
  readonly destroyed: boolean;
}

export interface UpstreamReply {
  statusCode: number;
  headers: ReplyHeaders;
  body: ReplyBody;
}

interface Controller {
  abort(reason: Error): void;
  pause(): void;
  resume(): void;
}

/** A dispatch handler (undici's controller API) that is also the reply's body. */
class ReplyHandler implements ReplyBody, UpstreamReply {
  statusCode = 0;
  headers: ReplyHeaders = {};
  body: ReplyBody = this;
  destroyed = false;

  private controller: Controller | undefined;
  private chunks: Array<Uint8Array | undefined> = [];
  private head = 0;
  private queuedBytes = 0;
  private paused = false;
  private ended = false;
  private failure: Error | undefined;
  private waiter: (() => void) | undefined;
  private waiting: Promise<void> | undefined;
  private started: ((reply: UpstreamReply) => void) | undefined;
  private failedToStart: ((error: unknown) => void) | undefined;
  private signal: AbortSignal | undefined;
  private idleTimer: NodeJS.Timeout | undefined;
  private readonly idleMs: number;

  constructor(resolve: (reply: UpstreamReply) => void, reject: (error: unknown) => void, signal: AbortSignal | undefined, idleMs: number) {
    this.started = resolve;
    this.failedToStart = reject;
    this.idleMs = idleMs;
    if (signal !== undefined) {
      this.signal = signal;
      signal.addEventListener('abort', this.onAbort);
    }
  }

  private readonly onAbort = (): void => {
    const reason = this.signal?.reason as unknown;
    this.destroy(reason instanceof Error ? reason : new ReplyAbortedError());
  };

  private readonly onIdle = (): void => {
    this.idleTimer = undefined;
    this.destroy(new ReplyIdleTimeoutError(this.idleMs));
  };

  private startIdleTimer(): void {
    if (this.idleMs > 0) this.idleTimer = setTimeout(this.onIdle, this.idleMs);
  }

  private stopIdleTimer(): void {
    if (this.idleTimer !== undefined) {
      clearTimeout(this.idleTimer);
      this.idleTimer = undefined;
    }
  }

  private settle(): void {
    this.stopIdleTimer();
    if (this.signal !== undefined) {
      this.signal.removeEventListener('abort', this.onAbort);
      this.signal = undefined;
    }
  }

  private wake(): void {
    const waiter = this.waiter;
    if (waiter !== undefined) {
      this.waiter = undefined;
      this.waiting = undefined;
      waiter();
    }
  }

  // The dispatch handler.

  onRequestStart(controller: Controller): void {
    this.controller = controller;
    if (this.failure !== undefined) controller.abort(this.failure);
  }

  onResponseStart(_controller: Controller, statusCode: number, headers: ReplyHeaders): void {
    if (statusCode < 200) return; // 1xx: informational, the real head follows
    this.statusCode = statusCode;
    this.headers = headers;
    this.startIdleTimer();
    const started = this.started;
    this.started = undefined;
    this.failedToStart = undefined;
    started?.(this);
  }

  onResponseData(controller: Controller, chunk: Uint8Array): void {
    if (this.destroyed) return;
    this.chunks.push(chunk);
    this.queuedBytes += chunk.length;
    if (this.queuedBytes > HIGH_WATER_BYTES && !this.paused) {
      this.paused = true;
      controller.pause();
      // A reader that is behind is not an upstream that is silent.
      this.stopIdleTimer();
    } else this.idleTimer?.refresh();
    this.wake();
  }

  onResponseEnd(): void {
    this.ended = true;
    this.settle();
    this.wake();
  }

  onResponseError(_controller: Controller, error: Error): void {
    this.failure ??= error;
    this.settle();
    const failedToStart = this.failedToStart;
    this.started = undefined;
    this.failedToStart = undefined;
    failedToStart?.(this.failure);
    this.wake();
  }

  // The body.

  read(): Uint8Array | null | undefined {
    if (this.failure !== undefined) throw this.failure;
    if (this.head < this.chunks.length) {
      const chunk = this.chunks[this.head] as Uint8Array;
      this.chunks[this.head] = undefined;
      this.head += 1;
      if (this.head === this.chunks.length) {
        this.chunks.length = 0;
        this.head = 0;
      }
      this.queuedBytes -= chunk.length;
      if (this.paused && this.queuedBytes < LOW_WATER_BYTES) {
        this.paused = false;
        if (!this.ended) this.startIdleTimer();
        this.controller?.resume();
      }
      return chunk;
    }
    return this.ended ? null : undefined;
  }

  wait(): Promise<void> {
    if (this.failure !== undefined || this.ended || this.head < this.chunks.length) return Promise.resolve();
    // Callers waiting at once share one promise: none is left behind.
    this.waiting ??= new Promise((resolve) => {
      this.waiter = resolve;
    });
    return this.waiting;
  }

  async text(maxBytes = Infinity): Promise<string> {
    if (Number(this.headers['content-length']) > maxBytes) this.tooLarge(maxBytes);
    const pieces: Uint8Array[] = [];
    let length = 0;
    for (;;) {
      const chunk = this.read();
      if (chunk === null) break;
      if (chunk === undefined) await this.wait();
      else {
        length += chunk.length;
        if (length > maxBytes) this.tooLarge(maxBytes);
        pieces.push(chunk);
      }
    }
    return Buffer.concat(pieces, length).toString('utf8');
  }

  private tooLarge(maxBytes: number): never {
    const error = new ReplyTooLargeError(maxBytes);
    this.destroy(error);
    throw error;
  }

  /** Leaves the reply ended or failed, so `read()` and `wait()` need no check of their own. */
  destroy(error?: Error): void {
    if (this.destroyed) return;
    this.destroyed = true;
    this.chunks.length = 0;
    this.head = 0;
    this.queuedBytes = 0;
    if (!this.ended && this.failure === undefined) {
      this.failure = error ?? new ReplyAbortedError();
      this.controller?.abort(this.failure);
    }
    this.settle();
    this.wake();
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<Uint8Array> {
    for (;;) {
      const chunk = this.read();
      if (chunk === null) return;
      if (chunk === undefined) await this.wait();
      else yield chunk;
    }
  }
}

/**
 * Sends one request and resolves with the reply once its head has arrived. The idle timer runs
 * from the head on (give undici `bodyTimeout: 0`). Connection and
 * header failures reject; later ones are thrown by the body's `read()`.
 */
export function dispatchReply(
  dispatcher: Dispatcher,
  options: Dispatcher.DispatchOptions,
  signal?: AbortSignal,
  /** Longest silence of the body, ms; 0: none. */
  idleTimeoutMs = 0,
): Promise<UpstreamReply> {
  if (signal?.aborted) {
    const reason = signal.reason as unknown;
    return Promise.reject(reason instanceof Error ? reason : new ReplyAbortedError());
  }
  return new Promise((resolve, reject) => {
    const handler = new ReplyHandler(resolve, reject, signal, idleTimeoutMs);
    dispatcher.dispatch(options, handler as unknown as Dispatcher.DispatchHandler);
  });
}
