/** Every bad input and every upstream failure, answered in OpenAI's error shape with the right status. */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createHostCheck, defaultAllowedHosts } from '../src/server/index.js';
import { postChat, send, sseData, startFixture, userMessage, type Fixture, type RawResponse } from './server-fixture.js';

interface ErrorBody {
  error: { message: string; type: string; param: string | null; code: string | null; attempts?: Array<{ provider: string; code: string; status?: number }> };
}

function errorOf(response: RawResponse): ErrorBody['error'] {
  assert.equal(response.headers['content-type'], 'application/json');
  const body = JSON.parse(response.body) as ErrorBody;
  assert.deepEqual(Object.keys(body), ['error']);
  for (const key of ['message', 'type', 'param', 'code'] as const) assert.ok(key in body.error, `error.${key} is present`);
  assert.equal(typeof body.error.message, 'string');
  return body.error;
}

describe('bad requests', () => {
  let fixture: Fixture;
  before(async () => {
    fixture = await startFixture({ bodyLimitBytes: 4096, imageBodyLimitBytes: 16 * 1024 });
  });
  after(async () => {
    await fixture.close();
  });

  test('400 for a body that is not JSON, not an object, or empty', async () => {
    const broken = await send(fixture.url, {
      method: 'POST',
      path: '/v1/chat/completions',
      headers: { 'content-type': 'application/json' },
      body: '{"model": ',
    });
    assert.equal(broken.status, 400);
    assert.equal(errorOf(broken).code, 'invalid_json');
    const array = await send(fixture.url, { method: 'POST', path: '/v1/chat/completions', headers: { 'content-type': 'application/json' }, body: '[1,2]' });
    assert.equal(array.status, 400);
    assert.equal(errorOf(array).type, 'invalid_request_error');
    const empty = await send(fixture.url, { method: 'POST', path: '/v1/chat/completions', headers: { 'content-type': 'application/json' }, body: '' });
    assert.equal(empty.status, 400);
  });

  test('400 names the field at fault', async () => {
    const cases: Array<[unknown, string]> = [
      [{ messages: userMessage('x') }, 'model'],
      [{ model: 'test-model' }, 'messages'],
      [{ model: 'test-model', messages: [] }, 'messages'],
      [{ model: 'test-model', messages: [{ role: 'wizard', content: 'x' }] }, 'messages[0].role'],
      [
        {
          model: 'test-model',
          messages: [
            { role: 'user', content: 'a' },
            { role: 'user', content: 5 },
          ],
        },
        'messages[1].content',
      ],
      [{ model: 'test-model', messages: userMessage('x'), temperature: 5 }, 'temperature'],
      [{ model: 'test-model', messages: userMessage('x'), stream: 'yes' }, 'stream'],
      [{ model: 'test-model', messages: userMessage('x'), max_tokens: -1 }, 'max_tokens'],
      [{ model: 'test-model', messages: userMessage('x'), n: 0 }, 'n'],
      [{ model: 'test-model', messages: userMessage('x'), provider: 'nobody' }, 'provider'],
    ];
    for (const [body, param] of cases) {
      const response = await postChat(fixture.url, body);
      assert.equal(response.status, 400, `${JSON.stringify(body)} -> 400`);
      const error = errorOf(response);
      assert.equal(error.type, 'invalid_request_error');
      assert.equal(error.param, param, `${JSON.stringify(body)} names ${param}`);
    }
    assert.equal(fixture.alpha.requests.length, 0, 'no bad request reached an upstream');
  });

  test('400 for what cannot be carried faithfully: legacy functions, unknown part types, reserved fields', async () => {
    const cases: Array<[unknown, string, RegExp]> = [
      [{ model: 'test-model', messages: userMessage('x'), functions: [{ name: 'f' }] }, 'functions', /legacy functions field is not supported: use tools/],
      [
        {
          model: 'test-model',
          messages: [
            { role: 'user', content: 'a' },
            {
              role: 'user',
              content: [
                { type: 'text', text: 'hear' },
                { type: 'input_audio', input_audio: { data: 'AAAA', format: 'wav' } },
              ],
            },
          ],
        },
        'messages[1].content[1]',
        /content parts of type 'input_audio' are not supported/,
      ],
      [{ model: 'test-model', messages: userMessage('x'), timeouts: { total: 1 } }, 'timeouts', /cannot be set/],
      [{ model: 'test-model', messages: userMessage('x'), auth: 'someone-else' }, 'auth', /cannot be set/],
    ];
    for (const [body, param, message] of cases) {
      const response = await postChat(fixture.url, body);
      assert.equal(response.status, 400, `${JSON.stringify(body)} -> 400`);
      const error = errorOf(response);
      assert.equal(error.type, 'invalid_request_error');
      assert.equal(error.param, param);
      assert.match(error.message, message);
    }
    const proto = await send(fixture.url, {
      method: 'POST',
      path: '/v1/chat/completions',
      headers: { 'content-type': 'application/json' },
      body: '{"model":"test-model","messages":[{"role":"user","content":"x"}],"__proto__":{"auth":"x"}}',
    });
    assert.equal(proto.status, 400);
    assert.equal(errorOf(proto).param, '__proto__');
    assert.equal(fixture.alpha.requests.length, 0, 'no refused request reached an upstream');
  });

  test('404 for an unknown model, an unknown route, an unknown /v1 route', async () => {
    const model = await postChat(fixture.url, { model: 'no-such-model', messages: userMessage('x') });
    assert.equal(model.status, 404);
    const error = errorOf(model);
    assert.equal(error.code, 'model_not_found');
    assert.equal(error.param, 'model');
    assert.match(error.message, /no-such-model/);
    for (const path of ['/nowhere', '/v1/nowhere', '/v1/chat/completions/extra']) {
      const response = await send(fixture.url, { path });
      assert.equal(response.status, 404, path);
      assert.equal(errorOf(response).code, 'unknown_url');
    }
  });

  test('405 for a known route with the wrong method', async () => {
    const response = await send(fixture.url, { path: '/v1/chat/completions' });
    assert.equal(response.status, 405);
    assert.equal(response.headers.allow, 'POST');
    assert.equal(errorOf(response).code, 'method_not_allowed');
  });

  test('415 for a body that is not declared JSON', async () => {
    const response = await send(fixture.url, { method: 'POST', path: '/v1/chat/completions', headers: { 'content-type': 'text/plain' }, body: '{}' });
    assert.equal(response.status, 415);
    assert.equal(errorOf(response).code, 'unsupported_media_type');
    const none = await send(fixture.url, { method: 'POST', path: '/v1/chat/completions', body: '{}' });
    assert.equal(none.status, 415);
  });

  test('413 for a declared length over the limit', async () => {
    const body = JSON.stringify({ model: 'test-model', messages: userMessage('x'.repeat(5000)) });
    const response = await postChat(fixture.url, JSON.parse(body));
    assert.equal(response.status, 413);
    assert.equal(errorOf(response).code, 'request_too_large');
  });

  test('413 while reading a chunked body, before the client has finished sending', async () => {
    const { hostname, port } = new URL(fixture.url);
    const socket = connect(Number(port), hostname);
    socket.write('POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n');
    const piece = 'x'.repeat(1024);
    const frame = `${piece.length.toString(16)}\r\n${piece}\r\n`;
    let received = '';
    const answered = new Promise<string>((resolve, reject) => {
      socket.on('data', (data: Buffer) => {
        received += data.toString('utf8');
        if (received.includes('\r\n\r\n')) resolve(received);
      });
      socket.on('error', reject);
    });
    // Send 32 KiB (twice the larger, image limit) and never the final chunk: the answer must come anyway.
    for (let sent = 0; sent < 32; sent += 1) socket.write(frame);
    const head = await answered;
    socket.destroy();
    assert.match(head, /^HTTP\/1\.1 413 /);
    assert.match(head, /\r\nconnection: close\r\n/i);
  });

  test('a body with images may use the larger image limit; a text body over the plain limit is a 413', async () => {
    const padding = 'p'.repeat(6000);
    const image = { type: 'image_url', image_url: { url: `data:image/png;base64,${Buffer.alloc(3000, 7).toString('base64')}` } };
    const withImage = await postChat(fixture.url, { model: 'test-model', messages: [{ role: 'user', content: [{ type: 'text', text: padding }, image] }] });
    assert.equal(withImage.status, 200, withImage.body);
    const textOnly = await postChat(fixture.url, { model: 'test-model', messages: userMessage(padding) });
    assert.equal(textOnly.status, 413);
    assert.match(errorOf(textOnly).message, /limit of 4096 bytes/);
  });

  test('the error shape is the same on every /v1 route and never leaks a stack', async () => {
    const response = await postChat(fixture.url, { model: 'test-model', messages: userMessage('x'), temperature: 'hot' });
    const error = errorOf(response);
    assert.ok(!error.message.includes('    at '));
  });
});

describe('API keys', () => {
  let fixture: Fixture;
  before(async () => {
    fixture = await startFixture({ apiKeys: ['key-one', 'a-much-longer-second-key'] });
  });
  after(async () => {
    await fixture.close();
  });

  test('401 without a key or with a wrong one, on every /v1 route', async () => {
    for (const path of ['/v1/models', '/v1/providers', '/v1/models/test-model', '/v1/anything']) {
      const response = await send(fixture.url, { path });
      assert.equal(response.status, 401, path);
      const error = errorOf(response);
      assert.equal(error.type, 'authentication_error');
      assert.equal(error.code, 'invalid_api_key');
    }
    for (const header of ['Bearer wrong', 'Bearer key-on', 'Bearer key-one-and-more', 'key-one', 'Basic a2V5LW9uZQ==']) {
      const response = await postChat(fixture.url, { model: 'test-model', messages: userMessage('x') }, { authorization: header });
      assert.equal(response.status, 401, header);
    }
    assert.equal(fixture.alpha.requests.length, 0);
  });

  test('each configured key is accepted; /health stays open', async () => {
    for (const key of ['key-one', 'a-much-longer-second-key']) {
      const response = await postChat(fixture.url, { model: 'test-model', messages: userMessage('x') }, { authorization: `Bearer ${key}` });
      assert.equal(response.status, 200, key);
    }
    const health = await send(fixture.url, { path: '/health' });
    assert.equal(health.status, 200);
    const metrics = await send(fixture.url, { path: '/metrics', headers: { authorization: 'Bearer key-one' } });
    assert.equal(metrics.status, 200);
  });

  test('keys never reach the log', () => {
    const text = JSON.stringify(fixture.logger.records);
    assert.ok(fixture.logger.records.length > 0);
    assert.ok(!text.includes('key-one'));
    assert.ok(!text.includes('a-much-longer-second-key'));
  });
});

describe('host names (DNS rebinding)', () => {
  let fixture: Fixture;
  before(async () => {
    fixture = await startFixture({ web: true, dataDir: mkdtempSync(join(tmpdir(), 'g4f-hosts-')) });
  });
  after(async () => {
    await fixture.close();
  });

  test('a server on 127.0.0.1 refuses any other name, on every route, before any work', async () => {
    const port = new URL(fixture.url).port;
    for (const host of [`evil.example:${port}`, 'evil.example', `attacker.127.0.0.1.nip.io:${port}`, `192.168.1.20:${port}`, 'localhost.evil.example']) {
      for (const path of ['/v1/models', '/health', '/', '/api/conversations']) {
        const response = await send(fixture.url, { path, headers: { host } });
        assert.equal(response.status, 403, `${host} ${path}`);
        const error = errorOf(response);
        assert.equal(error.code, 'host_not_allowed');
        assert.equal(error.type, 'permission_error');
      }
      const chat = await postChat(fixture.url, { model: 'test-model', messages: userMessage('x') }, { host });
      assert.equal(chat.status, 403);
    }
    assert.equal(fixture.alpha.requests.length, 0, 'no upstream call for a refused host');
    const record = fixture.logger.records.find((item) => item.event === 'request' && item.status === 403);
    assert.equal(record?.error, 'host_not_allowed');
  });

  test('loopback names are answered', async () => {
    const port = new URL(fixture.url).port;
    for (const host of [`127.0.0.1:${port}`, `localhost:${port}`, 'LOCALHOST', `app.localhost:${port}`, `[::1]:${port}`, '127.1.2.3', 'localhost.']) {
      const response = await send(fixture.url, { path: '/health', headers: { host } });
      assert.equal(response.status, 200, host);
    }
  });
});

describe('host names: configured', () => {
  test('config names (with subdomains) and G4F_ALLOWED_HOSTS open more names; * opens all', async () => {
    const configured = await startFixture({ config: { server: { allowedHosts: ['gateway.lan', '.corp.example'] } } });
    try {
      for (const [host, status] of [
        ['gateway.lan:80', 200],
        ['corp.example', 200],
        ['a.b.corp.example', 200],
        ['xcorp.example', 403],
        ['gateway.lan.evil', 403],
      ] as const) {
        assert.equal((await send(configured.url, { path: '/health', headers: { host } })).status, status, host);
      }
    } finally {
      await configured.close();
    }
    process.env.G4F_ALLOWED_HOSTS = 'one.example, two.example';
    try {
      const fromEnv = await startFixture({ config: { server: { allowedHosts: ['gateway.lan'] } } });
      try {
        assert.equal((await send(fromEnv.url, { path: '/health', headers: { host: 'two.example' } })).status, 200);
        assert.equal((await send(fromEnv.url, { path: '/health', headers: { host: 'gateway.lan' } })).status, 403, 'the variable wins over the file');
      } finally {
        await fromEnv.close();
      }
      process.env.G4F_ALLOWED_HOSTS = '*';
      const any = await startFixture();
      try {
        assert.equal((await send(any.url, { path: '/health', headers: { host: 'whatever.example' } })).status, 200);
      } finally {
        await any.close();
      }
    } finally {
      delete process.env.G4F_ALLOWED_HOSTS;
    }
  });

  test('the defaults: loopback binds answer loopback names, other binds any name', () => {
    assert.deepEqual(defaultAllowedHosts('127.0.0.1'), []);
    assert.deepEqual(defaultAllowedHosts('localhost'), []);
    assert.deepEqual(defaultAllowedHosts('::1'), []);
    assert.equal(defaultAllowedHosts('0.0.0.0'), '*');
    assert.equal(defaultAllowedHosts('192.168.1.20'), '*');
    const check = createHostCheck([]);
    assert.equal(check(undefined), true, 'HTTP/1.0 without a Host');
    assert.equal(check('localhost:1'), true);
    assert.equal(check('example.com'), false);
    assert.equal(check('localhost:1'), true);
  });
});

describe('upstream failures', () => {
  let fixture: Fixture;
  before(async () => {
    fixture = await startFixture();
  });
  after(async () => {
    await fixture.close();
  });

  test('429 with Retry-After when every provider is rate-limited', async () => {
    fixture.alpha.enqueue({ status: 429, retryAfter: 7 });
    fixture.beta.enqueue({ status: 429, retryAfter: 3 });
    const response = await postChat(fixture.url, { model: 'test-model', messages: userMessage('x') });
    assert.equal(response.status, 429);
    assert.equal(response.headers['retry-after'], '3');
    const error = errorOf(response);
    assert.equal(error.type, 'rate_limit_error');
    assert.deepEqual(
      error.attempts?.map((attempt) => attempt.provider),
      ['alpha', 'beta'],
    );
  });

  test('502 when all providers failed, with each one summarized', async () => {
    fixture.alpha.enqueue({ status: 500, errorMessage: 'alpha is down' });
    fixture.beta.enqueue({ status: 503, errorMessage: 'beta is down' });
    const response = await postChat(fixture.url, { model: 'test-model', messages: userMessage('x'), stream: true });
    assert.equal(response.status, 502);
    const error = errorOf(response);
    assert.equal(error.code, 'all_providers_failed');
    assert.match(error.message, /alpha/);
    assert.match(error.message, /beta/);
    assert.deepEqual(
      error.attempts?.map((attempt) => [attempt.provider, attempt.status]),
      [
        ['alpha', 500],
        ['beta', 503],
      ],
    );
  });

  test('an upstream refusal of the request itself keeps its status and reason (400, not 502)', async () => {
    const refusal = {
      status: 400,
      contentType: 'application/json',
      errorBody: JSON.stringify({
        error: {
          message: 'max_tokens is too large: 999999. This model supports at most 4096 completion tokens.',
          type: 'invalid_request_error',
          param: 'max_tokens',
          code: null,
        },
      }),
    };
    fixture.alpha.enqueue(refusal);
    fixture.beta.enqueue(refusal);
    for (const stream of [false, true]) {
      if (stream) {
        fixture.alpha.enqueue(refusal);
        fixture.beta.enqueue(refusal);
      }
      const response = await postChat(fixture.url, { model: 'test-model', messages: userMessage('x'), max_tokens: 999999, stream });
      assert.equal(response.status, 400, `stream: ${stream}`);
      const error = errorOf(response);
      assert.equal(error.type, 'invalid_request_error');
      assert.equal(error.param, 'max_tokens');
      assert.match(error.message, /max_tokens is too large: 999999/);
      assert.deepEqual(
        error.attempts?.map((attempt) => [attempt.provider, attempt.status]),
        [
          ['alpha', 400],
          ['beta', 400],
        ],
      );
      assert.equal((fixture.alpha.requests.at(-1)?.body as { max_tokens?: unknown }).max_tokens, 999999, 'the option reached the upstream');
    }
  });

  test('a refusal without a JSON body keeps its status; a refusal beside a server failure is still 502', async () => {
    fixture.alpha.enqueue({ status: 422, errorBody: 'unprocessable: bad stop sequence' });
    fixture.beta.enqueue({ status: 422, errorBody: 'unprocessable: bad stop sequence' });
    const plain = await postChat(fixture.url, { model: 'test-model', messages: userMessage('x') });
    assert.equal(plain.status, 422);
    const error = errorOf(plain);
    assert.equal(error.type, 'invalid_request_error');
    assert.match(error.message, /bad stop sequence/);
    fixture.alpha.enqueue({ status: 400, errorMessage: 'alpha refuses' });
    fixture.beta.enqueue({ status: 500, errorMessage: 'beta is down' });
    const mixed = await postChat(fixture.url, { model: 'test-model', messages: userMessage('x') });
    assert.equal(mixed.status, 502);
    assert.equal(errorOf(mixed).code, 'all_providers_failed');
    // A 404 that is not "model not found" means our endpoint is wrong, not the client's request.
    fixture.alpha.enqueue({ status: 404 });
    fixture.beta.enqueue({ status: 404 });
    const lost = await postChat(fixture.url, { model: 'test-model', messages: userMessage('x') });
    assert.equal(lost.status, 502);
  });

  test('504 when the provider times out', async () => {
    fixture.slow.enqueue({ headerDelayMs: 5_000 });
    const response = await postChat(fixture.url, { model: 'slow-model', messages: userMessage('x'), stream: true });
    assert.equal(response.status, 504);
    assert.equal(errorOf(response).type, 'timeout_error');
  });

  test('a failure after the stream started: one error event, then the end without [DONE]', async () => {
    fixture.alpha.enqueue({ chunks: ['first ', 'second ', 'third'], disconnectAfterChunks: 2 });
    const betaBefore = fixture.beta.requests.length;
    const response = await postChat(fixture.url, { model: 'test-model', messages: userMessage('x'), stream: true });
    assert.equal(response.status, 200);
    assert.equal(response.headers['x-g4f-provider'], 'alpha');
    const events = sseData(response.body);
    assert.notEqual(events.at(-1), '[DONE]');
    const last = JSON.parse(events.at(-1)!) as ErrorBody;
    assert.deepEqual(Object.keys(last.error).sort(), ['code', 'message', 'param', 'type']);
    assert.equal(last.error.code, 'stream_interrupted');
    const text = events
      .slice(0, -1)
      .map((data) => (JSON.parse(data) as { choices: Array<{ delta: { content?: string } }> }).choices[0]?.delta.content ?? '')
      .join('');
    assert.equal(text, 'first second ');
    assert.equal(fixture.beta.requests.length, betaBefore, 'no fallback after text was sent');
  });
});

describe('rate limits and open circuits', () => {
  let fixture: Fixture;
  before(async () => {
    fixture = await startFixture({}, { failureThreshold: 1, cooldownMs: 60_000 });
  });
  after(async () => {
    await fixture.close();
  });

  test('429 for a mix of rate limits and open circuits, 503 when every circuit is open; Retry-After from the soonest', async () => {
    fixture.alpha.enqueue({ status: 429, retryAfter: 30 });
    const first = await postChat(fixture.url, { model: 'test-model', messages: userMessage('x') });
    assert.equal(first.status, 200, 'beta answers; alpha is now skipped');
    assert.equal(first.headers['x-g4f-provider'], 'beta');

    fixture.beta.enqueue({ status: 429, retryAfter: 5 });
    const mixed = await postChat(fixture.url, { model: 'test-model', messages: userMessage('x') });
    assert.equal(mixed.status, 429);
    assert.equal(mixed.headers['retry-after'], '5');
    const mixedError = errorOf(mixed);
    assert.equal(mixedError.type, 'rate_limit_error');
    assert.deepEqual(
      mixedError.attempts?.map((attempt) => [attempt.provider, attempt.code]),
      [
        ['alpha', 'circuit_open'],
        ['beta', 'rate_limit'],
      ],
    );

    const alphaBefore = fixture.alpha.requests.length;
    const betaBefore = fixture.beta.requests.length;
    const open = await postChat(fixture.url, { model: 'test-model', messages: userMessage('x') });
    assert.equal(open.status, 503);
    const wait = Number(open.headers['retry-after']);
    assert.ok(wait > 0 && wait <= 60, `Retry-After ${wait} s is the cool-down left`);
    assert.equal(errorOf(open).code, 'circuit_open');
    assert.equal(fixture.alpha.requests.length, alphaBefore, 'no request reached an open circuit');
    assert.equal(fixture.beta.requests.length, betaBefore);
  });

  test('429 without Retry-After when no upstream said how long to wait', async () => {
    const fresh = await startFixture();
    try {
      fresh.alpha.enqueue({ status: 429 });
      fresh.beta.enqueue({ status: 429 });
      const response = await postChat(fresh.url, { model: 'test-model', messages: userMessage('x') });
      assert.equal(response.status, 429);
      assert.equal(response.headers['retry-after'], undefined);
      assert.equal(errorOf(response).type, 'rate_limit_error');
    } finally {
      await fresh.close();
    }
  });
});

describe('upstream errors in /metrics', () => {
  let fixture: Fixture;
  before(async () => {
    fixture = await startFixture();
  });
  after(async () => {
    await fixture.close();
  });

  async function upstreamErrors(): Promise<Map<string, number>> {
    const response = await send(fixture.url, { path: '/metrics' });
    assert.equal(response.status, 200);
    assert.match(response.body, /# TYPE g4f_upstream_errors_total counter/);
    const counts = new Map<string, number>();
    for (const match of response.body.matchAll(/^g4f_upstream_errors_total\{provider="([^"]*)",kind="([^"]*)"\} (\d+)$/gm)) {
      counts.set(`${match[1]} ${match[2]}`, Number(match[3]));
    }
    return counts;
  }

  test('every failed attempt is counted by provider and kind: answered after fallback, all failed, cut mid-stream', async () => {
    assert.equal((await upstreamErrors()).size, 0, 'nothing failed yet');
    fixture.alpha.enqueue({ status: 500 });
    const fallback = await postChat(fixture.url, { model: 'test-model', messages: userMessage('x') });
    assert.equal(fallback.status, 200);
    assert.deepEqual([...(await upstreamErrors())], [['alpha http_status', 1]]);

    fixture.alpha.enqueue({ status: 500 });
    const streamedFallback = await postChat(fixture.url, { model: 'test-model', messages: userMessage('x'), stream: true });
    assert.equal(streamedFallback.headers['x-g4f-provider'], 'beta');
    assert.deepEqual([...(await upstreamErrors())], [['alpha http_status', 2]]);

    fixture.alpha.enqueue({ status: 429, retryAfter: 1 });
    fixture.beta.enqueue({ status: 503 });
    const failed = await postChat(fixture.url, { model: 'test-model', messages: userMessage('x'), stream: true });
    assert.equal(failed.status, 502);
    assert.deepEqual(
      [...(await upstreamErrors())],
      [
        ['alpha http_status', 2],
        ['alpha rate_limit', 1],
        ['beta http_status', 1],
      ],
    );

    fixture.beta.enqueue({ chunks: ['one ', 'two ', 'three'], disconnectAfterChunks: 1 });
    const cut = await postChat(fixture.url, { model: 'test-model', messages: userMessage('x'), stream: true, provider: 'beta' });
    assert.equal(cut.status, 200);
    const afterCut = await upstreamErrors();
    const betaKinds = [...afterCut].filter(([key]) => key.startsWith('beta ') && key !== 'beta http_status');
    assert.equal(betaKinds.length, 1, `one more beta failure: ${JSON.stringify([...afterCut])}`);
    assert.notEqual(betaKinds[0]?.[0], 'beta stream_interrupted', 'counted as what cut the stream');

    const plain = await postChat(fixture.url, { model: 'test-model', messages: userMessage('x') });
    assert.equal(plain.status, 200);
    assert.deepEqual(await upstreamErrors(), afterCut, 'an answer without failures counts none');
  });
});
