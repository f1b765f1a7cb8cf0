/**
 * The Messages API door's errors: every malformed body gets a 4xx in Anthropic's shape naming
 * the field, and nothing reaches an upstream; the server's own refusals (body size, JSON, media
 * type, method, route, host, keys) and upstream failures on this door are in Anthropic's shape too.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import Anthropic, { AuthenticationError, InternalServerError } from '@anthropic-ai/sdk';
import { anthropicError, countOf, events, postMessages, WEATHER_TOOL } from './messages-helpers.js';
import { postChat, send, startFixture, type Fixture } from './server-fixture.js';

const USER = [{ role: 'user', content: 'hi' }];
const BASE = { model: 'test-model', max_tokens: 50, messages: USER };
const PNG = 'iVBORw0KGgo=';

/** A malformed body and the field its error must name. */
const MALFORMED: ReadonlyArray<[string, unknown]> = [
  ['model', { max_tokens: 50, messages: USER }],
  ['model', { ...BASE, model: 5 }],
  ['max_tokens', { model: 'test-model', messages: USER }],
  ['max_tokens', { ...BASE, max_tokens: 0 }],
  ['max_tokens', { ...BASE, max_tokens: 1.5 }],
  ['messages', { model: 'test-model', max_tokens: 50 }],
  ['messages', { ...BASE, messages: [] }],
  ['messages', { ...BASE, messages: 'hi' }],
  ['messages.0', { ...BASE, messages: ['hi'] }],
  ['messages.0.role', { ...BASE, messages: [{ role: 'tool', content: 'x' }] }],
  ['messages.0.content', { ...BASE, messages: [{ role: 'user' }] }],
  ['messages.0.content', { ...BASE, messages: [{ role: 'user', content: [] }] }],
  ['messages.0.content.0', { ...BASE, messages: [{ role: 'user', content: [{ type: 'document', source: {} }] }] }],
  ['messages.0.content.0.text', { ...BASE, messages: [{ role: 'user', content: [{ type: 'text', text: 5 }] }] }],
  [
    'messages.0.content.0.source.data',
    { ...BASE, messages: [{ role: 'user', content: [{ type: 'image', source: { type: 'base64', media_type: 'image/png', data: 'not base64!' } }] }] },
  ],
  [
    'messages.0.content.0.source.media_type',
    { ...BASE, messages: [{ role: 'user', content: [{ type: 'image', source: { type: 'base64', media_type: 'image/bmp', data: PNG } }] }] },
  ],
  ['messages.0.content.0.source.type', { ...BASE, messages: [{ role: 'user', content: [{ type: 'image', source: { type: 'file', file_id: 'file_1' } }] }] }],
  [
    'messages.0.content.0.source.url',
    { ...BASE, messages: [{ role: 'user', content: [{ type: 'image', source: { type: 'url', url: 'ftp://example.com/a.png' } }] }] },
  ],
  ['messages.0.content.0.tool_use_id', { ...BASE, messages: [{ role: 'user', content: [{ type: 'tool_result', content: 'x' }] }] }],
  [
    'messages.0.content.0.content.0',
    { ...BASE, messages: [{ role: 'user', content: [{ type: 'tool_result', tool_use_id: 't', content: [{ type: 'document' }] }] }] },
  ],
  ['messages.0.content.0.is_error', { ...BASE, messages: [{ role: 'user', content: [{ type: 'tool_result', tool_use_id: 't', is_error: 'yes' }] }] }],
  ['messages.0.content.0.tool_use_id', { ...BASE, messages: [{ role: 'user', content: [{ type: 'tool_result', tool_use_id: 'toolu_none', content: 'x' }] }] }],
  [
    'messages.2.content.1.tool_use_id',
    {
      ...BASE,
      messages: [
        ...USER,
        { role: 'assistant', content: [{ type: 'tool_use', id: 'toolu_1', name: 'get_weather', input: {} }] },
        {
          role: 'user',
          content: [
            { type: 'tool_result', tool_use_id: 'toolu_1', content: 'sunny' },
            { type: 'tool_result', tool_use_id: 'toolu_2', content: 'rain' },
          ],
        },
      ],
    },
  ],
  [
    'messages.1.content.0.input',
    { ...BASE, messages: [...USER, { role: 'assistant', content: [{ type: 'tool_use', id: 't', name: 'get_weather', input: [1] }] }] },
  ],
  ['messages.1.content.0.id', { ...BASE, messages: [...USER, { role: 'assistant', content: [{ type: 'tool_use', name: 'get_weather', input: {} }] }] }],
  [
    'messages.1.content.0',
    { ...BASE, messages: [...USER, { role: 'assistant', content: [{ type: 'server_tool_use', id: 's', name: 'web_search', input: {} }] }] },
  ],
  ['system', { ...BASE, system: 5 }],
  ['system.0', { ...BASE, system: [{ type: 'image', source: {} }] }],
  ['stream', { ...BASE, stream: 'yes' }],
  ['temperature', { ...BASE, temperature: 1.5 }],
  ['top_p', { ...BASE, top_p: 'high' }],
  ['top_k', { ...BASE, top_k: -1 }],
  ['stop_sequences', { ...BASE, stop_sequences: 'END' }],
  ['stop_sequences.1', { ...BASE, stop_sequences: ['END', 7] }],
  ['tools', { ...BASE, tools: {} }],
  ['tools.0.name', { ...BASE, tools: [{ name: 'bad name!', input_schema: { type: 'object' } }] }],
  ['tools.1.name', { ...BASE, tools: [WEATHER_TOOL, WEATHER_TOOL] }],
  ['tools.0.input_schema', { ...BASE, tools: [{ name: 'get_weather' }] }],
  ['tools.0.input_schema', { ...BASE, tools: [{ name: 'get_weather', input_schema: { type: 'string' } }] }],
  ['tools.0.type', { ...BASE, tools: [{ type: 'web_search_20250305', name: 'web_search' }] }],
  ['tool_choice', { ...BASE, tool_choice: { type: 'any' } }],
  ['tool_choice', { ...BASE, tools: [WEATHER_TOOL], tool_choice: 'auto' }],
  ['tool_choice.type', { ...BASE, tools: [WEATHER_TOOL], tool_choice: { type: 'sometimes' } }],
  ['tool_choice.name', { ...BASE, tools: [WEATHER_TOOL], tool_choice: { type: 'tool', name: 'missing' } }],
  ['tool_choice.disable_parallel_tool_use', { ...BASE, tools: [WEATHER_TOOL], tool_choice: { type: 'auto', disable_parallel_tool_use: 'no' } }],
  ['thinking.budget_tokens', { ...BASE, thinking: { type: 'enabled' } }],
  ['thinking.type', { ...BASE, thinking: { type: 'on' } }],
  ['metadata.user_id', { ...BASE, metadata: { user_id: 5 } }],
  ['output_config.format.type', { ...BASE, output_config: { format: { type: 'xml' } } }],
  ['output_config.task_budget', { ...BASE, output_config: { task_budget: 10 } }],
  ['mcp_servers', { ...BASE, mcp_servers: [] }],
  ['provider', { ...BASE, provider: 5 }],
];

describe('messages door: bad requests', () => {
  let fixture: Fixture;
  before(async () => {
    fixture = await startFixture({ bodyLimitBytes: 4096, imageBodyLimitBytes: 16 * 1024 });
  });
  after(async () => {
    await fixture.close();
  });

  test('each malformed body is a 400 invalid_request_error naming its field; nothing reaches an upstream', async () => {
    for (const [field, body] of MALFORMED) {
      const response = await postMessages(fixture.url, body);
      const error = anthropicError(response, 400, 'invalid_request_error');
      assert.ok(error.message.startsWith(`${field}: `), `${field}: ${error.message}`);
      const count = await postMessages(fixture.url, { ...(body as object), stream: undefined, max_tokens: undefined }, {}, '/v1/messages/count_tokens');
      // count_tokens reads the same fields (max_tokens aside).
      if (field !== 'max_tokens' && field !== 'stream') anthropicError(count, 400, 'invalid_request_error');
    }
    for (const body of ['[]', '"text"', 'null']) {
      const error = anthropicError(await postMessages(fixture.url, body), 400, 'invalid_request_error');
      assert.match(error.message, /JSON object/);
    }
    assert.equal(countOf(fixture), 0);
  });

  test('the server refuses the body itself in Anthropic shape too: JSON, media type, size, nesting', async () => {
    assert.match(anthropicError(await postMessages(fixture.url, '{"model": '), 400, 'invalid_request_error').message, /JSON/);
    assert.match(anthropicError(await postMessages(fixture.url, ''), 400, 'invalid_request_error').message, /empty/);
    const nested = '['.repeat(200) + ']'.repeat(200);
    assert.match(anthropicError(await postMessages(fixture.url, nested), 400, 'invalid_request_error').message, /deep/);
    const plain = await send(fixture.url, { method: 'POST', path: '/v1/messages', headers: { 'content-type': 'text/plain' }, body: JSON.stringify(BASE) });
    anthropicError(plain, 415, 'invalid_request_error');
    const large = await postMessages(fixture.url, { ...BASE, messages: [{ role: 'user', content: 'x'.repeat(5000) }] });
    anthropicError(large, 413, 'request_too_large');
    // Over the larger (image) limit: refused from its declared length, before it is read.
    const declared = await postMessages(fixture.url, { ...BASE, messages: [{ role: 'user', content: 'x'.repeat(20_000) }] }, {}, '/v1/messages/count_tokens');
    assert.match(anthropicError(declared, 413, 'request_too_large').message, /16384 bytes/);
    assert.equal(countOf(fixture), 0);
  });

  test('a body with images may use the larger image limit, and no more', async () => {
    const image = 'A'.repeat(8000);
    const response = await postMessages(fixture.url, {
      ...BASE,
      messages: [
        {
          role: 'user',
          content: [
            { type: 'image', source: { type: 'base64', media_type: 'image/png', data: image } },
            { type: 'text', text: 'hi' },
          ],
        },
      ],
    });
    assert.equal(response.status, 200, response.body);
    const tooBig = await postMessages(fixture.url, {
      ...BASE,
      messages: [{ role: 'user', content: [{ type: 'image', source: { type: 'base64', media_type: 'image/png', data: 'A'.repeat(20_000) } }] }],
    });
    anthropicError(tooBig, 413, 'request_too_large');
  });

  test('wrong method, unknown route below /v1/messages, bad or foreign host: Anthropic shape', async () => {
    const get = await send(fixture.url, { path: '/v1/messages' });
    anthropicError(get, 405, 'invalid_request_error');
    assert.equal(get.headers.allow, 'POST');
    anthropicError(await postMessages(fixture.url, BASE, {}, '/v1/messages/batches'), 404, 'not_found_error');
    anthropicError(await postMessages(fixture.url, BASE, { host: 'localhost:99999' }), 400, 'invalid_request_error');
    anthropicError(await postMessages(fixture.url, BASE, { host: 'evil.example' }), 403, 'permission_error');
    // The OpenAI door keeps OpenAI's shape.
    const chat = await postChat(fixture.url, { model: 'test-model', messages: 'x' });
    assert.equal(chat.status, 400);
    assert.ok('param' in (JSON.parse(chat.body) as { error: object }).error);
  });

  test('upstream failures on this door: 504 for a timeout, an upstream refusal keeps its status', async () => {
    fixture.slow.enqueue({ headerDelayMs: 5_000 });
    const timeout = await postMessages(fixture.url, { ...BASE, model: 'slow-model', stream: true });
    anthropicError(timeout, 504, 'api_error');
    fixture.alpha.enqueue({ status: 400, errorMessage: 'max_tokens is too large' });
    fixture.beta.enqueue({ status: 400, errorMessage: 'max_tokens is too large' });
    const refused = anthropicError(await postMessages(fixture.url, BASE), 400, 'invalid_request_error');
    assert.match(refused.message, /max_tokens is too large/);
    fixture.alpha.enqueue({ status: 500 });
    fixture.beta.enqueue({ status: 500 });
    const failed = anthropicError(await postMessages(fixture.url, { ...BASE, stream: true }), 502, 'api_error');
    assert.equal(failed.attempts?.length, 2);
  });

  test('the error event of a cut stream carries the request id', async () => {
    fixture.alpha.enqueue({ chunks: ['a ', 'b ', 'c'], disconnectAfterChunks: 1 });
    const response = await postMessages(fixture.url, { ...BASE, stream: true });
    const last = events(response.body).at(-1)!;
    assert.equal(last.event, 'error');
    assert.equal(last.data.request_id, response.headers['x-request-id']);
  });
});

describe('messages door: shutdown', () => {
  test('a stream still running at the shutdown deadline ends with an overloaded_error event, not message_stop', async () => {
    const fixture = await startFixture();
    try {
      fixture.alpha.enqueue({ chunks: ['never ', 'ends'], stallAfterChunks: 1 });
      const answer = postMessages(fixture.url, { ...BASE, stream: true });
      await fixture.alpha.waitForRequests(1, 10_000);
      const aborted = fixture.alpha.waitForAbort(0, 10_000);
      await fixture.server.close(200);
      await aborted;
      const list = events((await answer).body);
      assert.equal(list.at(-1)?.event, 'error');
      assert.equal((list.at(-1)?.data.error as { type: string }).type, 'overloaded_error');
      assert.ok(!list.some((item) => item.event === 'message_stop'));
    } finally {
      await fixture.close();
    }
  });
});

describe('messages door: API keys', () => {
  let fixture: Fixture;
  before(async () => {
    fixture = await startFixture({ apiKeys: ['key-one'] });
  });
  after(async () => {
    await fixture.close();
  });

  test('x-api-key or Authorization: Bearer; a wrong key is an AuthenticationError; anthropic-version and anthropic-beta are accepted', async () => {
    const wrong = new Anthropic({ baseURL: fixture.url, apiKey: 'wrong', maxRetries: 0 });
    await assert.rejects(wrong.messages.create({ model: 'test-model', max_tokens: 10, messages: [{ role: 'user', content: 'x' }] }), (error: unknown) => {
      assert.ok(error instanceof AuthenticationError);
      assert.match(error.message, /x-api-key/);
      return true;
    });
    await assert.rejects(wrong.messages.countTokens({ model: 'test-model', messages: [{ role: 'user', content: 'x' }] }), AuthenticationError);
    anthropicError(await postMessages(fixture.url, BASE), 401, 'authentication_error');
    assert.equal(fixture.alpha.requests.length, 0);

    const byHeader = new Anthropic({ baseURL: fixture.url, apiKey: 'key-one', maxRetries: 0, defaultHeaders: { 'anthropic-beta': 'tools-2024-04-04' } });
    const message = await byHeader.messages.create({ model: 'test-model', max_tokens: 10, messages: [{ role: 'user', content: 'x' }] });
    assert.equal(message.content[0]?.type, 'text');
    const byBearer = new Anthropic({ baseURL: fixture.url, apiKey: null, authToken: 'key-one', maxRetries: 0 });
    assert.ok((await byBearer.messages.countTokens({ model: 'test-model', messages: [{ role: 'user', content: 'x' }] })).input_tokens > 0);
    assert.equal((await postMessages(fixture.url, BASE, { 'x-api-key': 'key-one' })).status, 200, 'no anthropic-version needed');
    assert.ok(!JSON.stringify(fixture.logger.records).includes('key-one'));
  });
});

describe('messages door: overloaded', () => {
  test("every provider's circuit open: a 529 overloaded_error with Retry-After; the SDK raises an InternalServerError", async () => {
    const fixture = await startFixture({}, { failureThreshold: 1, cooldownMs: 60_000 });
    try {
      fixture.alpha.enqueue({ status: 500 });
      fixture.beta.enqueue({ status: 500 });
      anthropicError(await postMessages(fixture.url, BASE), 502, 'api_error');
      const asked = countOf(fixture);
      const open = await postMessages(fixture.url, BASE);
      const error = anthropicError(open, 529, 'overloaded_error');
      assert.ok(Number(open.headers['retry-after']) > 0, `Retry-After: ${open.headers['retry-after']}`);
      assert.ok(error.message.length > 0);
      const client = new Anthropic({ baseURL: fixture.url, apiKey: 'unused', maxRetries: 0 });
      await assert.rejects(client.messages.create({ model: 'test-model', max_tokens: 10, messages: [{ role: 'user', content: 'x' }] }), (thrown: unknown) => {
        assert.ok(thrown instanceof InternalServerError);
        assert.equal(thrown.status, 529);
        assert.equal((thrown.error as { error?: { type?: string } }).error?.type, 'overloaded_error');
        return true;
      });
      assert.equal(countOf(fixture), asked, 'no request reached an open circuit');
    } finally {
      await fixture.close();
    }
  });
});
