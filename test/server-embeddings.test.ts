/**
 * `POST /v1/embeddings` with the official `openai` client over real sockets, in front of emulated
 * OpenAI-compatible upstreams: both encodings, token inputs, fallback, a model that cannot embed,
 * bad inputs, upstream faults, `/v1/models` marking embedding models, and demo mode.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import OpenAI, { APIError, BadRequestError, NotFoundError, RateLimitError } from 'openai';
import { createRuntime } from '../src/core/runtime.js';
import { createEmulator, emulatedEmbedding, type Emulator } from '../src/emulators/index.js';
import { createOpenAICompatibleProvider } from '../src/providers/index.js';
import { createRouter, type Router } from '../src/routing/index.js';
import { createCollectingLogger, startServer, type CollectingLogger, type RunningServer } from '../src/server/index.js';
import { send } from './server-fixture.js';

interface ErrorBody {
  error: { message: string; type: string; param: string | null; code: string | null; attempts?: Array<{ provider: string }> };
}

function near(actual: readonly number[], expected: readonly number[]): void {
  assert.equal(actual.length, expected.length);
  for (const [index, value] of actual.entries())
    assert.ok(Math.abs(value - (expected[index] as number)) < 1e-6, `value ${index}: ${value} vs ${expected[index]}`);
}

describe('embeddings door with the openai client', () => {
  let alpha: Emulator;
  let beta: Emulator;
  let server: RunningServer;
  let router: Router;
  let logger: CollectingLogger;
  let client: OpenAI;

  before(async () => {
    alpha = await createEmulator({ protocol: 'openai' });
    beta = await createEmulator({ protocol: 'openai' });
    const providers = [
      createOpenAICompatibleProvider({ name: 'alpha', url: `${alpha.url}/v1`, models: ['test-embed', 'alpha-embed'] }),
      createOpenAICompatibleProvider({ name: 'beta', url: `${beta.url}/v1`, models: ['test-embed'] }),
      // Configured with embeddings off: it serves chat only.
      createOpenAICompatibleProvider({ name: 'chatty', url: `${beta.url}/v1`, models: ['chat-only'], capabilities: { tools: true } }),
    ];
    const runtime = createRuntime({ providers: { alpha: { timeouts: { total: 500 } } } });
    router = createRouter({
      runtime,
      providers,
      models: { 'test-embed': ['alpha', 'beta'] },
      aliases: { te: 'test-embed' },
      retry: { attempts: 1 },
      circuit: { failureThreshold: 1_000_000 },
    });
    logger = createCollectingLogger();
    server = await startServer({ port: 0, web: false, router, logger });
    client = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: 'unused', maxRetries: 0 });
  });
  after(async () => {
    await server.close(2_000);
    await Promise.all([alpha.close(), beta.close()]);
    await router.runtime.close();
  });

  test('float: one vector per input, in order, with usage; the upstream gets OpenAI wire fields', async () => {
    alpha.reset();
    const result = await client.embeddings.create({ model: 'te', input: ['hello there', 'world'], encoding_format: 'float', user: 'user-1' });
    assert.equal(result.object, 'list');
    assert.equal(result.model, 'test-embed');
    assert.deepEqual(
      result.data.map((item) => [item.object, item.index]),
      [
        ['embedding', 0],
        ['embedding', 1],
      ],
    );
    assert.deepEqual(result.data[0]?.embedding, emulatedEmbedding('test-embed', 'hello there'));
    assert.deepEqual(result.data[1]?.embedding, emulatedEmbedding('test-embed', 'world'));
    assert.deepEqual(result.usage, { prompt_tokens: 3, total_tokens: 3 });
    const [upstream] = alpha.requests;
    assert.equal(upstream?.path, '/v1/embeddings');
    assert.deepEqual(upstream?.body, { model: 'test-embed', input: ['hello there', 'world'], encoding_format: 'float', user: 'user-1' });
  });

  test('base64 (the client default, decoded by it) says the same vectors; dimensions reach the upstream', async () => {
    alpha.reset();
    const result = await client.embeddings.create({ model: 'test-embed', input: 'hello there', dimensions: 8 });
    assert.equal(result.data.length, 1);
    near(result.data[0]?.embedding ?? [], emulatedEmbedding('test-embed', 'hello there', 8));
    assert.equal((alpha.requests[0]?.body as { dimensions?: unknown }).dimensions, 8);
    // On the wire: base64 of little-endian float32 values.
    const raw = await send(server.url, {
      method: 'POST',
      path: '/v1/embeddings',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'test-embed', input: 'hello there', dimensions: 8, encoding_format: 'base64' }),
    });
    assert.equal(raw.status, 200);
    const encoded = (JSON.parse(raw.body) as { data: Array<{ embedding: string }> }).data[0]?.embedding ?? '';
    const bytes = Buffer.from(encoded, 'base64');
    assert.equal(bytes.length, 32);
    const decoded = Array.from({ length: 8 }, (_, index) => bytes.readFloatLE(index * 4));
    assert.deepEqual(decoded, emulatedEmbedding('test-embed', 'hello there', 8));
  });

  test('token inputs: one list of ids, or a list of lists', async () => {
    const one = await client.embeddings.create({ model: 'test-embed', input: [1, 2, 3], encoding_format: 'float' });
    assert.deepEqual(one.data[0]?.embedding, emulatedEmbedding('test-embed', [1, 2, 3]));
    const many = await client.embeddings.create({ model: 'test-embed', input: [[1, 2], [3]], encoding_format: 'float' });
    assert.deepEqual(
      many.data.map((item) => item.embedding),
      [emulatedEmbedding('test-embed', [1, 2]), emulatedEmbedding('test-embed', [3])],
    );
    assert.equal(many.usage.prompt_tokens, 3);
  });

  test('the emulator itself answers the openai client in both encodings', async () => {
    const direct = new OpenAI({ baseURL: `${alpha.url}/v1`, apiKey: 'unused', maxRetries: 0 });
    const base64 = await direct.embeddings.create({ model: 'm', input: ['a', 'b'], dimensions: 4 });
    const float = await direct.embeddings.create({ model: 'm', input: ['a', 'b'], dimensions: 4, encoding_format: 'float' });
    assert.deepEqual(
      base64.data.map((item) => item.embedding),
      float.data.map((item) => item.embedding),
    );
    assert.deepEqual(float.data[1]?.embedding, emulatedEmbedding('m', 'b', 4));
  });

  test('fallback: a failing first provider, the next one answers; the failure is counted', async () => {
    alpha.reset();
    beta.reset();
    alpha.enqueue({ status: 503 });
    const { data, response } = await client.embeddings.create({ model: 'test-embed', input: 'again', encoding_format: 'float' }).withResponse();
    assert.equal(response.headers.get('x-g4f-provider'), 'beta');
    assert.deepEqual(data.data[0]?.embedding, emulatedEmbedding('test-embed', 'again'));
    assert.equal(alpha.requests.length, 1);
    assert.equal(beta.requests.length, 1);
    const line = logger.records.findLast((record) => record.path === '/v1/embeddings');
    assert.equal(line?.provider, 'beta');
    assert.deepEqual(line?.upstream, [{ provider: 'alpha', kind: 'http_status', status: 503 }]);
    const metrics = await send(server.url, { path: '/metrics' });
    assert.match(metrics.body, /g4f_requests_total\{route="embeddings",provider="beta",status="200"\} \d+/);
    assert.match(metrics.body, /g4f_upstream_errors_total\{provider="alpha",kind="http_status"\} \d+/);
  });

  test('a model whose providers cannot embed is a 400 naming it, and no upstream is asked', async () => {
    beta.reset();
    await assert.rejects(client.embeddings.create({ model: 'chat-only', input: 'x' }), (error: unknown) => {
      assert.ok(error instanceof BadRequestError);
      assert.equal(error.param, 'model');
      assert.equal(error.code, 'unsupported');
      assert.match(error.message, /chat-only makes no embeddings.*chatty/);
      return true;
    });
    assert.equal(beta.requests.length, 0);
    await assert.rejects(client.embeddings.create({ model: 'no-such-model', input: 'x' }), NotFoundError);
  });

  test('bad inputs are 400s naming the field', async () => {
    const cases: Array<[unknown, string]> = [
      [{ model: 'test-embed' }, 'input'],
      [{ model: 'test-embed', input: '' }, 'input'],
      [{ model: 'test-embed', input: [] }, 'input'],
      [{ model: 'test-embed', input: 7 }, 'input'],
      [{ model: 'test-embed', input: { text: 'a' } }, 'input'],
      [{ model: 'test-embed', input: null }, 'input'],
      [{ model: 'test-embed', input: ['a', 2] }, 'input[1]'],
      [{ model: 'test-embed', input: ['a', ''] }, 'input[1]'],
      [{ model: 'test-embed', input: [1, 'a'] }, 'input'],
      [{ model: 'test-embed', input: [1, -2] }, 'input'],
      [{ model: 'test-embed', input: [1.5] }, 'input'],
      [{ model: 'test-embed', input: [[1], []] }, 'input[1]'],
      [{ model: 'test-embed', input: [[1], 'a'] }, 'input[1]'],
      [{ model: 'test-embed', input: [true] }, 'input[0]'],
      [{ model: 'test-embed', input: Array.from({ length: 2049 }, () => 'a') }, 'input'],
      [{ input: 'a' }, 'model'],
      [{ model: 5, input: 'a' }, 'model'],
      [{ model: 'test-embed', input: 'a', encoding_format: 'hex' }, 'encoding_format'],
      [{ model: 'test-embed', input: 'a', dimensions: 0 }, 'dimensions'],
      [{ model: 'test-embed', input: 'a', dimensions: 1.5 }, 'dimensions'],
      [{ model: 'test-embed', input: 'a', dimensions: '8' }, 'dimensions'],
      [{ model: 'test-embed', input: 'a', user: 5 }, 'user'],
      [{ model: 'test-embed', input: 'a', temperature: 1 }, 'temperature'],
    ];
    alpha.reset();
    beta.reset();
    for (const [body, param] of cases) {
      const reply = await send(server.url, {
        method: 'POST',
        path: '/v1/embeddings',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
      assert.equal(reply.status, 400, `${JSON.stringify(body).slice(0, 80)} → ${reply.body}`);
      const error = (JSON.parse(reply.body) as ErrorBody).error;
      assert.equal(error.param, param, JSON.stringify(body).slice(0, 80));
      assert.equal(error.type, 'invalid_request_error');
    }
    const notJson = await send(server.url, { method: 'POST', path: '/v1/embeddings', headers: { 'content-type': 'application/json' }, body: '{"model":' });
    assert.equal(notJson.status, 400);
    const wrongMethod = await send(server.url, { path: '/v1/embeddings' });
    assert.equal(wrongMethod.status, 405);
    assert.equal(wrongMethod.headers.allow, 'POST');
    assert.equal(alpha.requests.length + beta.requests.length, 0, 'nothing reached an upstream');
  });

  test('upstream faults: every provider failing, a rate limit, a cut body and a stall end in the error shape', async () => {
    // alpha-embed has one provider: alpha.
    alpha.enqueue({ status: 500 });
    await assert.rejects(client.embeddings.create({ model: 'alpha-embed', input: 'x' }), (error: unknown) => {
      assert.ok(error instanceof APIError);
      assert.equal(error.status, 502);
      assert.equal(error.code, 'all_providers_failed');
      assert.deepEqual(
        (error.error as ErrorBody['error']).attempts?.map((attempt) => attempt.provider),
        ['alpha'],
      );
      return true;
    });
    alpha.enqueue({ status: 429, retryAfter: 30 });
    await assert.rejects(client.embeddings.create({ model: 'alpha-embed', input: 'x' }), RateLimitError);
    alpha.enqueue({ disconnectAfterChunks: 0 });
    await assert.rejects(client.embeddings.create({ model: 'alpha-embed', input: 'x' }), (error: unknown) => error instanceof APIError && error.status === 502);
    alpha.enqueue({ invalidJson: true });
    await assert.rejects(client.embeddings.create({ model: 'alpha-embed', input: 'x' }), (error: unknown) => error instanceof APIError && error.status === 502);
    // alpha's total timer is 500 ms.
    alpha.enqueue({ stallAfterChunks: 0 });
    await assert.rejects(client.embeddings.create({ model: 'alpha-embed', input: 'x' }), (error: unknown) => {
      assert.ok(error instanceof APIError);
      assert.equal(error.status, 504);
      assert.equal(error.code, 'timeout');
      return true;
    });
    await alpha.waitForIdle();
    alpha.enqueue({ status: 400, errorMessage: 'input too long for this model' });
    await assert.rejects(client.embeddings.create({ model: 'alpha-embed', input: 'x' }), (error: unknown) => {
      assert.ok(error instanceof BadRequestError);
      assert.match(error.message, /input too long for this model/);
      return true;
    });
  });

  test('a body over the limit is a 413, and a client that goes away aborts the upstream call', async () => {
    const huge = await send(server.url, {
      method: 'POST',
      path: '/v1/embeddings',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'test-embed', input: 'x'.repeat(1024 * 1024 + 10) }),
    });
    assert.equal(huge.status, 413);
    assert.equal((JSON.parse(huge.body) as ErrorBody).error.type, 'invalid_request_error');

    alpha.reset();
    alpha.enqueue({ stallAfterChunks: 0 });
    const controller = new AbortController();
    const pending = client.embeddings.create({ model: 'alpha-embed', input: 'never answered' }, { signal: controller.signal });
    await alpha.waitForRequests(1);
    const abortedAt = Date.now();
    controller.abort();
    await assert.rejects(pending);
    const record = await alpha.waitForAbort(0);
    assert.equal(record.path, '/v1/embeddings');
    // At once, not by alpha's total timer (500 ms after the request).
    assert.ok((record.endedAt ?? Infinity) - abortedAt < 300, `ended ${(record.endedAt ?? 0) - abortedAt} ms after the abort`);
  });

  test('/v1/models marks the models that embed', async () => {
    const list = await client.models.list();
    const capabilities = new Map(list.data.map((model) => [model.id, (model as unknown as { capabilities: string[] }).capabilities]));
    assert.ok(capabilities.get('test-embed')?.includes('embeddings'));
    assert.ok(!capabilities.get('chat-only')?.includes('embeddings'));
    assert.deepEqual(capabilities.get('chat-only'), ['tools']);
    const pinned = await send(server.url, { path: '/v1/models/chatty/chat-only' });
    assert.deepEqual((JSON.parse(pinned.body) as { capabilities: string[] }).capabilities, ['tools']);
  });
});

describe('embeddings in demo mode', () => {
  test('g4f serve --demo answers embeddings with demo-embedding, and marks it', async () => {
    const server = await startServer({ port: 0, web: false, demo: true, quiet: true });
    try {
      const client = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: 'unused', maxRetries: 0 });
      const result = await client.embeddings.create({ model: 'demo-embedding', input: ['one', 'two'] });
      assert.deepEqual(
        result.data.map((item) => item.embedding),
        [emulatedEmbedding('demo-embedding', 'one'), emulatedEmbedding('demo-embedding', 'two')],
      );
      const models = await client.models.list();
      const marked = models.data
        .filter((model) => (model as unknown as { capabilities: string[] }).capabilities.includes('embeddings'))
        .map((model) => model.id);
      assert.deepEqual(marked, ['demo-embedding']);
      await assert.rejects(client.embeddings.create({ model: 'demo-agent', input: 'x' }), BadRequestError);
    } finally {
      await server.close(2_000);
    }
  });
});
