/**
 * Anthropic's Messages API door (`POST /v1/messages`, `/v1/messages/count_tokens`) with the
 * official `@anthropic-ai/sdk` over real sockets, in front of the emulated OpenAI-compatible
 * upstreams: answers, streams, tools, images, reasoning, token counts, errors and cut streams.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import Anthropic, { APIError, BadRequestError, InternalServerError, NotFoundError, RateLimitError } from '@anthropic-ai/sdk';
import { countTokens } from 'gpt-tokenizer/model/gpt-3.5-turbo';
import {
  HEAD,
  WEATHER_TOOL,
  chunk,
  countOf,
  events,
  postMessages,
  streamed,
  upstreamBody,
  waitUntil,
  whole,
  type AnthropicErrorBody,
} from './messages-helpers.js';
import { send, startFixture, type Fixture } from './server-fixture.js';

describe('messages door with the Anthropic SDK', () => {
  let fixture: Fixture;
  let client: Anthropic;
  before(async () => {
    fixture = await startFixture();
    client = new Anthropic({ baseURL: fixture.url, apiKey: 'anything', maxRetries: 0 });
  });
  after(async () => {
    await fixture.close();
  });

  test('messages.create: a message with text, end_turn and usage; settings reach the upstream in its own words', async () => {
    // Sampling fields are Anthropic's wire format even where this SDK's types leave them out.
    const sampling = { temperature: 0.5, top_p: 0.9, top_k: 40 };
    const message = await client.messages.create({
      model: 'tm',
      max_tokens: 300,
      system: [
        { type: 'text', text: 'Be brief.' },
        { type: 'text', text: 'Be kind.' },
      ],
      messages: [{ role: 'user', content: [{ type: 'text', text: 'hello there' }] }],
      stop_sequences: ['END'],
      metadata: { user_id: 'user-7' },
      ...sampling,
    });
    assert.match(message.id, /^msg_[0-9a-f]{32}$/);
    assert.equal(message.type, 'message');
    assert.equal(message.role, 'assistant');
    assert.equal(message.model, 'test-model');
    assert.deepEqual(message.content, [{ type: 'text', text: 'Echo: hello there' }]);
    assert.equal(message.stop_reason, 'end_turn');
    assert.equal(message.stop_sequence, null);
    assert.ok(message.usage.input_tokens > 0 && message.usage.output_tokens > 0);
    const body = upstreamBody(fixture);
    assert.deepEqual(body.messages, [
      { role: 'system', content: 'Be brief.\nBe kind.' },
      { role: 'user', content: 'hello there' },
    ]);
    assert.equal(body.model, 'test-model');
    assert.equal(body.max_tokens, 300);
    assert.equal(body.temperature, 0.5);
    assert.equal(body.top_p, 0.9);
    assert.equal(body.top_k, 40);
    assert.deepEqual(body.stop, ['END']);
    assert.equal(body.user, 'user-7');
    assert.equal(body.stream, false);
  });

  test('without upstream usage the tokens are counted; a length finish is max_tokens', async () => {
    fixture.alpha.enqueue(whole({ role: 'assistant', content: 'Counted here.' }, 'length'));
    const message = await client.messages.create({ model: 'test-model', max_tokens: 5, messages: [{ role: 'user', content: 'count me' }] });
    assert.equal(message.stop_reason, 'max_tokens');
    assert.equal(message.usage.output_tokens, countTokens('Counted here.'));
    assert.equal(message.usage.input_tokens, 3 + 3 + countTokens('user') + countTokens('count me'));
    const counted = await client.messages.countTokens({ model: 'test-model', messages: [{ role: 'user', content: 'count me' }] });
    assert.equal(counted.input_tokens, message.usage.input_tokens, 'count_tokens counts as the answer does');
  });

  test('a stop sequence the upstream names (vLLM stop_reason, SGLang matched_stop) is stop_reason stop_sequence, whole and streamed', async () => {
    const ask = { model: 'test-model', max_tokens: 50, stop_sequences: ['END', 'STOP'], messages: [{ role: 'user' as const, content: 'count' }] };
    const wholeWith = (fields: Record<string, unknown>) => ({
      status: 200,
      contentType: 'application/json',
      errorBody: JSON.stringify({
        ...HEAD,
        object: 'chat.completion',
        choices: [{ index: 0, message: { role: 'assistant', content: 'one two' }, finish_reason: 'stop', ...fields }],
      }),
    });
    fixture.alpha.enqueue(wholeWith({ stop_reason: 'END' }));
    const message = await client.messages.create(ask);
    assert.equal(message.stop_reason, 'stop_sequence');
    assert.equal(message.stop_sequence, 'END');
    fixture.alpha.enqueue(wholeWith({ matched_stop: 'STOP' }));
    assert.equal((await client.messages.create(ask)).stop_sequence, 'STOP');
    // A token id (the end-of-sequence token) is no stop sequence.
    fixture.alpha.enqueue(wholeWith({ stop_reason: 128001 }));
    const byToken = await client.messages.create(ask);
    assert.equal(byToken.stop_reason, 'end_turn');
    assert.equal(byToken.stop_sequence, null);

    fixture.alpha.enqueue(
      streamed([
        chunk({ role: 'assistant', content: 'one ' }),
        chunk({ content: 'two' }),
        { ...HEAD, choices: [{ index: 0, delta: {}, finish_reason: 'stop', stop_reason: 'END' }] },
      ]),
    );
    const final = await client.messages.stream(ask).finalMessage();
    assert.equal(final.stop_reason, 'stop_sequence');
    assert.equal(final.stop_sequence, 'END');
    assert.deepEqual(final.content, [{ type: 'text', text: 'one two' }]);
  });

  test('messages.stream: finalMessage, and the events in order, one block per run', async () => {
    fixture.alpha.enqueue({ chunks: ['Hel', 'lo "wo', 'rld"\n'] });
    const stream = client.messages.stream({ model: 'test-model', max_tokens: 100, messages: [{ role: 'user', content: 'hi' }] });
    const texts: string[] = [];
    stream.on('text', (text) => texts.push(text));
    const message = await stream.finalMessage();
    assert.deepEqual(texts, ['Hel', 'lo "wo', 'rld"\n']);
    assert.deepEqual(message.content, [{ type: 'text', text: 'Hello "world"\n' }]);
    assert.equal(message.stop_reason, 'end_turn');
    assert.ok(message.usage.output_tokens > 0);
    assert.deepEqual(upstreamBody(fixture).stream_options, { include_usage: true }, 'the upstream is asked for its usage');

    fixture.alpha.enqueue({ chunks: ['a', 'b'], usage: false });
    const raw = await postMessages(fixture.url, { model: 'test-model', max_tokens: 10, stream: true, messages: [{ role: 'user', content: 'x' }] });
    assert.equal(raw.status, 200);
    assert.equal(raw.headers['content-type'], 'text/event-stream; charset=utf-8');
    assert.equal(raw.headers['x-g4f-provider'], 'alpha');
    const list = events(raw.body);
    assert.deepEqual(
      list.map((item) => item.event),
      ['message_start', 'ping', 'content_block_start', 'content_block_delta', 'content_block_delta', 'content_block_stop', 'message_delta', 'message_stop'],
    );
    const start = list[0]!.data.message as Record<string, unknown>;
    assert.deepEqual(
      { ...start, id: '' },
      {
        id: '',
        type: 'message',
        role: 'assistant',
        model: 'test-model',
        content: [],
        stop_reason: null,
        stop_sequence: null,
        usage: { input_tokens: 3 + 3 + countTokens('user') + countTokens('x'), output_tokens: 0, cache_creation_input_tokens: 0, cache_read_input_tokens: 0 },
      },
    );
    assert.deepEqual(list[2]!.data, { type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } });
    assert.deepEqual(list[3]!.data, { type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: 'a' } });
    assert.deepEqual(list[6]!.data, {
      type: 'message_delta',
      delta: { stop_reason: 'end_turn', stop_sequence: null },
      usage: { input_tokens: 3 + 3 + countTokens('user') + countTokens('x'), output_tokens: countTokens('ab') },
    });
  });

  test('reasoning streams as thinking blocks, then the text in its own block', async () => {
    fixture.alpha.enqueue(
      streamed([
        chunk({ role: 'assistant', content: '' }),
        chunk({ reasoning_content: 'Let me ' }),
        chunk({ reasoning_content: 'think.' }),
        chunk({ content: 'The answer' }),
        chunk({ content: ' is 4.' }),
        chunk({}, 'stop'),
      ]),
    );
    const stream = client.messages.stream({
      model: 'test-model',
      max_tokens: 4000,
      thinking: { type: 'enabled', budget_tokens: 2048 },
      messages: [{ role: 'user', content: '2+2?' }],
    });
    const message = await stream.finalMessage();
    assert.deepEqual(message.content, [
      { type: 'thinking', thinking: 'Let me think.', signature: '' },
      { type: 'text', text: 'The answer is 4.' },
    ]);
    assert.equal(upstreamBody(fixture).reasoning_effort, 'low', 'the thinking budget becomes a reasoning effort');

    fixture.alpha.enqueue(whole({ role: 'assistant', content: 'Four.', reasoning_content: 'Two and two.' }, 'stop'));
    const created = await client.messages.create({
      model: 'test-model',
      max_tokens: 20000,
      thinking: { type: 'enabled', budget_tokens: 16384 },
      messages: [{ role: 'user', content: '2+2?' }],
    });
    assert.deepEqual(created.content, [
      { type: 'thinking', thinking: 'Two and two.', signature: '' },
      { type: 'text', text: 'Four.' },
    ]);
    assert.equal(upstreamBody(fixture).reasoning_effort, 'high');

    // Sent back, the thinking block is accepted and not sent upstream; output_config sets effort and format.
    await client.messages.create({
      model: 'test-model',
      max_tokens: 100,
      output_config: { effort: 'medium', format: { type: 'json_schema', schema: { type: 'object', properties: { n: { type: 'number' } } } } },
      messages: [
        { role: 'user', content: '2+2?' },
        { role: 'assistant', content: created.content },
        { role: 'user', content: 'And 3+3?' },
      ],
    });
    const body = upstreamBody(fixture);
    assert.deepEqual((body.messages as unknown[])[1], { role: 'assistant', content: 'Four.' });
    assert.equal(body.reasoning_effort, 'medium');
    assert.deepEqual(body.response_format, {
      type: 'json_schema',
      json_schema: { name: 'response', schema: { type: 'object', properties: { n: { type: 'number' } } } },
    });
  });

  test('tools: tool_use, then the tool_result turn reaches the upstream as OpenAI tool messages with the same ids', async () => {
    fixture.alpha.enqueue(
      whole(
        {
          role: 'assistant',
          content: 'Let me look.',
          tool_calls: [{ id: 'call_w1', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Paris"}' } }],
        },
        'tool_calls',
      ),
    );
    const question = { role: 'user' as const, content: 'Weather in Paris?' };
    const first = await client.messages.create({
      model: 'test-model',
      max_tokens: 200,
      tools: [WEATHER_TOOL],
      tool_choice: { type: 'any', disable_parallel_tool_use: true },
      messages: [question],
    });
    assert.equal(first.stop_reason, 'tool_use');
    assert.deepEqual(first.content, [
      { type: 'text', text: 'Let me look.' },
      { type: 'tool_use', id: 'call_w1', name: 'get_weather', input: { city: 'Paris' } },
    ]);
    const sent = upstreamBody(fixture);
    assert.deepEqual(sent.tools, [
      { type: 'function', function: { name: 'get_weather', description: 'The weather in a city', parameters: WEATHER_TOOL.input_schema } },
    ]);
    assert.equal(sent.tool_choice, 'required');
    assert.equal(sent.parallel_tool_calls, false);

    const answer = await client.messages.create({
      model: 'test-model',
      max_tokens: 200,
      tools: [WEATHER_TOOL],
      messages: [
        question,
        { role: 'assistant', content: first.content },
        {
          role: 'user',
          content: [
            { type: 'tool_result', tool_use_id: 'call_w1', content: [{ type: 'text', text: '21 °C, sunny' }] },
            { type: 'text', text: 'And tomorrow?' },
          ],
        },
      ],
    });
    assert.deepEqual(answer.content, [{ type: 'text', text: 'Echo: And tomorrow?' }]);
    assert.deepEqual(upstreamBody(fixture).messages, [
      { role: 'user', content: 'Weather in Paris?' },
      {
        role: 'assistant',
        content: 'Let me look.',
        tool_calls: [{ id: 'call_w1', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Paris"}' } }],
      },
      { role: 'tool', tool_call_id: 'call_w1', content: '21 °C, sunny' },
      { role: 'user', content: 'And tomorrow?' },
    ]);
  });

  test('tools streamed: argument fragments arrive as one input_json_delta per call, in index order', async () => {
    fixture.alpha.enqueue(
      streamed([
        chunk({
          role: 'assistant',
          content: null,
          tool_calls: [{ index: 0, id: 'call_a', type: 'function', function: { name: 'get_weather', arguments: '' } }],
        }),
        chunk({ tool_calls: [{ index: 0, function: { arguments: '{"ci' } }] }),
        chunk({ tool_calls: [{ index: 1, id: 'call_b', type: 'function', function: { name: 'get_weather', arguments: '{"city":' } }] }),
        chunk({ tool_calls: [{ index: 0, function: { arguments: 'ty":"Oslo"}' } }] }),
        chunk({ tool_calls: [{ index: 1, function: { arguments: '"Rome"}' } }] }),
        chunk({}, 'tool_calls'),
      ]),
    );
    const body = {
      model: 'test-model',
      max_tokens: 200,
      stream: true,
      tools: [WEATHER_TOOL],
      tool_choice: { type: 'tool', name: 'get_weather', disable_parallel_tool_use: false },
      messages: [{ role: 'user', content: 'Oslo and Rome?' }],
    };
    const raw = await postMessages(fixture.url, body);
    assert.deepEqual(upstreamBody(fixture).tool_choice, { type: 'function', function: { name: 'get_weather' } });
    assert.equal(upstreamBody(fixture).parallel_tool_calls, undefined);
    const list = events(raw.body);
    assert.deepEqual(
      list.slice(2, -2).map((item) => item.data),
      [
        { type: 'content_block_start', index: 0, content_block: { type: 'tool_use', id: 'call_a', name: 'get_weather', input: {} } },
        { type: 'content_block_delta', index: 0, delta: { type: 'input_json_delta', partial_json: '{"city":"Oslo"}' } },
        { type: 'content_block_stop', index: 0 },
        { type: 'content_block_start', index: 1, content_block: { type: 'tool_use', id: 'call_b', name: 'get_weather', input: {} } },
        { type: 'content_block_delta', index: 1, delta: { type: 'input_json_delta', partial_json: '{"city":"Rome"}' } },
        { type: 'content_block_stop', index: 1 },
      ],
    );
    assert.equal((list.at(-2)!.data.delta as Record<string, unknown>).stop_reason, 'tool_use');

    fixture.alpha.enqueue(
      streamed([
        chunk({ role: 'assistant', content: 'Checking.' }),
        chunk({ tool_calls: [{ index: 0, id: 'call_c', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Lima"}' } }] }),
        chunk({}, 'stop'),
      ]),
    );
    const message = await client.messages
      .stream({ model: 'test-model', max_tokens: 200, tools: [WEATHER_TOOL], messages: [{ role: 'user', content: 'Lima?' }] })
      .finalMessage();
    assert.deepEqual(message.content, [
      { type: 'text', text: 'Checking.' },
      { type: 'tool_use', id: 'call_c', name: 'get_weather', input: { city: 'Lima' } },
    ]);
    assert.equal(message.stop_reason, 'tool_use', 'calls make tool_use, whatever the upstream said');
  });

  test('arguments that are not a JSON object: input {}, the text kept in g4f_raw_arguments and sent back upstream as it was', async () => {
    fixture.alpha.enqueue(
      whole(
        {
          role: 'assistant',
          content: null,
          tool_calls: [{ id: 'call_bad', type: 'function', function: { name: 'get_weather', arguments: '{"city": Paris' } }],
        },
        'tool_calls',
      ),
    );
    const raw = await postMessages(fixture.url, { model: 'test-model', max_tokens: 50, tools: [WEATHER_TOOL], messages: [{ role: 'user', content: 'x' }] });
    const message = JSON.parse(raw.body) as { content: Array<Record<string, unknown>> };
    assert.deepEqual(message.content, [{ type: 'tool_use', id: 'call_bad', name: 'get_weather', input: {}, g4f_raw_arguments: '{"city": Paris' }]);

    fixture.alpha.enqueue(
      streamed([
        chunk({ role: 'assistant', tool_calls: [{ index: 0, id: 'call_arr', type: 'function', function: { name: 'get_weather', arguments: '["Paris"]' } }] }),
        chunk({}, 'tool_calls'),
      ]),
    );
    const streamedMessage = await client.messages
      .stream({ model: 'test-model', max_tokens: 50, tools: [WEATHER_TOOL], messages: [{ role: 'user', content: 'x' }] })
      .finalMessage();
    assert.deepEqual(streamedMessage.content[0], { type: 'tool_use', id: 'call_arr', name: 'get_weather', input: {}, g4f_raw_arguments: '["Paris"]' });

    await client.messages.create({
      model: 'test-model',
      max_tokens: 50,
      tools: [WEATHER_TOOL],
      messages: [
        { role: 'user', content: 'x' },
        { role: 'assistant', content: message.content as unknown as Anthropic.ContentBlockParam[] },
        { role: 'user', content: [{ type: 'tool_result', tool_use_id: 'call_bad', content: 'bad arguments', is_error: true }] },
      ],
    });
    const history = upstreamBody(fixture).messages as Array<Record<string, unknown>>;
    assert.deepEqual(history[1], {
      role: 'assistant',
      content: null,
      tool_calls: [{ id: 'call_bad', type: 'function', function: { name: 'get_weather', arguments: '{"city": Paris' } }],
    });
    assert.deepEqual(history[2], { role: 'tool', tool_call_id: 'call_bad', content: 'Error: bad arguments' });
  });

  test('images: a base64 source arrives as a byte-exact data URL, a url source as it is; tool-result images follow the tool message', async () => {
    const png = Buffer.from('89504e470d0a1a0a0000000d4948445200000001000000010806000000', 'hex').toString('base64');
    await client.messages.create({
      model: 'test-model',
      max_tokens: 50,
      messages: [
        {
          role: 'user',
          content: [
            { type: 'image', source: { type: 'base64', media_type: 'image/png', data: png } },
            { type: 'image', source: { type: 'url', url: 'https://example.com/cat.jpg' } },
            { type: 'text', text: 'What are these?' },
          ],
        },
      ],
    });
    const rawBody = fixture.alpha.requests.at(-1)!.rawBody;
    assert.ok(rawBody.includes(`"url":"data:image/png;base64,${png}"`), 'byte-exact data URL on the wire');
    assert.deepEqual((upstreamBody(fixture).messages as unknown[])[0], {
      role: 'user',
      content: [
        { type: 'image_url', image_url: { url: `data:image/png;base64,${png}` } },
        { type: 'image_url', image_url: { url: 'https://example.com/cat.jpg' } },
        { type: 'text', text: 'What are these?' },
      ],
    });

    await client.messages.create({
      model: 'test-model',
      max_tokens: 50,
      tools: [WEATHER_TOOL],
      messages: [
        { role: 'user', content: 'Show me.' },
        { role: 'assistant', content: [{ type: 'tool_use', id: 'toolu_1', name: 'get_weather', input: { city: 'Oslo' } }] },
        {
          role: 'user',
          content: [
            {
              type: 'tool_result',
              tool_use_id: 'toolu_1',
              content: [
                { type: 'text', text: 'a map' },
                { type: 'image', source: { type: 'base64', media_type: 'image/png', data: png } },
              ],
            },
          ],
        },
      ],
    });
    assert.deepEqual((upstreamBody(fixture).messages as unknown[]).slice(1), [
      { role: 'assistant', content: null, tool_calls: [{ id: 'toolu_1', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Oslo"}' } }] },
      { role: 'tool', tool_call_id: 'toolu_1', content: 'a map' },
      {
        role: 'user',
        content: [
          { type: 'text', text: 'Images from the result of tool call toolu_1:' },
          { type: 'image_url', image_url: { url: `data:image/png;base64,${png}` } },
        ],
      },
    ]);
  });

  test('countTokens: input tokens counted here, tools and calls included; no upstream asked; an unknown model is a NotFoundError', async () => {
    const before = countOf(fixture);
    const plain = await client.messages.countTokens({ model: 'test-model', system: 'Be brief.', messages: [{ role: 'user', content: 'hello world' }] });
    assert.equal(plain.input_tokens, 3 + 2 * 3 + countTokens('system') + countTokens('Be brief.') + countTokens('user') + countTokens('hello world'));
    const withTools = await client.messages.countTokens({
      model: 'test-model',
      system: 'Be brief.',
      tools: [WEATHER_TOOL],
      messages: [{ role: 'user', content: 'hello world' }],
    });
    assert.ok(withTools.input_tokens > plain.input_tokens + 10);
    await assert.rejects(client.messages.countTokens({ model: 'no-such-model', messages: [{ role: 'user', content: 'x' }] }), NotFoundError);
    assert.equal(countOf(fixture), before);
  });

  test('SDK error classes: BadRequestError for a bad body, NotFoundError for an unknown model, RateLimitError, InternalServerError', async () => {
    const before = countOf(fixture);
    await assert.rejects(
      client.messages.create({
        model: 'test-model',
        max_tokens: 10,
        messages: [{ role: 'user', content: [{ type: 'image', source: { type: 'base64', media_type: 'image/png', data: 'not base64!' } }] }],
      }),
      (error: unknown) => error instanceof BadRequestError && error.status === 400 && /messages\.0\.content\.0\.source\.data/.test(error.message),
    );
    await assert.rejects(
      client.messages.create({ model: 'no-such-model', max_tokens: 10, messages: [{ role: 'user', content: 'x' }] }),
      (error: unknown) => error instanceof NotFoundError && (error.error as AnthropicErrorBody).error.type === 'not_found_error',
    );
    assert.equal(countOf(fixture), before, 'nothing reached an upstream');

    fixture.alpha.enqueue({ status: 429, retryAfter: 7 });
    fixture.beta.enqueue({ status: 429, retryAfter: 3 });
    await assert.rejects(client.messages.create({ model: 'test-model', max_tokens: 10, messages: [{ role: 'user', content: 'x' }] }), (error: unknown) => {
      assert.ok(error instanceof RateLimitError);
      assert.equal(error.headers.get('retry-after'), '3');
      assert.equal(error.headers.get('x-should-retry'), 'false');
      return true;
    });
    fixture.alpha.enqueue({ status: 500 });
    fixture.beta.enqueue({ status: 503 });
    await assert.rejects(client.messages.create({ model: 'test-model', max_tokens: 10, messages: [{ role: 'user', content: 'x' }] }), (error: unknown) => {
      assert.ok(error instanceof InternalServerError);
      assert.equal(error.status, 502);
      const body = error.error as AnthropicErrorBody;
      assert.equal(body.error.type, 'api_error');
      assert.deepEqual(
        body.error.attempts?.map((attempt) => [attempt.provider, attempt.status]),
        [
          ['alpha', 500],
          ['beta', 503],
        ],
      );
      return true;
    });
  });

  test('a cut stream: the upstream disconnects mid-answer, an error event ends it without message_stop, and the SDK raises', async () => {
    fixture.alpha.enqueue({ chunks: ['first ', 'second ', 'third'], disconnectAfterChunks: 2 });
    const betaBefore = fixture.beta.requests.length;
    const raw = await postMessages(fixture.url, { model: 'test-model', max_tokens: 10, stream: true, messages: [{ role: 'user', content: 'x' }] });
    assert.equal(raw.status, 200);
    const list = events(raw.body);
    assert.equal(list.at(-1)!.event, 'error');
    assert.ok(!list.some((item) => item.event === 'message_stop' || item.event === 'message_delta'));
    const error = list.at(-1)!.data as unknown as AnthropicErrorBody;
    assert.equal(error.error.type, 'api_error');
    assert.equal(
      list
        .filter((item) => item.event === 'content_block_delta')
        .map((item) => (item.data.delta as { text: string }).text)
        .join(''),
      'first second ',
    );
    assert.equal(fixture.beta.requests.length, betaBefore, 'no fallback after text was sent');

    fixture.alpha.enqueue({ chunks: ['first ', 'second ', 'third'], disconnectAfterChunks: 2 });
    const stream = client.messages.stream({ model: 'test-model', max_tokens: 10, messages: [{ role: 'user', content: 'x' }] });
    const seen: string[] = [];
    stream.on('text', (text) => seen.push(text));
    await assert.rejects(stream.finalMessage(), (failure: unknown) => failure instanceof APIError && /api_error|interrupted|closed|cut/i.test(failure.message));
    assert.deepEqual(seen, ['first ', 'second ']);
  });

  test('a client that goes away mid-stream aborts the upstream request', async () => {
    fixture.alpha.enqueue({ chunks: ['one ', 'two '], stallAfterChunks: 1 });
    const index = fixture.alpha.requests.length;
    const stream = client.messages.stream({ model: 'test-model', max_tokens: 10, messages: [{ role: 'user', content: 'hang up' }] });
    const aborted = fixture.alpha.waitForAbort(index, 10_000);
    const ended = stream.finalMessage().then(
      () => 'finished',
      (error: unknown) => (error as Error).name,
    );
    await new Promise<void>((resolve) => stream.on('text', () => resolve()));
    stream.abort();
    assert.equal(await ended, 'APIUserAbortError');
    assert.equal((await aborted).outcome, 'aborted');
  });

  test('fallback, metrics under route="messages", one log line with model, provider and tokens', async () => {
    fixture.alpha.enqueue({ status: 503 });
    const { data, response } = await client.messages
      .create({ model: 'test-model', max_tokens: 10, messages: [{ role: 'user', content: 'secret words' }] })
      .withResponse();
    assert.equal(response.headers.get('x-g4f-provider'), 'beta');
    assert.equal(data.content[0]?.type, 'text');
    const id = response.headers.get('x-request-id');
    await waitUntil(() => fixture.logger.records.some((record) => record.id === id));
    const line = fixture.logger.records.find((record) => record.id === id)!;
    assert.equal(line.path, '/v1/messages');
    assert.equal(line.model, 'test-model');
    assert.equal(line.provider, 'beta');
    assert.equal(line.stream, false);
    assert.ok(typeof line.tokens === 'object' && line.tokens !== null);
    assert.deepEqual(line.upstream, [{ provider: 'alpha', kind: 'http_status', status: 503 }]);
    assert.ok(!JSON.stringify(line).includes('secret words'));
    const metrics = await send(fixture.url, { path: '/metrics' });
    assert.match(metrics.body, /^g4f_requests_total\{route="messages",provider="beta",status="200"\} \d+$/m);
    assert.match(metrics.body, /^g4f_requests_total\{route="count_tokens",provider="none",status="200"\} \d+$/m);
    assert.match(metrics.body, /^g4f_upstream_errors_total\{provider="alpha",kind="http_status"\} \d+$/m);
    assert.match(metrics.body, /^g4f_streams_in_flight 0$/m);
  });
});
