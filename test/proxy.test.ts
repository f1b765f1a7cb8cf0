/**
 * Proxies: a tiny HTTP proxy on 127.0.0.1 (CONNECT tunnels and absolute-URI forwarding) that
 * counts what passes; a per-provider proxy, the global one and G4F_PROXY reach the emulator
 * through it.
 */
import { after, afterEach, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, request as httpRequest, type Server } from 'node:http';
import { connect, createServer as createNetServer, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { isG4FError } from '../src/core/errors.js';
import { createEmulator, type Emulator } from '../src/emulators/index.js';
import { createOpenAICompatibleProvider } from '../src/providers/index.js';
import { createRouter, type Router } from '../src/routing/index.js';
import { createRuntime } from '../src/core/runtime.js';

/** The test's own settings, connection pools and clock. */
const runtime = createRuntime();

const MESSAGES = [{ role: 'user' as const, content: 'through the proxy' }];

interface CountingProxy {
  url: string;
  /** CONNECT targets and forwarded absolute URIs, in order. */
  passed: string[];
  close(): Promise<void>;
}

async function startProxy(): Promise<CountingProxy> {
  const passed: string[] = [];
  const sockets = new Set<Socket>();
  const server: Server = createServer((incoming, outgoing) => {
    // Absolute-URI forwarding (a plain HTTP proxy).
    passed.push(`${incoming.method} ${incoming.url}`);
    const target = new URL(incoming.url ?? '');
    if (target.hostname !== '127.0.0.1') {
      outgoing.writeHead(403).end();
      return;
    }
    const upstream = httpRequest(
      { host: target.hostname, port: target.port, path: target.pathname + target.search, method: incoming.method, headers: incoming.headers },
      (answer) => {
        outgoing.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(outgoing);
      },
    );
    upstream.on('error', () => outgoing.destroy());
    outgoing.on('close', () => upstream.destroy());
    incoming.pipe(upstream);
  });
  server.on('connect', (incoming, client: Socket, head: Buffer) => {
    passed.push(`CONNECT ${incoming.url}`);
    const [host, port] = (incoming.url ?? '').split(':');
    if (host !== '127.0.0.1') {
      client.end('HTTP/1.1 403 Forbidden\r\n\r\n');
      return;
    }
    const upstream = connect(Number(port), host, () => {
      client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
      if (head.length > 0) upstream.write(head);
      upstream.pipe(client);
      client.pipe(upstream);
    });
    sockets.add(upstream).add(client);
    const end = (): void => {
      upstream.destroy();
      client.destroy();
    };
    upstream.on('error', end).on('close', end);
    client.on('error', end).on('close', end);
  });
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    passed,
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

let a: Emulator;
let b: Emulator;
let proxy: CountingProxy;
let router: Router;
const originalProxy = process.env.G4F_PROXY;

before(async () => {
  [a, b, proxy] = await Promise.all([createEmulator(), createEmulator(), startProxy()]);
  router = createRouter({
    runtime,
    providers: [
      createOpenAICompatibleProvider({ name: 'A', url: `${a.url}/v1`, models: ['m'] }),
      createOpenAICompatibleProvider({ name: 'B', url: `${b.url}/v1`, models: ['m'] }),
    ],
    retry: { attempts: 1 },
  });
});
afterEach(async () => {
  runtime.configure({});
  if (originalProxy === undefined) delete process.env.G4F_PROXY;
  else process.env.G4F_PROXY = originalProxy;
  await runtime.close();
  await Promise.all([a.waitForIdle(), b.waitForIdle()]);
  a.reset();
  b.reset();
  proxy.passed.length = 0;
});
after(async () => {
  await runtime.close();
  await Promise.all([a.close(), b.close(), proxy.close()]);
});

const viaProxy = (emulator: Emulator): boolean => proxy.passed.some((line) => line.includes(`127.0.0.1:${emulator.port}`));

async function streamText(model: string): Promise<string> {
  let text = '';
  for await (const chunk of router.stream({ model, messages: MESSAGES, stream: true })) if (chunk.type === 'text-delta') text += chunk.text;
  return text;
}

test('a per-provider proxy carries that provider only', async () => {
  runtime.configureProvider('A', { proxy: proxy.url });
  assert.equal((await router.complete({ model: 'A/m', messages: MESSAGES, stream: false })).text, 'Echo: through the proxy');
  assert.equal(await streamText('A/m'), 'Echo: through the proxy');
  assert.ok(viaProxy(a), `the proxy saw A: ${proxy.passed.join(', ')}`);
  assert.equal(a.requests.length, 2);
  assert.equal(await streamText('B/m'), 'Echo: through the proxy');
  assert.ok(!viaProxy(b), 'B went direct');
  assert.equal(b.requests.length, 1);
});

test('the global proxy (settings) carries every provider', async () => {
  runtime.configure({ proxy: proxy.url });
  await router.complete({ model: 'A/m', messages: MESSAGES, stream: false });
  await router.complete({ model: 'B/m', messages: MESSAGES, stream: false });
  assert.ok(viaProxy(a) && viaProxy(b), proxy.passed.join(', '));
});

test('G4F_PROXY from the environment', async () => {
  process.env.G4F_PROXY = proxy.url;
  assert.equal(await streamText('B/m'), 'Echo: through the proxy');
  assert.ok(viaProxy(b), proxy.passed.join(', '));
});

test('a provider proxy wins over the global one; a dead proxy is a typed connection error, then fallback', async () => {
  const dead = createNetServer();
  await new Promise<void>((resolve) => dead.listen(0, '127.0.0.1', resolve));
  const deadUrl = `http://127.0.0.1:${(dead.address() as AddressInfo).port}`;
  await new Promise<void>((resolve) => dead.close(() => resolve()));

  runtime.configure({ proxy: deadUrl });
  runtime.configureProvider('B', { proxy: proxy.url });
  const result = await router.complete({ model: 'm', messages: MESSAGES, stream: false });
  assert.equal(result.provider, 'B');
  assert.equal(result.attempts[0]?.provider, 'A');
  assert.ok(isG4FError(result.attempts[0]?.error, 'ConnectionError'), result.attempts[0]?.error.message);
  assert.equal(a.requests.length, 0);
  assert.ok(viaProxy(b));
});

test('an abort mid-stream through the proxy closes the upstream connection', async () => {
  runtime.configure({ proxy: proxy.url });
  a.enqueue({ stallAfterChunks: 1 });
  const controller = new AbortController();
  await assert.rejects(
    (async () => {
      for await (const chunk of router.stream({ model: 'A/m', messages: MESSAGES, stream: true, signal: controller.signal })) {
        void chunk;
        controller.abort();
      }
    })(),
    (error: unknown) => isG4FError(error, 'AbortError'),
  );
  await a.waitForAbort(0);
  assert.ok(viaProxy(a));
});
