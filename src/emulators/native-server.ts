/**
 * Emulators of the native upstream protocols (Anthropic, Ollama, Gemini): real HTTP servers on
 * 127.0.0.1 with per-request fault injection, request recording and connection tracking, like the
 * OpenAI-compatible emulator (the same skeleton, emulator-server.ts). The bytes of each answer come
 * from the protocol's module.
 */
import type { ServerResponse } from 'node:http';
import { anthropicModule } from './anthropic-emulator.js';
import { emulatorControls, startEmulatorServer, type Exchange as ServerExchange } from './emulator-server.js';
import { geminiModule } from './gemini-emulator.js';
import type { NativeEmulator, NativeEmulatorOptions, NativePlan, NativeProtocol, NativeRecordedRequest } from './native-plan.js';
import { nativeScript, type NativeProtocolModule, type NativeScript } from './native-replies.js';
import { ollamaModule } from './ollama-emulator.js';

const MAX_BODY_BYTES = 64 * 1024 * 1024;

const MODULES: Readonly<Record<NativeProtocol, NativeProtocolModule>> = { anthropic: anthropicModule, ollama: ollamaModule, gemini: geminiModule };

type Exchange = ServerExchange<NativeRecordedRequest>;

/** Start an emulator of `options.protocol`; it listens before the promise resolves. */
export async function createNativeEmulator(options: NativeEmulatorOptions): Promise<NativeEmulator> {
  const { protocol } = options;
  const module = MODULES[protocol];
  let models: readonly string[] = options.models ?? ['llama3.2:latest'];

  const answer = (response: ServerResponse, status: number, body: string, type = 'application/json'): void => {
    if (response.destroyed) return;
    response.writeHead(status, { 'content-type': type, 'content-length': String(Buffer.byteLength(body)) });
    response.end(body);
  };

  const base = await startEmulatorServer<NativeRecordedRequest>({
    protocol,
    host: '127.0.0.1',
    port: options.port ?? 0,
    maxBodyBytes: MAX_BODY_BYTES,
    answer: (exchange, raw) => handle(exchange, raw),
    failure: (response, error) => answer(response, 500, module.errorBody(500, `Emulator failure: ${String(error)}`)),
  });
  const { events, sleep, write, writeSplit } = base;
  const { plan: planOf, controls } = emulatorControls<NativePlan, NativeRecordedRequest>(base, options, {});

  async function handle(exchange: Exchange, raw: string | undefined): Promise<void> {
    const { record, response } = exchange;
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
    if (typeof body !== 'object' || body === null || Array.isArray(body))
      return answer(response, 400, module.errorBody(400, 'The request body must be a JSON object.'));
    if (options.apiKey !== undefined && !module.hasKey(record.headers, record.query, options.apiKey))
      return answer(response, 401, module.errorBody(401, 'invalid x-api-key'));
    const refusal = module.refuse?.(record.headers, body as Record<string, unknown>);
    if (refusal !== undefined) return answer(response, refusal[0], module.errorBody(refusal[0], refusal[1]));
    const plan = planOf(record);
    record.plan = plan;
    const fields = body as Record<string, unknown>;
    const stream = typeof route.stream === 'function' ? route.stream(fields) : route.stream;
    const model = route.model ?? (typeof fields.model === 'string' ? fields.model : 'unknown');
    await play(
      exchange,
      plan,
      nativeScript(module, plan, { body: fields, stream, model, query: record.query, index: record.chatIndex, receivedAt: record.receivedAt }),
    );
  }

  async function play(exchange: Exchange, plan: NativePlan, scripted: NativeScript): Promise<void> {
    const { response } = exchange;
    if ((plan.headerDelayMs ?? 0) > 0) await sleep(plan.headerDelayMs ?? 0);
    if (exchange.gone) return;
    response.writeHead(scripted.status, scripted.headers);
    const firstDelay = plan.firstChunkDelayMs ?? 0;
    const chunkDelay = plan.chunkDelayMs ?? 0;
    if (plan.splitAt !== undefined) {
      await writeSplit(exchange, scripted.head + scripted.units.join('') + scripted.tail, plan.splitAt, plan.splitDelayMs ?? 5);
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

  return { ...controls, protocol, setModels: (ids) => void (models = ids) };
}
