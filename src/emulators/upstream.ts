/**
 * Emulators of the upstream chat APIs (Lockchat, OpenAI-compatible / Mishalsgpt): real HTTP
 * servers on 127.0.0.1 with per-request fault injection, request recording and connection
 * tracking. Used by tests, benchmarks and `g4f serve --demo`; node:http only.
 */
import { EventEmitter } from 'node:events';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import type {
  Emulator,
  EmulatorEvents,
  EmulatorOptions,
  Plan,
  PlanScript,
  RecordedRequest,
  ResponseOutcome,
  WaitForIdleOptions,
} from './plan.js';
import { scriptEmbeddings } from './embeddings.js';
import { DEFAULT_MODEL, isRecord } from './replies.js';
import { readBody, sendJson } from './http-io.js';
import { waitUntil } from './wait-until.js';
import { openAiError, scriptResponse, type ResponseScript } from './wire.js';

const DEFAULT_WAIT_MS = 5000;
const MAX_BODY_BYTES = 16 * 1024 * 1024;
const DEFAULT_MODELS = [DEFAULT_MODEL, 'gpt-3.5-turbo-16k-0613', 'gpt-4'];

/** State of one answer being written. */
interface Exchange {
  record: RecordedRequest;
  response: ServerResponse;
  /** True once the response closed (finished, aborted or destroyed). */
  gone: boolean;
  /** Resolves when the response closes. */
  closed: Promise<void>;
  /** Set before the emulator destroys the socket on purpose. */
  intended?: ResponseOutcome;
}

/** Start an emulator; it listens before the promise resolves. */
export async function createEmulator(options: EmulatorOptions = {}): Promise<Emulator> {
  const protocol = options.protocol ?? 'openai';
  const host = options.host ?? '127.0.0.1';
  const models = options.models ?? DEFAULT_MODELS;
  const recordRequests = options.recordRequests ?? true;
  const events = new EventEmitter();
  events.setMaxListeners(0);
  const requests: RecordedRequest[] = [];
  const queue: Plan[] = [...(options.plans ?? [])];
  let defaultPlan: Plan = options.defaultPlan ?? {};
  let script: PlanScript | undefined = options.script;
  let chatCount = 0;
  let generation = 0;
  let closing = false;
  const sockets = new Set<Socket>();
  const exchanges = new Set<Exchange>();
  const timers = new Set<{ timer: NodeJS.Timeout; resolve: () => void }>();

  /** A delay that `close()` cuts short. */
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

  const settle = (exchange: Exchange, outcome: ResponseOutcome): void => {
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
      if (!response.headersSent) {
        sendJson(response, 500, { error: { ...openAiError(500), message: `Emulator failure: ${String(error)}` } });
      } else {
        response.destroy();
      }
    });
  });
  server.on('connection', (socket: Socket) => {
    socket.setNoDelay(true);
    sockets.add(socket);
    socket.on('close', () => {
      sockets.delete(socket);
      events.emit('change');
    });
  });
  server.on('clientError', (_error, socket: Socket) => socket.destroy());

  async function handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const record: RecordedRequest = {
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
    };
    let resolveClosed: () => void = () => undefined;
    const exchange: Exchange = {
      record,
      response,
      gone: false,
      closed: new Promise<void>((resolve) => {
        resolveClosed = resolve;
      }),
    };
    const myGeneration = generation;
    exchanges.add(exchange);
    response.on('error', () => undefined);
    response.on('close', () => {
      exchange.gone = true;
      resolveClosed();
      const outcome = response.writableFinished ? 'completed' : (exchange.intended ?? (closing ? 'closed' : 'aborted'));
      settle(exchange, outcome);
    });

    const url = new URL(request.url ?? '/', 'http://127.0.0.1');
    record.path = url.pathname;
    for (const [name, value] of url.searchParams) record.query[name] = value;
    for (const [name, value] of Object.entries(request.headers)) {
      if (value !== undefined) record.headers[name] = Array.isArray(value) ? value.join(', ') : value;
    }
    const raw = await readBody(request, MAX_BODY_BYTES);
    record.rawBody = raw ?? '';
    record.receivedAt = Date.now();
    if (!recordRequests) {
      record.index = -1;
    } else if (myGeneration === generation) {
      record.index = requests.length;
      requests.push(record);
    }
    if (raw === undefined) {
      sendJson(response, 413, { error: { ...openAiError(400), message: 'Request body too large.', code: 'body_too_large' } });
      return;
    }
    let parsed: { ok: true; value: unknown } | { ok: false; message: string } = { ok: true, value: undefined };
    if (raw !== '') {
      try {
        parsed = { ok: true, value: JSON.parse(raw) as unknown };
        record.body = parsed.value;
      } catch (error) {
        parsed = { ok: false, message: error instanceof Error ? error.message : String(error) };
      }
    }

    const route = routeOf(record.method, record.path);
    if (route === 'chat' || route === 'embeddings') {
      if (!parsed.ok || !isRecord(parsed.value)) {
        events.emit('request', record);
        const message = parsed.ok ? 'The request body must be a JSON object.' : `Invalid JSON body: ${parsed.message}`;
        sendJson(response, 400, { error: { message, type: 'invalid_request_error', param: null, code: 'invalid_json' } });
        return;
      }
      record.chatIndex = chatCount;
      chatCount += 1;
      const plan = queue.shift() ?? (script !== undefined ? script(record, record.chatIndex) : defaultPlan);
      record.plan = plan;
      events.emit('request', record);
      if (route === 'embeddings') {
        await play(exchange, plan, scriptEmbeddings(plan, parsed.value));
        return;
      }
      const scripted = scriptResponse(plan, {
        protocol,
        body: parsed.value,
        id: `chatcmpl-emu-${record.chatIndex}`,
        created: Math.floor(record.receivedAt / 1000),
      });
      await play(exchange, plan, scripted);
      return;
    }
    events.emit('request', record);
    if (route === 'models') {
      const created = Math.floor(record.receivedAt / 1000);
      sendJson(response, 200, {
        object: 'list',
        data: models.map((id) => ({ id, object: 'model', created, owned_by: 'g4f-emulator' })),
      });
    } else if (route === 'method') {
      sendJson(response, 405, { error: { ...openAiError(405), message: `Method ${record.method} not allowed on ${record.path}.`, code: 'method_not_allowed' } });
    } else {
      sendJson(response, 404, { error: { ...openAiError(404), message: `Unknown path ${record.path}.` } });
    }
  }

  function routeOf(method: string, path: string): 'chat' | 'embeddings' | 'models' | 'method' | 'unknown' {
    const chatPaths = protocol === 'lockchat' ? ['/v1/chat/completions'] : ['/v1/chat/completions', '/api/openai/v1/chat/completions'];
    if (chatPaths.includes(path)) return method === 'POST' ? 'chat' : 'method';
    if (protocol === 'openai' && (path === '/v1/embeddings' || path === '/api/openai/v1/embeddings')) {
      return method === 'POST' ? 'embeddings' : 'method';
    }
    if (protocol === 'openai' && (path === '/v1/models' || path === '/api/openai/v1/models')) {
      return method === 'GET' ? 'models' : 'method';
    }
    return 'unknown';
  }

  /** Execute a response script. */
  async function play(exchange: Exchange, plan: Plan, scripted: ResponseScript): Promise<void> {
    const { response } = exchange;
    if ((plan.headerDelayMs ?? 0) > 0) await sleep(plan.headerDelayMs ?? 0);
    if (exchange.gone) return;
    response.writeHead(scripted.status, scripted.headers);
    const firstDelay = plan.firstChunkDelayMs ?? 0;
    const chunkDelay = plan.chunkDelayMs ?? 0;
    const { ending } = scripted;

    if (plan.splitAt !== undefined) {
      const bytes = Buffer.from(scripted.head + scripted.units.join('') + scripted.tail);
      const cuts = [...new Set(plan.splitAt.filter((offset) => offset > 0 && offset < bytes.length))].sort((a, b) => a - b);
      let start = 0;
      for (const cut of [...cuts, bytes.length]) {
        if (exchange.gone) return;
        if (start > 0) await sleep(plan.splitDelayMs ?? 5);
        if (exchange.gone) return;
        await write(exchange, bytes.subarray(start, cut));
        start = cut;
      }
    } else if (firstDelay <= 0 && chunkDelay <= 0) {
      const body = scripted.head + scripted.units.join('') + scripted.tail;
      if (ending.kind === 'end') {
        response.end(body);
        return;
      }
      if (body !== '') await write(exchange, body);
      else response.flushHeaders();
    } else {
      if (scripted.head !== '') send(exchange, scripted.head);
      else response.flushHeaders();
      for (let position = 0; position < scripted.units.length; position += 1) {
        const delay = position === 0 ? firstDelay : chunkDelay;
        if (delay > 0) await sleep(delay);
        if (exchange.gone) return;
        send(exchange, scripted.units[position] ?? '');
      }
      if (scripted.tail !== '') send(exchange, scripted.tail);
    }
    if (exchange.gone) return;
    await finish(exchange, scripted);
  }

  async function finish(exchange: Exchange, scripted: ResponseScript): Promise<void> {
    const { response, closed } = exchange;
    const { ending } = scripted;
    if (ending.kind === 'end') {
      response.end();
    } else if (ending.kind === 'disconnect') {
      await write(exchange, '');
      exchange.intended = 'disconnected';
      response.socket?.destroy();
      response.destroy();
    } else {
      const interval = ending.keepAliveIntervalMs;
      while (interval !== undefined && interval > 0 && !exchange.gone && !closing) {
        await Promise.race([sleep(interval), closed]);
        if (!exchange.gone && !closing) send(exchange, ending.keepAliveFrame);
      }
      await closed;
    }
  }

  /** Write without waiting. */
  function send(exchange: Exchange, data: string): void {
    if (!exchange.gone) exchange.response.write(data);
  }

  /** Write, resolving once the data went to the socket (or the response is gone). */
  function write(exchange: Exchange, data: string | Buffer): Promise<void> {
    if (exchange.gone) return Promise.resolve();
    return new Promise((resolve) => {
      exchange.response.write(data, () => resolve());
      exchange.closed.then(resolve, resolve);
    });
  }

  const waitFor = <T>(check: () => T | undefined, timeoutMs: number, describe: () => string, poll?: () => void): Promise<T> =>
    waitUntil(events, 'change', {
      check,
      timeoutMs,
      describe: () => `Emulator ${protocol} ${emulator.url}: timed out after ${timeoutMs} ms waiting for ${describe()}`,
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
    server.listen(options.port ?? 0, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  let closePromise: Promise<void> | undefined;

  const emulator: Emulator = {
    url: `http://${host.includes(':') ? `[${host}]` : host}:${port}`,
    port,
    protocol,
    requests,
    server,
    enqueue: (...plans) => {
      queue.push(...plans);
    },
    failTimes: (count, plan = { modelNotFound: 'data' }) => {
      for (let time = 0; time < count; time += 1) queue.push(plan);
    },
    queued: () => queue.length,
    setDefaultPlan: (plan) => {
      defaultPlan = plan;
    },
    setScript: (next) => {
      script = next;
    },
    reset: () => {
      queue.length = 0;
      requests.length = 0;
      chatCount = 0;
      generation += 1;
    },
    openConnections: () => sockets.size,
    inFlight: () => exchanges.size,
    closeIdleConnections,
    waitForIdle: (timeoutMs = DEFAULT_WAIT_MS, waitOptions: WaitForIdleOptions = {}) => {
      const closeIdle = waitOptions.closeIdleConnections ?? true;
      return waitFor(
        () => (exchanges.size === 0 && sockets.size === 0 ? true : undefined),
        timeoutMs,
        () => `idle (in flight: ${describeInFlight()}; open sockets: ${sockets.size})`,
        closeIdle ? closeIdleConnections : undefined,
      ).then(() => undefined);
    },
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
    on: <E extends keyof EmulatorEvents>(event: E, listener: (record: EmulatorEvents[E]) => void): (() => void) => {
      events.on(event, listener);
      return () => {
        events.off(event, listener);
      };
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
  return emulator;
}
