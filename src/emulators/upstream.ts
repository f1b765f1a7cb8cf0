/**
 * Emulators of the upstream chat APIs (Lockchat, OpenAI-compatible / Mishalsgpt): real HTTP
 * servers on 127.0.0.1 with per-request fault injection, request recording and connection
 * tracking (the skeleton all emulators share, emulator-server.ts). Used by tests, benchmarks and
 * `g4f serve --demo`; node:http only.
 */
import { emulatorControls, startEmulatorServer, type Exchange as ServerExchange } from './emulator-server.js';
import type { Emulator, EmulatorOptions, Plan, RecordedRequest } from './plan.js';
import { scriptEmbeddings } from './embeddings.js';
import { DEFAULT_MODEL, isRecord } from './replies.js';
import { sendJson } from './http-io.js';
import { openAiError, scriptResponse, type ResponseScript } from './wire.js';

const MAX_BODY_BYTES = 16 * 1024 * 1024;
const DEFAULT_MODELS = [DEFAULT_MODEL, 'gpt-3.5-turbo-16k-0613', 'gpt-4'];

type Exchange = ServerExchange<RecordedRequest>;

/** Start an emulator; it listens before the promise resolves. */
export async function createEmulator(options: EmulatorOptions = {}): Promise<Emulator> {
  const protocol = options.protocol ?? 'openai';
  const host = options.host ?? '127.0.0.1';
  let models = options.models ?? DEFAULT_MODELS;

  const base = await startEmulatorServer<RecordedRequest>({
    protocol,
    host,
    port: options.port ?? 0,
    maxBodyBytes: MAX_BODY_BYTES,
    recordRequests: options.recordRequests ?? true,
    answer: (exchange, raw) => handle(exchange, raw),
    failure: (response, error) => sendJson(response, 500, { error: { ...openAiError(500), message: `Emulator failure: ${String(error)}` } }),
  });
  const { events, sleep, write, send, writeSplit } = base;
  const closing = (): boolean => base.isClosing();
  const { plan: planOf, controls } = emulatorControls<Plan, RecordedRequest>(base, options, {});

  async function handle(exchange: Exchange, raw: string | undefined): Promise<void> {
    const { record, response } = exchange;
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
      const plan = planOf(record);
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
      sendJson(response, 405, {
        error: { ...openAiError(405), message: `Method ${record.method} not allowed on ${record.path}.`, code: 'method_not_allowed' },
      });
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
      await writeSplit(exchange, scripted.head + scripted.units.join('') + scripted.tail, plan.splitAt, plan.splitDelayMs ?? 5);
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
      while (interval !== undefined && interval > 0 && !exchange.gone && !closing()) {
        await Promise.race([sleep(interval), closed]);
        if (!exchange.gone && !closing()) send(exchange, ending.keepAliveFrame);
      }
      await closed;
    }
  }

  return {
    ...controls,
    protocol,
    failTimes: (count, plan = { modelNotFound: 'data' }) => {
      for (let time = 0; time < count; time += 1) controls.enqueue(plan);
    },
    setModels: (ids) => void (models = ids),
  };
}
