/**
 * The HTTP skeleton every emulator shares: a node:http server on loopback that records each
 * request (path, query, headers, body), tracks sockets and answers in flight, settles each
 * answer's outcome (completed, aborted, disconnected, closed), gives delays that `close()` cuts
 * short, and the waits tests use. A protocol supplies only how a recorded request is answered.
 */
import { EventEmitter } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { readBody } from './http-io.js';
import type { RecordedRequest, ResponseOutcome, WaitForIdleOptions } from './plan.js';
import { waitUntil } from './wait-until.js';

const DEFAULT_WAIT_MS = 5000;

/** What every emulator records of a request (each protocol adds its plan). */
export type BaseRecord = Omit<RecordedRequest, 'plan'>;

/** State of one answer being written. */
export interface Exchange<R extends BaseRecord> {
  record: R;
  response: ServerResponse;
  /** True once the response closed (finished, aborted or destroyed). */
  gone: boolean;
  /** Resolves when the response closes. */
  closed: Promise<void>;
  /** Set before the emulator destroys the socket on purpose. */
  intended?: ResponseOutcome;
}

export interface EmulatorServerOptions<R extends BaseRecord> {
  /** For messages: `openai`, `anthropic`… */
  protocol: string;
  host: string;
  port: number;
  maxBodyBytes: number;
  /** Keep records in `requests` (default true; off for benchmarks). */
  recordRequests?: boolean;
  /** Answers one request, its record filled in; `raw` is undefined when the body passed `maxBodyBytes`. */
  answer(exchange: Exchange<R>, raw: string | undefined): Promise<void>;
  /** The answer when `answer` fails before the head was sent (after it, the socket is destroyed). */
  failure(response: ServerResponse, error: unknown): void;
}

type RecordEvent = 'request' | 'response-end' | 'aborted';

export interface EmulatorServer<R extends BaseRecord> {
  readonly url: string;
  readonly port: number;
  readonly server: Server;
  /** Every request so far, in arrival order (live array). */
  readonly requests: R[];
  readonly events: EventEmitter;
  /** A delay that `close()` cuts short. */
  sleep(ms: number): Promise<void>;
  /** Write, resolving once the data went to the socket (or the response is gone). */
  write(exchange: Exchange<R>, data: string | Buffer): Promise<void>;
  /** Write without waiting. */
  send(exchange: Exchange<R>, data: string): void;
  /** Write `text` cut at the byte offsets `splitAt` (maybe inside a multi-byte character), `delayMs` between the pieces. */
  writeSplit(exchange: Exchange<R>, text: string, splitAt: readonly number[], delayMs: number): Promise<void>;
  /** Forget the records; answers still in flight are no longer recorded. */
  clearRecords(): void;
  isClosing(): boolean;
  openConnections(): number;
  inFlight(): number;
  closeIdleConnections(): void;
  waitForIdle(timeoutMs?: number, options?: WaitForIdleOptions): Promise<void>;
  waitForAbort(index?: number, timeoutMs?: number): Promise<R>;
  waitForEnd(index: number, timeoutMs?: number): Promise<R>;
  waitForRequests(count: number, timeoutMs?: number): Promise<readonly R[]>;
  on(event: RecordEvent, listener: (record: R) => void): () => void;
  close(): Promise<void>;
}

/** Start the server; it listens before the promise resolves. */
export async function startEmulatorServer<R extends BaseRecord>(options: EmulatorServerOptions<R>): Promise<EmulatorServer<R>> {
  const { host, protocol } = options;
  const recordRequests = options.recordRequests ?? true;
  const events = new EventEmitter();
  events.setMaxListeners(0);
  const requests: R[] = [];
  let generation = 0;
  let closing = false;
  const sockets = new Set<Socket>();
  const exchanges = new Set<Exchange<R>>();
  const timers = new Set<{ timer: NodeJS.Timeout; resolve: () => void }>();

  const sleep = (ms: number): Promise<void> =>
    new Promise((resolve) => {
      const entry = {
        timer: setTimeout(() => {
          timers.delete(entry);
          resolve();
        }, ms),
        resolve,
      };
      timers.add(entry);
    });

  const settle = (exchange: Exchange<R>, outcome: ResponseOutcome): void => {
    const { record } = exchange;
    if (record.outcome !== 'pending') return;
    record.outcome = outcome;
    record.aborted = outcome === 'aborted';
    record.endedAt = Date.now();
    exchanges.delete(exchange);
    if (outcome === 'aborted') events.emit('aborted', record);
    events.emit('response-end', record);
    events.emit('change');
  };

  const server = createServer({ noDelay: true }, (request, response) => {
    handle(request, response).catch((error: unknown) => {
      if (!response.headersSent) options.failure(response, error);
      else response.destroy();
    });
  });

  async function handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const record = {
      index: requests.length,
      chatIndex: -1,
      method: request.method ?? 'GET',
      path: '',
      query: {},
      headers: {},
      body: undefined,
      rawBody: '',
      receivedAt: 0,
      aborted: false,
      outcome: 'pending',
    } as BaseRecord as R;
    let resolveClosed: () => void = () => undefined;
    const exchange: Exchange<R> = { record, response, gone: false, closed: new Promise<void>((resolve) => (resolveClosed = resolve)) };
    const myGeneration = generation;
    exchanges.add(exchange);
    response.on('error', () => undefined);
    response.on('close', () => {
      exchange.gone = true;
      resolveClosed();
      settle(exchange, response.writableFinished ? 'completed' : (exchange.intended ?? (closing ? 'closed' : 'aborted')));
    });
    const url = new URL(request.url ?? '/', 'http://127.0.0.1');
    record.path = url.pathname;
    for (const [name, value] of url.searchParams) record.query[name] = value;
    for (const [name, value] of Object.entries(request.headers)) {
      if (value !== undefined) record.headers[name] = Array.isArray(value) ? value.join(', ') : value;
    }
    const raw = await readBody(request, options.maxBodyBytes);
    record.rawBody = raw ?? '';
    record.receivedAt = Date.now();
    if (!recordRequests) record.index = -1;
    else if (myGeneration === generation) {
      record.index = requests.length;
      requests.push(record);
    }
    await options.answer(exchange, raw);
  }
  server.on('connection', (socket: Socket) => {
    socket.setNoDelay(true);
    sockets.add(socket);
    socket.on('close', () => {
      sockets.delete(socket);
      events.emit('change');
    });
  });
  server.on('clientError', (_error, socket: Socket) => socket.destroy());

  const write = (exchange: Exchange<R>, data: string | Buffer): Promise<void> => {
    if (exchange.gone) return Promise.resolve();
    return new Promise((resolve) => {
      exchange.response.write(data, () => resolve());
      exchange.closed.then(resolve, resolve);
    });
  };

  const waitFor = <T>(check: () => T | undefined, timeoutMs: number, describe: () => string, poll?: () => void): Promise<T> =>
    waitUntil(events, 'change', {
      check,
      timeoutMs,
      describe: () => `Emulator ${protocol} ${base.url}: timed out after ${timeoutMs} ms waiting for ${describe()}`,
      ...(poll === undefined ? {} : { poll }),
    });

  /** Destroy every socket that carries no answer in progress (idle keep-alive or never used). */
  function closeIdleConnections(): void {
    const busy = new Set<unknown>();
    for (const exchange of exchanges) busy.add(exchange.response.socket);
    for (const socket of sockets) if (!busy.has(socket)) socket.destroy();
  }

  const describeInFlight = (): string =>
    [...exchanges].map((exchange) => `#${exchange.record.index} ${exchange.record.method} ${exchange.record.path}`).join(', ') || 'none';

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  let closePromise: Promise<void> | undefined;

  const base: EmulatorServer<R> = {
    url: `http://${host.includes(':') ? `[${host}]` : host}:${port}`,
    port,
    server,
    requests,
    events,
    sleep,
    write,
    send: (exchange, data) => {
      if (!exchange.gone) exchange.response.write(data);
    },
    writeSplit: async (exchange, text, splitAt, delayMs) => {
      const bytes = Buffer.from(text);
      const cuts = [...new Set(splitAt.filter((offset) => offset > 0 && offset < bytes.length))].sort((a, b) => a - b);
      let start = 0;
      for (const cut of [...cuts, bytes.length]) {
        if (exchange.gone) return;
        if (start > 0) await sleep(delayMs);
        if (exchange.gone) return;
        await write(exchange, bytes.subarray(start, cut));
        start = cut;
      }
    },
    clearRecords: () => {
      requests.length = 0;
      generation += 1;
    },
    isClosing: () => closing,
    openConnections: () => sockets.size,
    inFlight: () => exchanges.size,
    closeIdleConnections,
    waitForIdle: (timeoutMs = DEFAULT_WAIT_MS, waitOptions: WaitForIdleOptions = {}) =>
      waitFor(
        () => (exchanges.size === 0 && sockets.size === 0 ? true : undefined),
        timeoutMs,
        () => `idle (in flight: ${describeInFlight()}; open sockets: ${sockets.size})`,
        (waitOptions.closeIdleConnections ?? true) ? closeIdleConnections : undefined,
      ).then(() => undefined),
    waitForAbort: (index, timeoutMs = DEFAULT_WAIT_MS) =>
      waitFor(
        () => {
          if (index === undefined) return requests.find((record) => record.aborted);
          const record = requests[index];
          if (record === undefined || record.outcome === 'pending') return undefined;
          if (record.aborted) return record;
          throw new Error(`Emulator request #${index} ended without an abort (outcome: ${record.outcome})`);
        },
        timeoutMs,
        () => (index === undefined ? 'an aborted request' : `request #${index} to be aborted (in flight: ${describeInFlight()})`),
      ),
    waitForEnd: (index, timeoutMs = DEFAULT_WAIT_MS) =>
      waitFor(
        () => {
          const record = requests[index];
          return record !== undefined && record.outcome !== 'pending' ? record : undefined;
        },
        timeoutMs,
        () => `the end of request #${index} (in flight: ${describeInFlight()})`,
      ),
    waitForRequests: (count, timeoutMs = DEFAULT_WAIT_MS) =>
      waitFor(
        () => (requests.length >= count ? requests : undefined),
        timeoutMs,
        () => `${count} requests (got ${requests.length})`,
      ),
    on: (event, listener) => {
      events.on(event, listener);
      return () => void events.off(event, listener);
    },
    close: () => {
      closePromise ??= (async () => {
        closing = true;
        for (const entry of timers) {
          clearTimeout(entry.timer);
          entry.resolve();
        }
        timers.clear();
        const closed = new Promise<void>((resolve) => server.close(() => resolve()));
        for (const exchange of exchanges) {
          exchange.gone = true;
          exchange.response.destroy();
        }
        server.closeAllConnections();
        for (const socket of sockets) socket.destroy();
        await closed;
      })();
      return closePromise;
    },
  };
  // `request` records must be emitted after a change check too (waitForRequests).
  events.on('request', () => events.emit('change'));
  return base;
}

/** Where the plans of an emulator's chat requests come from: the queue first, then the script, else the default plan. */
export interface PlanOptions<P, R> {
  plans?: readonly P[] | undefined;
  defaultPlan?: P | undefined;
  script?: ((request: R, index: number) => P) | undefined;
}

/**
 * The controls every emulator has: the server's (records, waits, close) and its plans' (queue,
 * default plan, script), `reset` clearing both. `plan(record)` numbers a chat request
 * (`record.chatIndex`) and gives its plan.
 */
export function emulatorControls<P, R extends BaseRecord>(base: EmulatorServer<R>, options: PlanOptions<P, R>, empty: P) {
  const queue: P[] = [...(options.plans ?? [])];
  let defaultPlan = options.defaultPlan ?? empty;
  let script = options.script;
  let chatCount = 0;
  return {
    plan(record: R): P {
      record.chatIndex = chatCount;
      chatCount += 1;
      return queue.shift() ?? (script !== undefined ? script(record, record.chatIndex) : defaultPlan);
    },
    controls: {
      url: base.url,
      port: base.port,
      requests: base.requests,
      server: base.server,
      enqueue: (...plans: P[]): void => void queue.push(...plans),
      queued: (): number => queue.length,
      setDefaultPlan: (plan: P): void => void (defaultPlan = plan),
      setScript: (next: ((request: R, index: number) => P) | undefined): void => void (script = next),
      reset: (): void => {
        queue.length = 0;
        chatCount = 0;
        base.clearRecords();
      },
      openConnections: base.openConnections,
      inFlight: base.inFlight,
      closeIdleConnections: base.closeIdleConnections,
      waitForIdle: base.waitForIdle,
      waitForAbort: base.waitForAbort,
      waitForEnd: base.waitForEnd,
      waitForRequests: base.waitForRequests,
      on: base.on,
      close: base.close,
    },
  };
}
