/**
 * The server against careless clients and misbehaving upstreams, over real sockets: nesting,
 * encodings, `Expect: 100-continue`, HEAD, pinned model ids, retry advice, secrets in base URLs
 * and headers, demo fault prompts, shutdown, and the config file.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { brotliCompressSync, deflateSync, gzipSync } from 'node:zlib';
import OpenAI from 'openai';
import { createEmulator } from '../src/emulators/index.js';
import { createOpenAICompatibleProvider } from '../src/providers/index.js';
import { createRouter } from '../src/routing/index.js';
import { startServer } from '../src/server/index.js';
import type { Provider } from '../src/core/spec.js';
import { postChat, send, sseData, startFixture, userMessage, type Fixture } from './server-fixture.js';
import { createRuntime } from '../src/core/runtime.js';

/** The test's own settings, connection pools and clock. */
const runtime = createRuntime();
after(() => runtime.close());

interface ErrorBody {
  error: { message: string; type: string; param: string | null; code: string | null };
}

function nested(depth: number): string {
  return `${'['.repeat(depth)}${']'.repeat(depth)}`;
}

/** Sends a request head (and optionally a body later) over a raw socket; resolves with all bytes once the server closes. */
function rawSocket(url: string): { write(text: string | Buffer): void; firstData: Promise<string>; all: Promise<string> } {
  const { hostname, port } = new URL(url);
  const socket = connect(Number(port), hostname);
  const pieces: Buffer[] = [];
  let resolveFirst: (text: string) => void = () => undefined;
  const firstData = new Promise<string>((resolve) => {
    resolveFirst = resolve;
  });
  const all = new Promise<string>((resolve, reject) => {
    socket.on('data', (piece: Buffer) => {
      pieces.push(piece);
      resolveFirst(Buffer.concat(pieces).toString('utf8'));
    });
    socket.on('end', () => resolve(Buffer.concat(pieces).toString('utf8')));
    socket.on('close', () => resolve(Buffer.concat(pieces).toString('utf8')));
    socket.on('error', reject);
  });
  return { write: (text) => socket.write(text), firstData, all };
}

describe('request bodies', () => {
  let fixture: Fixture;
  before(async () => {
    // A circuit that opens at the first failure: any failure counted against alpha shows at once.
    fixture = await startFixture({}, { failureThreshold: 1, cooldownMs: 60_000 });
  });
  after(async () => {
    await fixture.close();
  });

  test('a body nested 10,000 levels deep is a 400 naming the limit, and never touches a provider or its health', async () => {
    const body = `{"model":"test-model","messages":[{"role":"user","content":"hi"}],"x":${nested(10_000)}}`;
    for (let round = 0; round < 3; round++) {
      const response = await send(fixture.url, { method: 'POST', path: '/v1/chat/completions', headers: { 'content-type': 'application/json' }, body });
      assert.equal(response.status, 400);
      const error = (JSON.parse(response.body) as ErrorBody).error;
      assert.equal(error.code, 'json_too_deep');
      assert.match(error.message, /more than 128 levels/);
    }
    assert.equal(fixture.alpha.requests.length, 0);
    const health = await send(fixture.url, { path: '/v1/providers' });
    const alpha = (JSON.parse(health.body) as { data: Array<{ name: string; health: { state: string; consecutiveFailures: number } }> }).data.find(
      (provider) => provider.name === 'alpha',
    );
    assert.equal(alpha?.health.state, 'closed');
    assert.equal(alpha?.health.consecutiveFailures, 0);
    const answer = await postChat(fixture.url, { model: 'test-model', messages: userMessage('still here') });
    assert.equal(answer.status, 200);
  });

  test('brackets inside strings do not count toward the depth; ordinary nesting passes', async () => {
    const content = '['.repeat(5_000);
    const response = await postChat(fixture.url, { model: 'test-model', messages: userMessage(content), metadata: { a: { b: { c: [[[1]]] } } } });
    assert.equal(response.status, 200);
  });

  test('gzip, deflate and br bodies are decoded; an unknown coding is a 415 naming it; a broken one a 400', async () => {
    const json = JSON.stringify({ model: 'test-model', messages: userMessage('compressed') });
    for (const [coding, bytes] of [
      ['gzip', gzipSync(json)],
      ['deflate', deflateSync(json)],
      ['br', brotliCompressSync(json)],
    ] as const) {
      const response = await send(fixture.url, {
        method: 'POST',
        path: '/v1/chat/completions',
        headers: { 'content-type': 'application/json', 'content-encoding': coding },
        body: bytes,
      });
      assert.equal(response.status, 200, `${coding}: ${response.body}`);
      assert.match(response.body, /Echo: compressed/);
    }
    const unknown = await send(fixture.url, {
      method: 'POST',
      path: '/v1/chat/completions',
      headers: { 'content-type': 'application/json', 'content-encoding': 'zstd' },
      body: Buffer.from([0x28, 0xb5, 0x2f, 0xfd, 0, 1, 2, 3]),
    });
    assert.equal(unknown.status, 415);
    const unknownError = (JSON.parse(unknown.body) as ErrorBody).error;
    assert.equal(unknownError.code, 'unsupported_content_encoding');
    assert.match(unknownError.message, /"zstd"/);
    const broken = await send(fixture.url, {
      method: 'POST',
      path: '/v1/chat/completions',
      headers: { 'content-type': 'application/json', 'content-encoding': 'gzip' },
      body: Buffer.from('not gzip at all, just text'),
    });
    assert.equal(broken.status, 400);
    const brokenError = (JSON.parse(broken.body) as ErrorBody).error;
    assert.equal(brokenError.code, 'invalid_content_encoding');
    assert.doesNotMatch(brokenError.message, /invalid JSON|not gzip at all/);
  });

  test('the size limit counts the decoded body: a small gzip bomb is a 413', async () => {
    const server = await startServer({ port: 0, quiet: true, web: false, router: createRouter({ runtime, providers: [] }), bodyLimitBytes: 64 * 1024 });
    try {
      const bomb = gzipSync(Buffer.alloc(50 * 1024 * 1024, 0x20));
      assert.ok(bomb.length < 64 * 1024);
      const response = await send(server.url, {
        method: 'POST',
        path: '/v1/chat/completions',
        headers: { 'content-type': 'application/json', 'content-encoding': 'gzip' },
        body: bomb,
      });
      assert.equal(response.status, 413);
    } finally {
      await server.close();
    }
  });

  test('Expect: 100-continue: a body too large gets its 413 before it is sent; a good one gets 100, then the answer', async () => {
    // A body may be as large as the image body limit (20 MiB) until it is read; past that, refused unread.
    const limit = 20 * 1024 * 1024;
    const big = rawSocket(fixture.url);
    big.write(
      `POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: ${limit + 1}\r\nExpect: 100-continue\r\n\r\n`,
    );
    const first = await big.firstData;
    assert.match(first, /^HTTP\/1\.1 413 /);
    assert.doesNotMatch(first, /100 Continue/);

    const body = JSON.stringify({ model: 'test-model', messages: userMessage('after continue') });
    const good = rawSocket(fixture.url);
    good.write(
      `POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nExpect: 100-continue\r\nConnection: close\r\n\r\n`,
    );
    assert.match(await good.firstData, /^HTTP\/1\.1 100 Continue\r\n/);
    good.write(body);
    const all = await good.all;
    assert.match(all, /HTTP\/1\.1 200 OK/);
    assert.match(all, /Echo: after continue/);

    const wrongType = rawSocket(fixture.url);
    wrongType.write(`POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: text/plain\r\nContent-Length: 10\r\nExpect: 100-continue\r\n\r\n`);
    assert.match(await wrongType.firstData, /^HTTP\/1\.1 415 /);
  });

  test('Expect: 100-continue without a key gets its 401 before the body is sent', async () => {
    const server = await startServer({ port: 0, quiet: true, web: false, router: createRouter({ runtime, providers: [] }), apiKeys: ['secret-key-1'] });
    try {
      const socket = rawSocket(server.url);
      socket.write(
        `POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 100\r\nExpect: 100-continue\r\n\r\n`,
      );
      assert.match(await socket.firstData, /^HTTP\/1\.1 401 /);
    } finally {
      await server.close();
    }
  });

  test('text parts of one message reach a text-only provider joined with a line break', async () => {
    const emulator = await createEmulator({ protocol: 'openai' });
    const router = createRouter({
      runtime,
      providers: [createOpenAICompatibleProvider({ name: 'plain', url: `${emulator.url}/v1`, models: ['m'], capabilities: {} })],
    });
    const server = await startServer({ port: 0, quiet: true, web: false, router });
    try {
      const response = await postChat(server.url, {
        model: 'm',
        messages: [
          {
            role: 'user',
            content: [
              { type: 'text', text: 'a' },
              { type: 'text', text: 'b' },
            ],
          },
        ],
      });
      assert.equal(response.status, 200);
      assert.deepEqual((emulator.requests.at(-1)?.body as { messages: unknown }).messages, [{ role: 'user', content: 'a\nb' }]);
    } finally {
      await server.close();
      await emulator.close();
    }
  });
});

describe('HTTP manners', () => {
  let fixture: Fixture;
  before(async () => {
    fixture = await startFixture();
  });
  after(async () => {
    await fixture.close();
  });

  test('HEAD is answered wherever GET is: same status and headers, no body', async () => {
    for (const path of ['/health', '/v1/models', '/v1/models/test-model', '/v1/providers', '/metrics', '/v1/models/nope']) {
      const get = await send(fixture.url, { path });
      const head = await send(fixture.url, { method: 'HEAD', path });
      assert.equal(head.status, get.status, path);
      assert.equal(head.body, '', path);
      assert.equal(head.headers['content-type'], get.headers['content-type'], path);
      if (path !== '/metrics') assert.equal(head.headers['content-length'], get.headers['content-length'], path);
    }
    const post = await send(fixture.url, { method: 'HEAD', path: '/v1/chat/completions' });
    assert.equal(post.status, 405);
  });

  test("HEAD on the page's API routes is answered like GET", async () => {
    const server = await startServer({
      port: 0,
      quiet: true,
      router: createRouter({ runtime, providers: [] }),
      dataDir: await mkdtemp(join(tmpdir(), 'g4f-head-')),
    });
    try {
      for (const path of ['/api/config', '/api/conversations']) {
        const get = await send(server.url, { path });
        const head = await send(server.url, { method: 'HEAD', path });
        assert.equal(get.status, 200, path);
        assert.equal(head.status, 200, path);
        assert.equal(head.body, '', path);
        assert.equal(head.headers['content-length'], get.headers['content-length'], path);
      }
    } finally {
      await server.close();
    }
  });

  test('JSON answers carry X-Content-Type-Options: nosniff', async () => {
    for (const response of [
      await send(fixture.url, { path: '/health' }),
      await send(fixture.url, { path: '/v1/models/nope' }),
      await postChat(fixture.url, { model: 'test-model', messages: userMessage('hi') }),
    ]) {
      assert.equal(response.headers['x-content-type-options'], 'nosniff');
    }
  });

  test('a pinned model id, encoded or not, answers like a model id; /v1/models/ is a plain 404', async () => {
    for (const path of ['/v1/models/alpha/test-model', '/v1/models/alpha%2Ftest-model', '/v1/models/beta/tm']) {
      const response = await send(fixture.url, { path });
      assert.equal(response.status, 200, path);
      const model = JSON.parse(response.body) as { id: string; object: string; owned_by: string; providers: string[] };
      assert.equal(model.object, 'model');
      assert.equal(model.id, path.includes('beta') ? 'beta/test-model' : 'alpha/test-model');
      assert.deepEqual(model.providers, [model.owned_by]);
    }
    const unserved = await send(fixture.url, { path: '/v1/models/slowpoke/test-model' });
    assert.equal(unserved.status, 404);
    const empty = await send(fixture.url, { path: '/v1/models/' });
    assert.equal(empty.status, 404);
    const error = (JSON.parse(empty.body) as ErrorBody).error;
    assert.equal(error.code, 'unknown_url');
    assert.doesNotMatch(error.message, /''|""/);
  });

  test('after the server has retried and failed, answers say x-should-retry: false, and Retry-After is clamped', async () => {
    // The fixture's retry budget is one attempt per provider.
    fixture.alpha.enqueue({ status: 503, errorMessage: 'down' });
    fixture.beta.enqueue({ status: 503, errorMessage: 'down' });
    const failed = await postChat(fixture.url, { model: 'test-model', messages: userMessage('x') });
    assert.equal(failed.status, 502);
    assert.equal(failed.headers['x-should-retry'], 'false');

    fixture.alpha.enqueue({ status: 429, retryAfterMs: 1e23 });
    fixture.beta.enqueue({ status: 429, retryAfterMs: 1e23 });
    const limited = await postChat(fixture.url, { model: 'test-model', messages: userMessage('x') });
    assert.equal(limited.status, 429);
    assert.equal(limited.headers['x-should-retry'], 'false');
    assert.equal(limited.headers['retry-after-ms'], '600000');
    assert.equal(limited.headers['retry-after'], '600');

    const fine = await postChat(fixture.url, { model: 'test-model', messages: userMessage('x') });
    assert.equal(fine.status, 200);
    assert.equal(fine.headers['x-should-retry'], undefined);
  });

  test('the openai SDK does not retry on top of the server', async () => {
    fixture.alpha.reset();
    fixture.beta.reset();
    fixture.alpha.setDefaultPlan({ status: 500, errorMessage: 'broken' });
    fixture.beta.setDefaultPlan({ status: 500, errorMessage: 'broken' });
    try {
      const client = new OpenAI({ baseURL: `${fixture.url}/v1`, apiKey: 'unused', maxRetries: 2 });
      await assert.rejects(client.chat.completions.create({ model: 'test-model', messages: userMessage('x') }), (error: unknown) => {
        assert.ok(error instanceof OpenAI.APIError);
        assert.equal(error.status, 502);
        return true;
      });
      // One server request: alpha and beta were each asked once (the fixture's retry budget is 1).
      assert.equal(fixture.alpha.requests.length, 1);
      assert.equal(fixture.beta.requests.length, 1);
    } finally {
      fixture.alpha.setDefaultPlan({});
      fixture.beta.setDefaultPlan({});
    }
  });
});

describe('health counts only what upstreams did', () => {
  test("an error thrown by the program itself (not the upstream's doing) never opens a circuit", async () => {
    const broken: Provider = {
      name: 'broken',
      url: 'http://127.0.0.1:9',
      models: ['m'],
      supportsStream: true,
      needsAuth: false,
      // biome-ignore lint/correctness/useYield: a provider that fails before its first chunk
      async *createCompletion() {
        throw new RangeError('Maximum call stack size exceeded');
      },
    };
    const router = createRouter({ runtime, providers: [broken], circuit: { failureThreshold: 1 } });
    const server = await startServer({ port: 0, quiet: true, web: false, router });
    try {
      for (let round = 0; round < 3; round++) {
        const response = await postChat(server.url, { model: 'm', messages: userMessage('x') });
        assert.equal(response.status, 500);
        assert.equal((JSON.parse(response.body) as ErrorBody).error.code, 'internal_error');
      }
      assert.equal(router.health('broken').state, 'closed');
      assert.equal(router.health('broken').consecutiveFailures, 0);
    } finally {
      await server.close();
    }
  });

  test("demo mode's fault prompts never count against health, even with the SDK's retries", async () => {
    const server = await startServer({ port: 0, quiet: true, web: false, demo: true });
    try {
      const client = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: 'unused', maxRetries: 2 });
      for (let round = 0; round < 3; round++) {
        await assert.rejects(client.chat.completions.create({ model: 'gpt-4', messages: userMessage('/demo error') }));
        const stream = await client.chat.completions.create({ model: 'gpt-4', messages: userMessage('/demo cut'), stream: true });
        await assert.rejects(async () => {
          for await (const chunk of stream) void chunk;
        });
      }
      for (const name of ['Lockchat', 'Mishalsgpt']) {
        assert.equal(server.router.health(name).state, 'closed', name);
        assert.equal(server.router.health(name).consecutiveFailures, 0, name);
      }
      const hello = await client.chat.completions.create({ model: 'gpt-4', messages: userMessage('hello') });
      assert.ok((hello.choices[0]?.message.content ?? '').length > 0);
    } finally {
      await server.close();
    }
  });
});

describe('secrets in base URLs and headers', () => {
  test('a base URL with a query is joined path first, query after; an echoed query token is redacted everywhere', async () => {
    const emulator = await createEmulator({ protocol: 'openai' });
    const token = 'query-token-4242';
    const router = createRouter({
      runtime,
      providers: [createOpenAICompatibleProvider({ name: 'q', url: `${emulator.url}/v1?token=${token}`, models: ['m'] })],
      retry: { attempts: 1 },
    });
    const server = await startServer({ port: 0, quiet: true, web: false, router });
    try {
      const ok = await postChat(server.url, { model: 'm', messages: userMessage('hi') });
      assert.equal(ok.status, 200);
      assert.equal(emulator.requests[0]?.path, '/v1/chat/completions');
      assert.equal(emulator.requests[0]?.query.token, token);

      emulator.enqueue({ status: 500, errorMessage: `bad request for token=${token}` });
      const failed = await postChat(server.url, { model: 'm', messages: userMessage('hi') });
      assert.equal(failed.status, 502);
      assert.ok(!failed.body.includes(token), failed.body);
      assert.match(failed.body, /\*\*\*/);
      const providers = await send(server.url, { path: '/v1/providers' });
      assert.ok(!providers.body.includes(token), providers.body);
      assert.match(providers.body, /token=\*\*\*/);
    } finally {
      await server.close();
      await emulator.close();
    }
  });

  test('credential headers by pattern are refused in the file; headersEnv sends them from the environment, redacted in errors', async () => {
    const { parseConfig, createRouterFromConfig } = await import('../src/config.js');
    for (const name of ['X-Goog-Api-Key', 'X-Auth-Token', 'Cookie', 'x-client-secret', 'Proxy-Authorization']) {
      assert.throws(
        () => parseConfig({ providers: [{ name: 'x', type: 'openai-compatible', baseUrl: 'http://127.0.0.1:9/v1', models: ['m'], headers: { [name]: 'v' } }] }),
        (error: Error) => error.message.includes(`providers.0.headers.${name}`) && /headersEnv/.test(error.message),
        name,
      );
      assert.throws(() => parseConfig({ builtin: { Lockchat: { headers: { [name]: 'v' } } } }), /headersEnv/, name);
    }
    assert.doesNotThrow(() => parseConfig({ builtin: { Lockchat: { headers: { 'X-Title': 'g4f' } } } }));

    const emulator = await createEmulator({ protocol: 'openai' });
    const secret = 'goog-secret-value-77';
    process.env.HARDENING_TEST_GOOG_KEY = secret;
    try {
      const router = createRouterFromConfig(
        parseConfig({
          providers: [
            {
              name: 'g',
              type: 'openai-compatible',
              baseUrl: `${emulator.url}/v1`,
              models: ['gm'],
              headersEnv: { 'X-Goog-Api-Key': 'HARDENING_TEST_GOOG_KEY' },
            },
          ],
          retry: { attempts: 1 },
        }),
      );
      const server = await startServer({ port: 0, quiet: true, web: false, router });
      try {
        assert.equal((await postChat(server.url, { model: 'gm', messages: userMessage('hi') })).status, 200);
        assert.equal(emulator.requests[0]?.headers['x-goog-api-key'], secret);
        emulator.enqueue({ status: 500, errorMessage: `key ${secret} rejected` });
        const failed = await postChat(server.url, { model: 'gm', messages: userMessage('hi') });
        assert.equal(failed.status, 502);
        assert.ok(!failed.body.includes(secret), failed.body);
      } finally {
        await server.close();
      }
    } finally {
      delete process.env.HARDENING_TEST_GOOG_KEY;
      await emulator.close();
    }
  });
});

describe('shutdown and the config file', () => {
  test('a stream cut at the shutdown deadline gets one server_shutting_down error event before the connection closes', async () => {
    const emulator = await createEmulator({ protocol: 'openai', defaultPlan: { chunks: ['never', 'ends'], stallAfterChunks: 1 } });
    const router = createRouter({ runtime, providers: [createOpenAICompatibleProvider({ name: 'solo', url: `${emulator.url}/v1`, models: ['m'] })] });
    const server = await startServer({ port: 0, router, quiet: true, web: false });
    try {
      const answer = postChat(server.url, { model: 'm', messages: userMessage('x'), stream: true });
      await emulator.waitForRequests(1, 10_000);
      const closed = server.close(200);
      const outcome = await answer;
      await closed;
      const events = sseData(outcome.body);
      assert.notEqual(events.at(-1), '[DONE]');
      const last = JSON.parse(events.at(-1) ?? '{}') as ErrorBody;
      assert.equal(last.error.code, 'server_shutting_down');
      assert.equal(events.filter((event) => event.includes('"error"')).length, 1);
    } finally {
      await emulator.close();
    }
  });

  test('a config path that is a FIFO is refused at once, not read', async () => {
    const { loadConfig } = await import('../src/config.js');
    const folder = await mkdtemp(join(tmpdir(), 'g4f-fifo-'));
    try {
      const fifo = join(folder, 'config.json');
      execFileSync('mkfifo', [fifo]);
      await assert.rejects(loadConfig(fifo), /not a regular file/);
      await assert.rejects(loadConfig('/dev/zero'), /not a regular file/);
    } finally {
      await rm(folder, { recursive: true, force: true });
    }
  });
});
