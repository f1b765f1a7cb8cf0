/**
 * Emulators of the native upstream protocols (Anthropic, Ollama, Gemini): real HTTP servers on
 * 127.0.0.1 with per-request fault injection, request recording and connection tracking, like the
 * OpenAI-compatible emulator. The bytes of each answer come from the protocol's module.
 */
import { EventEmitter } from 'node:events';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { anthropicModule } from './anthropic-emulator.js';
import { geminiModule } from './gemini-emulator.js';
import { readBody } from './http-io.js';
import type {
  NativeEmulator,
  NativeEmulatorEvents,
  NativeEmulatorOptions,
  NativePlan,
  NativePlanScript,
  NativeProtocol,
  NativeRecordedRequest,
} from './native-plan.js';
import type { NativeProtocolModule, NativeScript } from './native-replies.js';
import { ollamaModule } from './ollama-emulator.js';
import type { ResponseOutcome, WaitForIdleOptions } from './plan.js';
import { waitUntil } from './wait-until.js';

const DEFAULT_WAIT_MS = 5000;
const MAX_BODY_BYTES = 64 * 1024 * 1024;

const MODULES: Readonly<Record<NativeProtocol, NativeProtocolModule>> = { anthropic: anthropicModule, ollama: ollamaModule, gemini: geminiModule };

interface Exchange {
  record: NativeRecordedRequest;
  response: ServerResponse;
  gone: boolean;
  closed: Promise<void>;
  intended?: ResponseOutcome;
}

/** Start an emulator of `options.protocol`; it listens before the promise resolves. */
export async function createNativeEmulator(options: NativeEmulatorOptions): Promise<NativeEmulator> {
  const { protocol } = options;
  const module = MODULES[protocol];
  const events = new EventEmitter();
  events.setMaxListeners(0);
  const requests: NativeRecordedRequest[] = [];
  const queue: NativePlan[] = [...(options.plans ?? [])];
  let defaultPlan: NativePlan = options.defaultPlan ?? {};
  let models: readonly string[] = options.models ?? ['llama3.2:latest'];
  let script: NativePlanScript | undefined = options.script;
  let chatCount = 0;
  let generation = 0;
  let closing = false;
  const sockets = new Set<Socket>();
  const exchanges = new Set<Exchange>();
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

  const answer = (response: ServerResponse, status: number, body: string, type = 'application/json'): void => {
    if (response.destroyed) return;
    response.writeHead(status, { 'content-type': type, 'content-length': String(Buffer.byteLength(body)) });
    response.end(body);
  };

  const server = createServer({ noDelay: true }, (request, response) => {
    handle(request, response).catch((error: unknown) => {
      if (!response.headersSent) answer(response, 500, module.errorBody(500, `Emulator failure: ${String(error)}`));
      else response.destroy();
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
    const record: NativeRecordedRequest = {
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
    const exchange: Exchange = { record, response, gone: false, closed: new Promise<void>((resolve) => (resolveClosed = resolve)) };
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
    const raw = await readBody(request, MAX_BODY_BYTES);
    record.rawBody = raw ?? '';
    record.receivedAt = Date.now();
    if (myGeneration === generation) {
      record.index = requests.length;
      requests.push(record);
    }
    if (raw === undefined) return answer(response, 413, module.errorBody(413, 'Request body too large.'));
    try {
      record.body = raw === '' ? undefined : (JSON.parse(raw) as unknown);
    } catch {
      // Recorded as raw text only; refused below if it was a chat request.
    }
    const route = module.chatRoute(record.method, record.path, record.query);
    events.emit('request', record);
    if (route === 'wrong-method') return answer(response, 405, module.errorBody(405, `Method ${record.method} not allowed on ${record.path}.`));
    if (route === undefined) {
      const other = module.otherRoute?.(record.method, record.path, models);
      return other === undefined ? answer(response, 404, module.errorBody(404, `Unknown path ${record.path}.`)) : answer(response, 200, JSON.stringify(other));
    }
    const body = record.body;
    if (typeof body !== 'object' || body === null || Array.isArray(body)) return answer(response, 400, module.errorBody(400, 'The request body must be a JSON object.'));
    if (options.apiKey !== undefined && !module.hasKey(record.headers, record.query, options.apiKey)) return answer(response, 401, module.errorBody(401, 'invalid x-api-key'));
    const refusal = module.refuse?.(record.headers, body as Record<string, unknown>);
    if (refusal !== undefined) return answer(response, refusal[0], module.errorBody(refusal[0], refusal[1]));
    record.chatIndex = chatCount;
    chatCount += 1;
    const plan = queue.shift() ?? (script !== undefined ? script(record, record.chatIndex) : defaultPlan);
    record.plan = plan;
    const fields = body as Record<string, unknown>;
    const stream = typeof route.stream === 'function' ? route.stream(fields) : route.stream;
    const model = route.model ?? (typeof fields.model === 'string' ? fields.model : 'unknown');
    await play(exchange, plan, module.script(plan, { body: fields, stream, model, query: record.query, index: record.chatIndex, receivedAt: record.receivedAt }));
  }

  async function play(exchange: Exchange, plan: NativePlan, scripted: NativeScript): Promise<void> {
    const { response } = exchange;
    if ((plan.headerDelayMs ?? 0) > 0) await sleep(plan.headerDelayMs ?? 0);
    if (exchange.gone) return;
    response.writeHead(scripted.status, scripted.headers);
    const firstDelay = plan.firstChunkDelayMs ?? 0;
    const chunkDelay = plan.chunkDelayMs ?? 0;
    if (plan.splitAt !== undefined) {
      const bytes = Buffer.from(scripted.head + scripted.units.join('') + scripted.tail);
      const cuts = [...new Set(plan.splitAt.filter((offset) => offset > 0 && offset < bytes.length))].sort((a, b) => a - b);
      let start = 0;
      for (const cut of [...cuts, bytes.length]) {
        if (start > 0) await sleep(plan.splitDelayMs ?? 5);
        if (exchange.gone) return;
        await write(exchange, bytes.subarray(start, cut));
        start = cut;
      }
    } else if (firstDelay <= 0 && chunkDelay <= 0) {
      const body = scripted.head + scripted.units.join('') + scripted.tail;
      if (body !== '') await write(exchange, body);
      else response.flushHeaders();
    } else {
      if (scripted.head !== '') await write(exchange, scripted.head);
      else response.flushHeaders();
      for (let position = 0; position < scripted.units.length; position += 1) {
        const delay = position === 0 ? firstDelay : chunkDelay;
        if (delay > 0) await sleep(delay);
        if (exchange.gone) return;
        await write(exchange, scripted.units[position] ?? '');
      }
      if (scripted.tail !== '') await write(exchange, scripted.tail);
    }
    if (exchange.gone) return;
    if (scripted.ending === 'end') response.end();
    else if (scripted.ending === 'disconnect') {
      exchange.intended = 'disconnected';
      response.socket?.destroy();
      response.destroy();
    } else await exchange.closed;
  }

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

  function closeIdleConnections(): void {
    const busy = new Set<unknown>();
    for (const exchange of exchanges) busy.add(exchange.response.socket);
    for (const socket of sockets) if (!busy.has(socket)) socket.destroy();
  }

  const describeInFlight = (): string =>
    [...exchanges].map((exchange) => `#${exchange.record.index} ${exchange.record.method} ${exchange.record.path}`).join(', ') || 'none';

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  let closePromise: Promise<void> | undefined;

  const emulator: NativeEmulator = {
    url: `http://127.0.0.1:${port}`,
    port,
    protocol,
    requests,
    server,
    enqueue: (...plans) => void queue.push(...plans),
    queued: () => queue.length,
    setDefaultPlan: (plan) => void (defaultPlan = plan),
    setModels: (ids) => void (models = ids),
    setScript: (next) => void (script = next),
    reset: () => {
      queue.length = 0;
      requests.length = 0;
      chatCount = 0;
      generation += 1;
    },
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
      waitFor(() => (requests.length >= count ? requests : undefined), timeoutMs, () => `${count} requests (got ${requests.length})`),
    on: <E extends keyof NativeEmulatorEvents>(event: E, listener: (record: NativeEmulatorEvents[E]) => void): (() => void) => {
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
  events.on('request', () => events.emit('change'));
  return emulator;
}
