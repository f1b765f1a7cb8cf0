/** Real clients against the server: the official `openai` package and the AI SDK's OpenAI-compatible provider. */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import OpenAI from 'openai';
import { createOpenAICompatible } from '@ai-sdk/openai-compatible';
import { generateText, streamText } from 'ai';
import { startFixture, type Fixture } from './server-fixture.js';

describe('the openai package', () => {
  let fixture: Fixture;
  let client: OpenAI;
  before(async () => {
    fixture = await startFixture({ apiKeys: ['sk-test'] });
    client = new OpenAI({ baseURL: `${fixture.url}/v1`, apiKey: 'sk-test', maxRetries: 0, timeout: 20_000 });
  });
  after(async () => {
    await fixture.close();
  });

  test('chat.completions.create, not streamed', async () => {
    const completion = await client.chat.completions.create({ model: 'test-model', messages: [{ role: 'user', content: 'hello' }] });
    assert.equal(completion.object, 'chat.completion');
    assert.equal(completion.choices[0]?.message.content, 'Echo: hello');
    assert.equal(completion.choices[0]?.finish_reason, 'stop');
    assert.ok((completion.usage?.total_tokens ?? 0) > 0);
  });

  test('its request options reach the upstream; an upstream refusal is a BadRequestError', async () => {
    await client.chat.completions.create({
      model: 'test-model',
      messages: [{ role: 'user', content: 'options' }],
      response_format: { type: 'json_object' },
      seed: 3,
      logit_bias: { '1': 5 },
      stop: 'END',
      user: 'u-1',
    });
    const upstream = fixture.alpha.requests.at(-1)?.body as Record<string, unknown>;
    assert.deepEqual(
      { response_format: upstream.response_format, seed: upstream.seed, logit_bias: upstream.logit_bias, stop: upstream.stop, user: upstream.user },
      { response_format: { type: 'json_object' }, seed: 3, logit_bias: { '1': 5 }, stop: ['END'], user: 'u-1' },
    );
    const refusal = {
      status: 400,
      contentType: 'application/json',
      errorBody: JSON.stringify({ error: { message: 'max_tokens is too large: 999999.', type: 'invalid_request_error', param: 'max_tokens', code: null } }),
    };
    fixture.alpha.enqueue(refusal);
    fixture.beta.enqueue(refusal);
    await assert.rejects(
      client.chat.completions.create({ model: 'test-model', messages: [{ role: 'user', content: 'x' }], max_tokens: 999999 }),
      (error: unknown) => {
        assert.ok(error instanceof OpenAI.BadRequestError);
        assert.equal(error.status, 400);
        assert.equal(error.param, 'max_tokens');
        assert.match(error.message, /max_tokens is too large/);
        return true;
      },
    );
  });

  test('withResponse shows which provider answered', async () => {
    const { response } = await client.chat.completions.create({ model: 'tm', messages: [{ role: 'user', content: 'who' }] }).withResponse();
    assert.equal(response.headers.get('x-g4f-provider'), 'alpha');
  });

  test('chat.completions.create, streamed, with usage', async () => {
    const stream = await client.chat.completions.create({
      model: 'test-model',
      messages: [
        { role: 'system', content: 'be brief' },
        { role: 'user', content: 'stream me' },
      ],
      stream: true,
      stream_options: { include_usage: true },
    });
    let text = '';
    let finish: string | null | undefined;
    let usage: OpenAI.CompletionUsage | null | undefined;
    const ids = new Set<string>();
    for await (const chunk of stream) {
      ids.add(chunk.id);
      text += chunk.choices[0]?.delta.content ?? '';
      finish = chunk.choices[0]?.finish_reason ?? finish;
      if (chunk.usage) usage = chunk.usage;
    }
    assert.equal(text, 'Echo: stream me');
    assert.equal(finish, 'stop');
    assert.equal(ids.size, 1);
    assert.ok((usage?.completion_tokens ?? 0) > 0);
  });

  test('its error classes get the right statuses', async () => {
    await assert.rejects(client.chat.completions.create({ model: 'no-such-model', messages: [{ role: 'user', content: 'x' }] }), (error: unknown) => {
      assert.ok(error instanceof OpenAI.NotFoundError);
      assert.equal(error.status, 404);
      assert.equal(error.code, 'model_not_found');
      return true;
    });
    await assert.rejects(
      client.chat.completions.create({ model: 'test-model', messages: [{ role: 'user', content: 'x' }], temperature: 9 }),
      (error: unknown) => {
        assert.ok(error instanceof OpenAI.BadRequestError);
        assert.equal(error.status, 400);
        assert.equal(error.param, 'temperature');
        return true;
      },
    );
    const stranger = new OpenAI({ baseURL: `${fixture.url}/v1`, apiKey: 'sk-wrong', maxRetries: 0 });
    await assert.rejects(stranger.models.list(), (error: unknown) => {
      assert.ok(error instanceof OpenAI.AuthenticationError);
      assert.equal(error.status, 401);
      return true;
    });
    fixture.alpha.enqueue({ status: 429, retryAfter: 2 });
    fixture.beta.enqueue({ status: 429, retryAfter: 2 });
    await assert.rejects(client.chat.completions.create({ model: 'test-model', messages: [{ role: 'user', content: 'x' }] }), (error: unknown) => {
      assert.ok(error instanceof OpenAI.RateLimitError);
      assert.equal(error.status, 429);
      assert.equal(error.headers.get('retry-after'), '2');
      return true;
    });
    fixture.alpha.enqueue({ status: 500 });
    fixture.beta.enqueue({ status: 500 });
    await assert.rejects(
      client.chat.completions.create({ model: 'test-model', messages: [{ role: 'user', content: 'x' }], stream: true }),
      (error: unknown) => {
        assert.ok(error instanceof OpenAI.InternalServerError);
        assert.equal(error.status, 502);
        return true;
      },
    );
  });

  test('a mid-stream failure surfaces as an error after the text that came', async () => {
    fixture.alpha.enqueue({ chunks: ['partial ', 'answer ', 'lost'], disconnectAfterChunks: 2 });
    const stream = await client.chat.completions.create({ model: 'test-model', messages: [{ role: 'user', content: 'x' }], stream: true });
    let text = '';
    await assert.rejects(
      (async () => {
        for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? '';
      })(),
      (error: unknown) => {
        assert.ok(error instanceof OpenAI.APIError);
        assert.match(error.message, /cut/);
        return true;
      },
    );
    assert.equal(text, 'partial answer ');
  });

  test('models.list and models.retrieve', async () => {
    const ids: string[] = [];
    for await (const model of client.models.list()) ids.push(model.id);
    assert.ok(ids.includes('test-model'));
    const model = await client.models.retrieve('tm');
    assert.equal(model.id, 'test-model');
  });
});

describe('the AI SDK', () => {
  let fixture: Fixture;
  before(async () => {
    fixture = await startFixture();
  });
  after(async () => {
    await fixture.close();
  });

  test('streamText through @ai-sdk/openai-compatible', async () => {
    const provider = createOpenAICompatible({ baseURL: `${fixture.url}/v1`, name: 'g4f', includeUsage: true });
    const result = streamText({ model: provider('test-model'), prompt: 'hello from the AI SDK', maxRetries: 0 });
    let streamed = '';
    for await (const delta of result.textStream) streamed += delta;
    assert.equal(streamed, 'Echo: hello from the AI SDK');
    assert.equal(await result.finishReason, 'stop');
    const usage = await result.usage;
    assert.ok((usage.outputTokens ?? 0) > 0);
    assert.ok((usage.inputTokens ?? 0) > 0);
  });

  test('generateText through @ai-sdk/openai-compatible', async () => {
    const provider = createOpenAICompatible({ baseURL: `${fixture.url}/v1`, name: 'g4f' });
    const result = await generateText({ model: provider('tm'), prompt: 'not streamed', maxRetries: 0 });
    assert.equal(result.text, 'Echo: not streamed');
  });
});
