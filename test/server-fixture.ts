/**
 * Shared set-up of the server tests: three emulated OpenAI-compatible upstreams behind one
 * router, and the server over a real socket.
 */
import { request as httpRequest } from 'node:http';
import { connect } from 'node:net';
import { createRuntime, type Runtime } from '../src/core/runtime.js';
import { createEmulator, type Emulator } from '../src/emulators/index.js';
import { createOpenAICompatibleProvider } from '../src/providers/index.js';
import { createRouter } from '../src/routing/index.js';
import { createCollectingLogger, startServer, type CollectingLogger, type RunningServer, type ServerOptions } from '../src/server/index.js';

export interface Fixture {
  alpha: Emulator;
  beta: Emulator;
  /** Serves `slow-model` with a first-token timer of 300 ms. */
  slow: Emulator;
  server: RunningServer;
  /** The router's settings and connections (slowpoke's timers); closed by `close()`. */
  runtime: Runtime;
  logger: CollectingLogger;
  url: string;
  close(): Promise<void>;
}

/** `test-model` (alias `tm`) is served by alpha then beta; `slow-model` by slowpoke only. */
export async function startFixture(
  options: Omit<ServerOptions, 'router' | 'logger'> = {},
  circuit: { failureThreshold?: number; cooldownMs?: number } = { failureThreshold: 1_000_000 },
): Promise<Fixture> {
  const alpha = await createEmulator({ protocol: 'openai' });
  const beta = await createEmulator({ protocol: 'openai' });
  const slow = await createEmulator({ protocol: 'openai' });
  const providers = [
    createOpenAICompatibleProvider({ name: 'alpha', url: `${alpha.url}/v1`, models: ['test-model'] }),
    createOpenAICompatibleProvider({ name: 'beta', url: `${beta.url}/v1`, models: ['test-model'] }),
    createOpenAICompatibleProvider({ name: 'slowpoke', url: `${slow.url}/v1`, models: ['slow-model'] }),
  ];
  const runtime = createRuntime({ providers: { slowpoke: { timeouts: { firstToken: 300, total: 300 } } } });
  const router = createRouter({
    runtime,
    providers,
    models: { 'test-model': ['alpha', 'beta'], 'slow-model': ['slowpoke'] },
    aliases: { tm: 'test-model' },
    retry: { attempts: 1 },
    circuit,
  });
  const logger = createCollectingLogger();
  const server = await startServer({ port: 0, web: false, ...options, router, logger });
  return {
    alpha,
    beta,
    slow,
    server,
    runtime,
    logger,
    url: server.url,
    async close() {
      await server.close(2_000);
      await Promise.all([alpha.close(), beta.close(), slow.close()]);
      await runtime.close();
    },
  };
}

export interface RawResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** One request over node:http (no client library), the whole body as text. */
export function send(url: string, options: { method?: string; path: string; headers?: Record<string, string>; body?: string | Buffer }): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const target = new URL(options.path, url);
    const request = httpRequest(target, { method: options.method ?? 'GET', headers: options.headers ?? {}, agent: false }, (response) => {
      const pieces: Buffer[] = [];
      response.on('data', (piece: Buffer) => pieces.push(piece));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, headers: response.headers, body: Buffer.concat(pieces).toString('utf8') }));
      response.on('error', reject);
    });
    request.on('error', reject);
    request.end(options.body);
  });
}

/** POSTs a JSON body to the chat endpoint. */
export function postChat(url: string, body: unknown, headers: Record<string, string> = {}): Promise<RawResponse> {
  return send(url, {
    method: 'POST',
    path: '/v1/chat/completions',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
  });
}

/** The raw bytes of a whole HTTP/1.1 exchange over node:net (connection: close). */
export function rawExchange(url: string, head: string, body: string): Promise<string> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname);
    const pieces: Buffer[] = [];
    socket.on('data', (piece: Buffer) => pieces.push(piece));
    socket.on('end', () => resolve(Buffer.concat(pieces).toString('utf8')));
    socket.on('error', reject);
    socket.write(`${head}\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
  });
}

/** Server-sent events of a body: the `data:` payloads, in order. */
export function sseData(body: string): string[] {
  return body
    .split('\n\n')
    .filter((block) => block.startsWith('data: '))
    .map((block) => block.slice('data: '.length));
}

export const userMessage = (content: string): Array<{ role: 'user'; content: string }> => [{ role: 'user', content }];
