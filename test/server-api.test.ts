/** The server's API over real sockets: wire format, listings, health, metrics, logs, disconnects, shutdown. */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { countTokens } from 'gpt-tokenizer/model/gpt-3.5-turbo';
import { createEmulator } from '../src/emulators/index.js';
import { getDefaultRuntime } from '../src/default-runtime.js';
import { createOpenAICompatibleProvider } from '../src/providers/index.js';
import { createRouter } from '../src/routing/index.js';
import { createCollectingLogger, createJsonLogger, startServer, type RequestLogRecord } from '../src/server/index.js';
import { postChat, rawExchange, send, sseData, startFixture, userMessage, type Fixture } from './server-fixture.js';

/** Body of a chunked HTTP/1.1 response, de-framed. */
function dechunk(body: string): string {
  let rest = Buffer.from(body, 'utf8');
  const pieces: Buffer[] = [];
  for (;;) {
    const lineEnd = rest.indexOf('\r\n');
    const size = Number.parseInt(rest.subarray(0, lineEnd).toString('latin1'), 16);
    if (size === 0) break;
    pieces.push(rest.subarray(lineEnd + 2, lineEnd + 2 + size));
    rest = rest.subarray(lineEnd + 2 + size + 2);
  }
  return Buffer.concat(pieces).toString('utf8');
}

interface ChunkEvent {
  id: string;
  object: string;
  created: number;
  model: string;
  choices: Array<{ index: number; delta: { role?: string; content?: string }; finish_reason: string | null }>;
  usage?: { prompt_tokens: number; completion_tokens: number; total_tokens: number } | null;
}

describe('server API', () => {
  let fixture: Fixture;
  before(async () => {
    fixture = await startFixture();
  });
  after(async () => {
    await fixture.close();
  });

  test('a non-streamed answer is a chat.completion with the upstream usage and the provider header', async () => {
    const response = await postChat(fixture.url, { model: 'test-model', messages: userMessage('hello there') });
    assert.equal(response.status, 200);
    assert.equal(response.headers['content-type'], 'application/json');
    assert.equal(response.headers['x-g4f-provider'], 'alpha');
    const body = JSON.parse(response.body) as Record<string, unknown>;
    assert.match(String(body.id), /^chatcmpl-[0-9a-f]{32}$/);
    assert.equal(body.object, 'chat.completion');
    assert.equal(typeof body.created, 'number');
    assert.equal(body.model, 'test-model');
    assert.deepEqual(body.choices, [
      { index: 0, message: { role: 'assistant', content: 'Echo: hello there', refusal: null }, logprobs: null, finish_reason: 'stop' },
    ]);
    const usage = body.usage as Record<string, number>;
    const upstream = fixture.alpha.requests.at(-1);
    assert.ok(upstream !== undefined);
    assert.equal(usage.total_tokens, usage.prompt_tokens! + usage.completion_tokens!);
    assert.ok(usage.completion_tokens! > 0);
  });

  test('without upstream usage, tokens are counted with the tokenizer', async () => {
    fixture.alpha.enqueue({ usage: false, text: 'Counted by the server, not the upstream.' });
    const response = await postChat(fixture.url, { model: 'test-model', messages: userMessage('count me') });
    assert.equal(response.status, 200);
    const body = JSON.parse(response.body) as { usage: Record<string, number> };
    assert.equal(body.usage.completion_tokens, countTokens('Counted by the server, not the upstream.'));
    // 3 priming + (3 + role + content) for the one message.
    assert.equal(body.usage.prompt_tokens, 3 + 3 + countTokens('user') + countTokens('count me'));
    assert.equal(body.usage.total_tokens, body.usage.prompt_tokens! + body.usage.completion_tokens!);
  });

  test('a streamed answer has OpenAI exact bytes: same id and created, role first, finish last, usage, [DONE]', async () => {
    fixture.alpha.enqueue({ chunks: ['Hel', 'lo "wo', 'rld"\n'], usage: false });
    const body = JSON.stringify({ model: 'tm', messages: userMessage('hi'), stream: true, stream_options: { include_usage: true } });
    const raw = await rawExchange(fixture.url, `POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json`, body);
    const [head = '', framed = ''] =
      raw.split('\r\n\r\n', 2).length === 2 ? [raw.slice(0, raw.indexOf('\r\n\r\n')), raw.slice(raw.indexOf('\r\n\r\n') + 4)] : [];
    assert.match(head, /^HTTP\/1\.1 200 OK\r\n/);
    assert.match(head, /\r\ncontent-type: text\/event-stream; charset=utf-8\r\n/i);
    assert.match(head, /\r\nx-g4f-provider: alpha\r\n/i);
    assert.match(head, /\r\ntransfer-encoding: chunked/i);
    const text = dechunk(framed);
    const first = JSON.parse(sseData(text)[0]!) as ChunkEvent;
    const prefix = `{"id":"${first.id}","object":"chat.completion.chunk","created":${first.created},"model":"test-model","choices":`;
    const expected =
      `data: ${prefix}[{"index":0,"delta":{"role":"assistant","content":"Hel"},"logprobs":null,"finish_reason":null}],"usage":null}\n\n` +
      `data: ${prefix}[{"index":0,"delta":{"content":"lo \\"wo"},"logprobs":null,"finish_reason":null}],"usage":null}\n\n` +
      `data: ${prefix}[{"index":0,"delta":{"content":"rld\\"\\n"},"logprobs":null,"finish_reason":null}],"usage":null}\n\n` +
      `data: ${prefix}[{"index":0,"delta":{},"logprobs":null,"finish_reason":"stop"}],"usage":null}\n\n` +
      `data: ${prefix}[],"usage":{"prompt_tokens":${3 + 3 + countTokens('user') + countTokens('hi')},"completion_tokens":${countTokens('Hello "world"\n')},"total_tokens":${
        3 + 3 + countTokens('user') + countTokens('hi') + countTokens('Hello "world"\n')
      }}}\n\n` +
      'data: [DONE]\n\n';
    assert.equal(text, expected);
  });

  test('a streamed answer takes the upstream usage when it gives one; no usage chunk unless asked', async () => {
    const withUsage = await postChat(fixture.url, {
      model: 'test-model',
      messages: userMessage('a b c'),
      stream: true,
      stream_options: { include_usage: true },
    });
    const events = sseData(withUsage.body);
    assert.equal(events.at(-1), '[DONE]');
    const usageEvent = JSON.parse(events.at(-2)!) as ChunkEvent;
    assert.deepEqual(usageEvent.choices, []);
    const upstreamBody = fixture.alpha.requests.at(-1)?.body as { stream_options?: unknown };
    assert.deepEqual(upstreamBody.stream_options, { include_usage: true });
    assert.ok(usageEvent.usage !== null && usageEvent.usage !== undefined && usageEvent.usage.total_tokens > 0);

    const without = await postChat(fixture.url, { model: 'test-model', messages: userMessage('a b c'), stream: true });
    const plain = sseData(without.body)
      .slice(0, -1)
      .map((data) => JSON.parse(data) as ChunkEvent);
    assert.ok(plain.every((event) => event.choices.length === 1 && !('usage' in event)));
    assert.equal(plain.map((event) => event.choices[0]?.delta.content ?? '').join(''), 'Echo: a b c');
    const ids = new Set(plain.map((event) => `${event.id}/${event.created}`));
    assert.equal(ids.size, 1);
    assert.equal(plain.filter((event) => event.choices[0]?.finish_reason !== null).length, 1);
    assert.equal(plain.at(-1)?.choices[0]?.finish_reason, 'stop');
  });

  test('an empty answer is no answer: the next provider answers; empty everywhere is a 502 naming each', async () => {
    fixture.alpha.enqueue({ chunks: [] });
    const response = await postChat(fixture.url, { model: 'test-model', messages: userMessage('x'), stream: true });
    assert.equal(response.status, 200);
    assert.equal(response.headers['x-g4f-provider'], 'beta');
    const events = sseData(response.body);
    assert.equal(events.at(-1), '[DONE]');
    const parsed = events.slice(0, -1).map((data) => JSON.parse(data) as ChunkEvent);
    assert.equal(parsed[0]?.choices[0]?.delta.role, 'assistant');
    assert.equal(parsed.at(-1)?.choices[0]?.finish_reason, 'stop');

    fixture.alpha.enqueue({ chunks: [] });
    fixture.beta.enqueue({ chunks: [] });
    const empty = await postChat(fixture.url, { model: 'test-model', messages: userMessage('x'), stream: true });
    assert.equal(empty.status, 502);
    const error = (JSON.parse(empty.body) as { error: { code: string; attempts: Array<{ provider: string; code: string }> } }).error;
    assert.equal(error.code, 'all_providers_failed');
    assert.deepEqual(
      error.attempts.map((attempt) => [attempt.provider, attempt.code]),
      [
        ['alpha', 'empty_answer'],
        ['beta', 'empty_answer'],
      ],
    );
  });

  test('OpenAI options the server does not interpret reach the upstream as they came; null is "not set"', async () => {
    const options = {
      response_format: { type: 'json_object' },
      logit_bias: { '50256': -100 },
      tool_choice: 'none',
      logprobs: true,
      top_logprobs: 2,
      seed: 42,
      stop: ['\n\n', 'END'],
      presence_penalty: 0.5,
      frequency_penalty: -0.5,
      top_p: 0.9,
      max_completion_tokens: 64,
      user: 'user-7',
      metadata: { team: 'x' },
      reasoning_effort: 'low',
      a_future_option: { nested: [1, 'two', null] },
    };
    const before = fixture.alpha.requests.length;
    const response = await postChat(fixture.url, {
      model: 'test-model',
      messages: userMessage('pass it on'),
      temperature: 0.3,
      ...options,
      suffix: null,
      n: 1,
    });
    assert.equal(response.status, 200);
    assert.equal(fixture.alpha.requests.length, before + 1);
    const upstream = fixture.alpha.requests.at(-1)?.body as Record<string, unknown>;
    for (const [key, value] of Object.entries(options)) assert.deepEqual(upstream[key], value, key);
    assert.equal(upstream.temperature, 0.3);
    assert.deepEqual(upstream.messages, userMessage('pass it on'));
    assert.ok(!('suffix' in upstream), 'a null option is not sent');
    assert.ok(!('stream_options' in upstream), 'no stream_options for a plain answer');
  });

  test('messages of any accepted shape reach an OpenAI-compatible upstream in its own shape', async () => {
    const response = await postChat(fixture.url, {
      model: 'test-model',
      messages: [
        { role: 'developer', content: 'be brief' },
        {
          role: 'user',
          name: 'ann',
          content: [
            { type: 'text', text: 'two' },
            { type: 'text', text: 'parts' },
          ],
        },
        { role: 'assistant', content: null },
        { role: 'user', content: 'last' },
      ],
    });
    assert.equal(response.status, 200);
    assert.deepEqual((fixture.alpha.requests.at(-1)?.body as { messages: unknown }).messages, [
      { role: 'system', content: 'be brief' },
      {
        role: 'user',
        content: [
          { type: 'text', text: 'two' },
          { type: 'text', text: 'parts' },
        ],
        name: 'ann',
      },
      { role: 'assistant', content: '' },
      { role: 'user', content: 'last' },
    ]);
  });

  test('the provider field forces a provider; a failing first provider falls back to the next', async () => {
    const forced = await postChat(fixture.url, { model: 'test-model', messages: userMessage('pick beta'), provider: 'beta' });
    assert.equal(forced.status, 200);
    assert.equal(forced.headers['x-g4f-provider'], 'beta');
    assert.equal((fixture.beta.requests.at(-1)?.body as { messages: Array<{ content: string }> }).messages[0]?.content, 'pick beta');

    fixture.alpha.enqueue({ status: 500 });
    const fallback = await postChat(fixture.url, { model: 'test-model', messages: userMessage('fall back'), stream: true });
    assert.equal(fallback.status, 200);
    assert.equal(fallback.headers['x-g4f-provider'], 'beta');
    assert.equal(sseData(fallback.body).at(-1), '[DONE]');
  });

  test('GET /v1/models lists models with aliases and providers; /v1/models/{id} finds one by alias', async () => {
    const list = await send(fixture.url, { path: '/v1/models' });
    assert.equal(list.status, 200);
    const body = JSON.parse(list.body) as { object: string; data: Array<Record<string, unknown>> };
    assert.equal(body.object, 'list');
    const model = body.data.find((item) => item.id === 'test-model');
    assert.ok(model !== undefined);
    assert.equal(model.object, 'model');
    assert.equal(typeof model.created, 'number');
    assert.equal(typeof model.owned_by, 'string');
    assert.deepEqual(model.providers, ['alpha', 'beta']);
    assert.ok((model.aliases as string[]).includes('tm'));

    const one = await send(fixture.url, { path: '/v1/models/tm' });
    assert.equal(one.status, 200);
    assert.equal((JSON.parse(one.body) as { id: string }).id, 'test-model');

    const missing = await send(fixture.url, { path: '/v1/models/no-such-model' });
    assert.equal(missing.status, 404);
    assert.equal((JSON.parse(missing.body) as { error: { code: string } }).error.code, 'model_not_found');
  });

  test('GET /v1/providers shows health; /health answers ok', async () => {
    const providers = await send(fixture.url, { path: '/v1/providers' });
    assert.equal(providers.status, 200);
    const body = JSON.parse(providers.body) as { data: Array<{ name: string; health: { state: string } }> };
    assert.deepEqual(body.data.map((item) => item.name).sort(), ['alpha', 'beta', 'slowpoke']);
    assert.ok(body.data.every((item) => item.health.state === 'closed'));
    const health = await send(fixture.url, { path: '/health' });
    assert.equal(health.status, 200);
    assert.equal((JSON.parse(health.body) as { status: string }).status, 'ok');
  });

  test('GET /metrics is Prometheus text with requests, errors, histograms and streams in flight', async () => {
    await postChat(fixture.url, { model: 'no-such-model', messages: userMessage('x') });
    const metrics = await send(fixture.url, { path: '/metrics' });
    assert.equal(metrics.status, 200);
    assert.match(String(metrics.headers['content-type']), /^text\/plain; version=0\.0\.4/);
    assert.match(metrics.body, /^g4f_requests_total\{route="chat",provider="alpha",status="200"\} \d+$/m);
    assert.match(metrics.body, /^g4f_errors_total\{route="chat",provider="none",kind="unknown_model"\} 1$/m);
    assert.match(metrics.body, /^g4f_request_duration_seconds_bucket\{provider="alpha",stream="true",le="\+Inf"\} \d+$/m);
    assert.match(metrics.body, /^g4f_time_to_first_token_seconds_count\{provider="alpha"\} \d+$/m);
    assert.match(metrics.body, /^g4f_streams_in_flight 0$/m);
  });

  test('one structured log line per request, without message text', async () => {
    const before = fixture.logger.records.length;
    const response = await postChat(fixture.url, { model: 'test-model', messages: userMessage('secret words') });
    const id = response.headers['x-request-id'];
    await waitUntil(() => fixture.logger.records.some((record) => record.id === id));
    const lines = fixture.logger.records.slice(before).filter((record) => record.id === id);
    assert.equal(lines.length, 1);
    const line = lines[0]!;
    assert.equal(line.event, 'request');
    assert.equal(line.method, 'POST');
    assert.equal(line.path, '/v1/chat/completions');
    assert.equal(line.model, 'test-model');
    assert.equal(line.provider, 'alpha');
    assert.equal(line.status, 200);
    assert.equal(typeof line.latencyMs, 'number');
    assert.ok(typeof line.tokens === 'object' && line.tokens !== null);
    assert.ok(!JSON.stringify(line).includes('secret words'));
  });

  test('a failed request logs which upstream failed and how, never what it said', async () => {
    fixture.alpha.enqueue({ status: 400, contentType: 'application/json', errorBody: '{"error":{"message":"alpha quotes secret words back"}}' });
    fixture.beta.enqueue({ status: 500, errorBody: 'beta internal trace 0xdeadbeef' });
    const response = await postChat(fixture.url, { model: 'test-model', messages: userMessage('secret words') });
    assert.equal(response.status, 502);
    assert.match(response.body, /0xdeadbeef/, 'the client is told');
    const id = response.headers['x-request-id'];
    await waitUntil(() => fixture.logger.records.some((record) => record.id === id));
    const line = fixture.logger.records.find((record) => record.id === id)!;
    assert.equal(line.level, 'error');
    assert.equal(line.error, 'all_providers_failed');
    assert.deepEqual(line.upstream, [
      { provider: 'alpha', kind: 'http_status', status: 400 },
      { provider: 'beta', kind: 'http_status', status: 500 },
    ]);
    const text = JSON.stringify(line);
    for (const words of ['secret words', 'quotes', '0xdeadbeef']) assert.ok(!text.includes(words), `${words} is not logged`);

    fixture.alpha.enqueue({ status: 503 });
    const fallback = await postChat(fixture.url, { model: 'test-model', messages: userMessage('x') });
    const fallbackId = fallback.headers['x-request-id'];
    await waitUntil(() => fixture.logger.records.some((record) => record.id === fallbackId));
    const fallbackLine = fixture.logger.records.find((record) => record.id === fallbackId)!;
    assert.equal(fallbackLine.status, 200);
    assert.equal(fallbackLine.error, undefined);
    assert.deepEqual(fallbackLine.upstream, [{ provider: 'alpha', kind: 'http_status', status: 503 }]);
  });

  test('a client that disconnects mid-stream aborts the upstream request at once', async () => {
    fixture.alpha.enqueue({ chunks: ['one ', 'two ', 'three '], stallAfterChunks: 1 });
    const upstreamIndex = fixture.alpha.requests.length;
    const { hostname, port } = new URL(fixture.url);
    const socket = connect(Number(port), hostname);
    const body = JSON.stringify({ model: 'test-model', messages: userMessage('then hang up'), stream: true });
    socket.write(
      `POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
    );
    let received = '';
    await new Promise<void>((resolve, reject) => {
      socket.on('data', (piece: Buffer) => {
        received += piece.toString('utf8');
        if (received.includes('"content":"one "')) resolve();
      });
      // An answer without the first chunk (an error, a closed socket) fails the test, never hangs it.
      socket.on('end', () => reject(new Error(`the server ended the answer before its first chunk: ${received}`)));
      socket.on('error', reject);
    });
    const aborted = fixture.alpha.waitForAbort(upstreamIndex, 10_000);
    socket.destroy();
    const record = await aborted;
    assert.equal(record.outcome, 'aborted');
    await waitUntil(() => fixture.logger.records.some((item) => item.event === 'request' && item.status === 499));
    const metrics = await send(fixture.url, { path: '/metrics' });
    assert.match(metrics.body, /^g4f_streams_in_flight 0$/m);
  });

  test('on a kept-alive connection, answers complete one after another and a disconnect still aborts the upstream at once', async () => {
    // The requests of one connection share their upstream abort signal while it is clean.
    const { hostname, port } = new URL(fixture.url);
    const socket = connect(Number(port), hostname);
    let received = '';
    let wanted: { text: string; resolve: () => void } | undefined;
    socket.on('data', (piece: Buffer) => {
      received += piece.toString('utf8');
      if (wanted !== undefined && received.includes(wanted.text)) wanted.resolve();
    });
    const ended = new Promise<never>((_, reject) => {
      socket.on('end', () => reject(new Error(`the server closed the connection: ${received}`)));
      socket.on('error', reject);
    });
    ended.catch(() => undefined);
    const exchange = async (prompt: string, text: string): Promise<void> => {
      const body = JSON.stringify({ model: 'test-model', messages: userMessage(prompt), stream: true });
      received = '';
      const seen = new Promise<void>((resolve) => {
        wanted = { text, resolve };
      });
      socket.write(
        `POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
      );
      await Promise.race([seen, ended]);
    };
    const first = fixture.alpha.requests.length;
    fixture.alpha.enqueue({ chunks: ['a ', 'b '] });
    await exchange('first', 'data: [DONE]\n\n\r\n0\r\n\r\n');
    fixture.alpha.enqueue({ chunks: ['c ', 'd '] });
    await exchange('second', 'data: [DONE]\n\n\r\n0\r\n\r\n');
    fixture.alpha.enqueue({ chunks: ['one ', 'two ', 'three '], stallAfterChunks: 1 });
    await exchange('then hang up', '"content":"one "');
    const aborted = fixture.alpha.waitForAbort(first + 2, 10_000);
    socket.destroy();
    assert.equal((await aborted).outcome, 'aborted');
    assert.deepEqual(
      fixture.alpha.requests.slice(first, first + 2).map((record) => record.outcome),
      ['completed', 'completed'],
    );
  });
});

describe('server options', () => {
  test('CORS is off by default and on for configured origins, with preflight', async () => {
    const fixture = await startFixture({ corsOrigins: ['http://app.example'] });
    try {
      const allowed = await send(fixture.url, { path: '/v1/models', headers: { origin: 'http://app.example' } });
      assert.equal(allowed.headers['access-control-allow-origin'], 'http://app.example');
      const other = await send(fixture.url, { path: '/v1/models', headers: { origin: 'http://evil.example' } });
      assert.equal(other.headers['access-control-allow-origin'], undefined);
      const preflight = await send(fixture.url, {
        method: 'OPTIONS',
        path: '/v1/chat/completions',
        headers: { origin: 'http://app.example', 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization, content-type' },
      });
      assert.equal(preflight.status, 204);
      assert.match(String(preflight.headers['access-control-allow-methods']), /POST/);
      assert.equal(preflight.headers['access-control-allow-headers'], 'authorization, content-type');
    } finally {
      await fixture.close();
    }
    const plain = await startFixture();
    try {
      const response = await send(plain.url, { path: '/v1/models', headers: { origin: 'http://app.example' } });
      assert.equal(response.headers['access-control-allow-origin'], undefined);
    } finally {
      await plain.close();
    }
  });

  test('binding another address than loopback without keys logs a clear warning', async () => {
    const logger = createCollectingLogger();
    const server = await startServer({ host: '0.0.0.0', port: 0, logger, router: createRouter({ providers: [] }), apiKeys: [], web: false });
    await server.close();
    const warning = logger.records.find((record) => record.event === 'insecure-bind');
    assert.ok(warning !== undefined);
    assert.equal(warning.level, 'warn');
    assert.match(String(warning.message), /without API keys/);

    const quiet = createCollectingLogger();
    const local = await startServer({ port: 0, logger: quiet, router: createRouter({ providers: [] }), apiKeys: [], web: false });
    await local.close();
    assert.equal(
      quiet.records.some((record) => record.event === 'insecure-bind'),
      false,
    );
  });

  test('close() lets a stream in flight finish, then resolves; new connections are refused', async () => {
    const emulator = await createEmulator({ protocol: 'openai', defaultPlan: { chunks: ['a', 'b', 'c', 'd', 'e'], chunkDelayMs: 40 } });
    const router = createRouter({ providers: [createOpenAICompatibleProvider({ name: 'solo', url: `${emulator.url}/v1`, models: ['m'] })] });
    const server = await startServer({ port: 0, router, quiet: true, web: false });
    try {
      const answer = postChat(server.url, { model: 'm', messages: userMessage('x'), stream: true });
      await emulator.waitForRequests(1, 10_000);
      const closed = server.close(10_000);
      const response = await answer;
      assert.equal(response.status, 200);
      const events = sseData(response.body);
      assert.equal(events.at(-1), '[DONE]');
      assert.equal(
        events
          .slice(0, -1)
          .map((data) => (JSON.parse(data) as ChunkEvent).choices[0]?.delta.content ?? '')
          .join(''),
        'abcde',
      );
      await closed;
      await assert.rejects(send(server.url, { path: '/health' }), /ECONNREFUSED/);
    } finally {
      await server.close();
      await emulator.close();
    }
  });

  test('close() past its deadline drops the streams left, which aborts their upstream requests', async () => {
    const emulator = await createEmulator({ protocol: 'openai', defaultPlan: { chunks: ['never', 'ends'], stallAfterChunks: 1 } });
    const router = createRouter({ providers: [createOpenAICompatibleProvider({ name: 'solo', url: `${emulator.url}/v1`, models: ['m'] })] });
    const server = await startServer({ port: 0, router, quiet: true, web: false });
    try {
      const answer = postChat(server.url, { model: 'm', messages: userMessage('x'), stream: true }).catch((error: unknown) => error);
      await emulator.waitForRequests(1, 10_000);
      const aborted = emulator.waitForAbort(0, 10_000);
      await server.close(200);
      await aborted;
      const outcome = await answer;
      // The client sees the answer cut: an error, or a body without [DONE].
      if (!(outcome instanceof Error)) assert.notEqual(sseData((outcome as { body: string }).body).at(-1), '[DONE]');
    } finally {
      await emulator.close();
    }
  });
});

async function waitUntil(condition: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

describe('log lines', () => {
  test('JSON lines: time and level first, then the record; messages and error text only with logMessages', async () => {
    const written: string[] = [];
    const logger = createJsonLogger({ write: (text: string) => written.push(text) });
    logger.log('warn', { event: 'example', id: 'x', quote: 'a "quoted"\nline' });
    assert.equal(written.length, 1);
    assert.ok(written[0]!.endsWith('\n'));
    const line = JSON.parse(written[0]!) as Record<string, unknown>;
    assert.deepEqual(Object.keys(line), ['time', 'level', 'event', 'id', 'quote']);
    assert.ok(!Number.isNaN(Date.parse(String(line.time))));
    assert.equal(line.level, 'warn');
    assert.equal(line.quote, 'a "quoted"\nline');

    const request: RequestLogRecord = {
      event: 'request',
      id: 'abc123',
      method: 'POST',
      path: '/v1/chat/completions?q="x"\n\u0001\ud800',
      status: 502,
      latencyMs: 12.5,
      model: 'model 🚀 "quoted"',
      provider: 'alpha',
      stream: true,
      tokens: { promptTokens: 1, completionTokens: 2, totalTokens: 3 },
      error: 'all_providers_failed',
      upstream: [{ provider: 'alpha', kind: 'http_status', status: 500 }],
      errorMessage: 'a\\b',
      messages: userMessage('hi'),
    };
    for (const record of [request, { event: 'request' as const, id: 'x', method: 'GET', path: '/health', status: 200, latencyMs: 0.1 }]) {
      written.length = 0;
      logger.logRequest?.('error', record);
      assert.equal(written.length, 0, 'request lines wait for the end of the turn');
      await new Promise((resolve) => setImmediate(resolve));
      assert.equal(written.length, 1, 'the JSON logger writes request lines itself');
      const parsed = JSON.parse(written[0]!) as Record<string, unknown>;
      assert.deepEqual(parsed, JSON.parse(JSON.stringify({ time: parsed.time, level: 'error', ...record })), 'the same JSON as JSON.stringify');
    }

    // Lines of one turn leave in one write; any other record first writes them, so order is kept.
    written.length = 0;
    const sample = { event: 'request' as const, id: 'y', method: 'GET', path: '/health', status: 200, latencyMs: 0.2 };
    logger.logRequest?.('info', { ...sample, id: 'first' });
    logger.logRequest?.('info', { ...sample, id: 'second' });
    logger.log('info', { event: 'closed' });
    assert.equal(written.length, 2);
    assert.deepEqual(
      written
        .join('')
        .trimEnd()
        .split('\n')
        .map((text) => (JSON.parse(text) as { id?: string; event: string }).id ?? (JSON.parse(text) as { event: string }).event),
      ['first', 'second', 'closed'],
    );
    // Past 16 KiB they are written without waiting.
    written.length = 0;
    let logged = 0;
    for (; logged < 200 && written.length === 0; logged++) logger.logRequest?.('info', { ...sample, path: `/${'p'.repeat(200)}` });
    assert.equal(written.length, 1, 'a full buffer is written at once');
    assert.ok(logged < 200);
    logger.logRequest?.('info', sample);
    logged++;
    logger.flush?.();
    assert.equal(written.join('').trimEnd().split('\n').length, logged, 'every line is written once');

    const fixture = await startFixture({ logMessages: true });
    try {
      fixture.alpha.enqueue({ status: 500, errorMessage: 'alpha broke' });
      fixture.beta.enqueue({ status: 500, errorMessage: 'beta broke' });
      const response = await postChat(fixture.url, { model: 'test-model', messages: userMessage('kept words') });
      const id = response.headers['x-request-id'];
      await waitUntil(() => fixture.logger.records.some((record) => record.id === id));
      const record = fixture.logger.records.find((item) => item.id === id)!;
      assert.deepEqual(record.messages, userMessage('kept words'));
      assert.match(String(record.errorMessage), /alpha broke/);
    } finally {
      await fixture.close();
    }
  });
});

test('request lines still waiting for their write are written when the process exits', async () => {
  // A child process logs two request lines and exits in the same turn of the event loop.
  const script = `
    import { createJsonLogger } from ${JSON.stringify(new URL('../src/server/logger.ts', import.meta.url).href)};
    const logger = createJsonLogger(process.stderr);
    logger.logRequest('info', { event: 'request', id: 'one', method: 'GET', path: '/health', status: 200, latencyMs: 1 });
    logger.logRequest('info', { event: 'request', id: 'two', method: 'GET', path: '/health', status: 200, latencyMs: 1 });
    process.exit(3);
  `;
  const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (text: string) => (stderr += text));
  const [code] = (await once(child, 'close')) as [number];
  assert.equal(code, 3);
  const ids = stderr
    .trim()
    .split('\n')
    .map((line) => (JSON.parse(line) as { id: string }).id);
  assert.deepEqual(ids, ['one', 'two']);
});

describe('demo mode and the web page hook', () => {
  test('demo: true starts the emulators, routes the built-in providers to them, and close() stops them', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'g4f-server-test-'));
    const server = await startServer({ port: 0, demo: true, quiet: true, dataDir });
    const demo = server.demo;
    assert.ok(demo !== undefined);
    let lockchatRequests = 0;
    const unsubscribe = demo.emulators.lockchat.on('request', () => {
      lockchatRequests += 1;
    });
    try {
      const response = await postChat(server.url, { model: 'gpt-4', messages: userMessage('hello demo'), stream: true });
      assert.equal(response.status, 200);
      assert.equal(response.headers['x-g4f-provider'], 'Lockchat');
      assert.equal(lockchatRequests, 1);
      assert.match(
        sseData(response.body)
          .slice(0, -1)
          .map((data) => (JSON.parse(data) as ChunkEvent).choices[0]?.delta.content ?? '')
          .join(''),
        /hello demo/,
      );
      // Outside /v1, /health and /metrics: the web page's API answers.
      const config = await send(server.url, { path: '/api/config' });
      assert.equal(config.status, 200);
      assert.equal((JSON.parse(config.body) as { demo: boolean }).demo, true);
      // The emulators' base URLs are in the server's own runtime, nowhere else.
      assert.equal(server.router.runtime.providerSettings('Lockchat')?.baseUrl, demo.emulators.lockchat.url);
      assert.equal(getDefaultRuntime().providerSettings('Lockchat'), undefined, 'the library default is untouched');
    } finally {
      unsubscribe();
      await server.close();
      await rm(dataDir, { recursive: true, force: true });
    }
    await assert.rejects(send(demo.emulators.lockchat.url, { path: '/v1/models' }), /ECONNREFUSED/);
  });
});
