/**
 * `POST /v1/responses` (OpenAI's Responses API) over real sockets: the official `openai`
 * package (create, stream, tools over several turns, previous_response_id, retrieve, delete,
 * its error classes), the raw event sequence, a cut stream, keys owning stored responses, and
 * the 400s of malformed bodies, none of which reaches an upstream.
 */
import { after, before, beforeEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import OpenAI from 'openai';
import type { Plan } from '../src/emulators/index.js';
import { send, startFixture, type Fixture, type RawResponse } from './server-fixture.js';

const WEATHER = {
  type: 'function' as const,
  name: 'get_weather',
  description: 'The weather in a city',
  parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'], additionalProperties: false },
  strict: true,
};

/** A 1×1 PNG. */
const PNG = 'data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==';

interface SseEvent {
  event: string;
  data: Record<string, unknown>;
}

/** The events of a Responses SSE body: each block's `event:` name and its JSON data. */
function parseEvents(body: string): SseEvent[] {
  return body
    .split('\n\n')
    .filter((block) => block.trim() !== '')
    .map((block) => {
      const lines = block.split('\n');
      const event = lines.find((line) => line.startsWith('event: '))?.slice('event: '.length) ?? '';
      const data = lines.find((line) => line.startsWith('data: '))?.slice('data: '.length) ?? '';
      return { event, data: JSON.parse(data) as Record<string, unknown> };
    });
}

/** Names in order, every event's name equal to its data's type, sequence numbers 0, 1, 2... */
function checkedNames(events: readonly SseEvent[]): string[] {
  events.forEach((item, index) => {
    assert.equal(item.data.type, item.event, `event ${index}: the event line names the data's type`);
    assert.equal(item.data.sequence_number, index, `event ${index}: sequence_number`);
  });
  return events.map((item) => item.event);
}

function postResponses(url: string, body: unknown, headers: Record<string, string> = {}): Promise<RawResponse> {
  return send(url, { method: 'POST', path: '/v1/responses', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });
}

function errorOf(response: RawResponse): { message: string; type: string; param: string | null; code: string | null } {
  return (JSON.parse(response.body) as { error: { message: string; type: string; param: string | null; code: string | null } }).error;
}

type UpstreamMessage = { role: string; content: unknown; tool_calls?: unknown; tool_call_id?: string };

function upstreamMessages(fixture: Fixture, at = -1): UpstreamMessage[] {
  return (fixture.alpha.requests.at(at)?.body as { messages: UpstreamMessage[] }).messages;
}

describe('the Responses API', () => {
  let fixture: Fixture;
  let client: OpenAI;
  let dataDir: string;
  before(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'g4f-responses-'));
    fixture = await startFixture({ dataDir });
    client = new OpenAI({ baseURL: `${fixture.url}/v1`, apiKey: 'sk-unused', maxRetries: 0, timeout: 20_000 });
  });
  after(async () => {
    await fixture.close();
    rmSync(dataDir, { recursive: true, force: true });
  });
  beforeEach(() => {
    for (const emulator of [fixture.alpha, fixture.beta]) {
      emulator.reset();
      emulator.setDefaultPlan({});
    }
  });

  test('responses.create: a response object in OpenAI shape; instructions are a system message; stored and retrieved', async () => {
    const { data: response, response: raw } = await client.responses
      .create({ model: 'test-model', input: 'Hello', instructions: 'Be brief.', metadata: { topic: 'greeting' }, max_output_tokens: 50, temperature: 0.3 })
      .withResponse();
    assert.match(response.id, /^resp_[0-9a-f]{48}$/);
    assert.equal(response.object, 'response');
    assert.equal(response.status, 'completed');
    assert.equal(response.output_text, 'Echo: Hello');
    assert.equal(response.model, 'test-model');
    assert.equal(response.instructions, 'Be brief.');
    assert.deepEqual(response.metadata, { topic: 'greeting' });
    assert.equal(response.max_output_tokens, 50);
    assert.equal(response.temperature, 0.3);
    assert.equal(response.error, null);
    assert.equal(response.incomplete_details, null);
    assert.equal(typeof response.created_at, 'number');
    assert.equal(response.output.length, 1);
    const message = response.output[0];
    assert.equal(message?.type, 'message');
    if (message?.type === 'message') {
      assert.match(message.id, /^msg_/);
      assert.equal(message.role, 'assistant');
      assert.equal(message.status, 'completed');
      assert.deepEqual(message.content, [{ type: 'output_text', text: 'Echo: Hello', annotations: [], logprobs: [] }]);
    }
    assert.ok((response.usage?.total_tokens ?? 0) > 0);
    assert.equal(response.usage?.total_tokens, (response.usage?.input_tokens ?? 0) + (response.usage?.output_tokens ?? 0));
    assert.equal(raw.headers.get('x-g4f-provider'), 'alpha');
    const upstream = fixture.alpha.requests.at(-1)?.body as Record<string, unknown>;
    assert.deepEqual(upstream.messages, [
      { role: 'system', content: 'Be brief.' },
      { role: 'user', content: 'Hello' },
    ]);
    assert.equal(upstream.max_tokens, 50);
    assert.equal(upstream.temperature, 0.3);
    assert.equal(upstream.stream, false);
    const retrieved = await client.responses.retrieve(response.id);
    assert.equal(retrieved.id, response.id);
    assert.equal(retrieved.output_text, 'Echo: Hello');
    assert.deepEqual(retrieved.output, response.output);
  });

  test('store: false keeps nothing', async () => {
    const response = await client.responses.create({ model: 'test-model', input: 'forget me', store: false });
    assert.equal((response as unknown as { store: boolean }).store, false);
    assert.equal(response.output_text, 'Echo: forget me');
    await assert.rejects(client.responses.retrieve(response.id), OpenAI.NotFoundError);
    await assert.rejects(
      client.responses.create({ model: 'test-model', input: 'more', previous_response_id: response.id }),
      (error: unknown) => error instanceof OpenAI.NotFoundError && error.param === 'previous_response_id' && error.code === 'previous_response_not_found',
    );
  });

  test('responses.stream: events as they come, and finalResponse()', async () => {
    fixture.alpha.enqueue({ chunks: ['Once ', 'upon ', 'a ', 'time'] });
    const stream = client.responses.stream({ model: 'test-model', input: 'Tell a story' });
    const deltas: string[] = [];
    stream.on('response.output_text.delta', (event) => deltas.push(event.delta));
    const final = await stream.finalResponse();
    assert.deepEqual(deltas, ['Once ', 'upon ', 'a ', 'time']);
    assert.equal(final.status, 'completed');
    assert.equal(final.output_text, 'Once upon a time');
    assert.ok((final.usage?.output_tokens ?? 0) > 0);
    assert.equal((fixture.alpha.requests.at(-1)?.body as { stream: boolean }).stream, true);
    const stored = await client.responses.retrieve(final.id);
    assert.equal(stored.output_text, 'Once upon a time');
    assert.equal(stored.status, 'completed');
  });

  test('the raw event sequence of a text answer: names, order, sequence_number, and the items of each event', async () => {
    fixture.alpha.enqueue({ chunks: ['Hel', 'lo'] });
    const raw = await postResponses(fixture.url, { model: 'test-model', input: 'hi', stream: true });
    assert.equal(raw.status, 200);
    assert.match(String(raw.headers['content-type']), /^text\/event-stream/);
    const events = parseEvents(raw.body);
    assert.deepEqual(checkedNames(events), [
      'response.created',
      'response.in_progress',
      'response.output_item.added',
      'response.content_part.added',
      'response.output_text.delta',
      'response.output_text.delta',
      'response.output_text.done',
      'response.content_part.done',
      'response.output_item.done',
      'response.completed',
    ]);
    const created = events[0]?.data.response as Record<string, unknown>;
    assert.equal(created.status, 'in_progress');
    assert.deepEqual(created.output, []);
    assert.equal(created.usage, null);
    const item = events[2]?.data.item as Record<string, unknown>;
    assert.deepEqual({ ...item, id: 'x' }, { id: 'x', type: 'message', status: 'in_progress', role: 'assistant', content: [] });
    assert.equal(events[2]?.data.output_index, 0);
    assert.deepEqual(events[4]?.data, {
      type: 'response.output_text.delta',
      sequence_number: 4,
      item_id: item.id,
      output_index: 0,
      content_index: 0,
      delta: 'Hel',
      logprobs: [],
    });
    assert.equal(events[6]?.data.text, 'Hello');
    assert.deepEqual(events[7]?.data.part, { type: 'output_text', text: 'Hello', annotations: [], logprobs: [] });
    assert.equal((events[8]?.data.item as { status: string }).status, 'completed');
    const completed = events[9]?.data.response as { id: string; status: string; output: unknown[]; usage: { total_tokens: number } };
    assert.equal(completed.id, created.id);
    assert.equal(completed.status, 'completed');
    assert.deepEqual(completed.output, [events[8]?.data.item]);
    assert.ok(completed.usage.total_tokens > 0);
    assert.ok(!raw.body.includes('[DONE]'));
  });

  test('the raw event sequence with reasoning and two function calls', async () => {
    fixture.alpha.enqueue({
      reasoning: 'Two cities, two calls.',
      toolCalls: [
        { name: 'get_weather', arguments: '{"city":"Paris"}', id: 'call_a', cuts: [4, 10] },
        { name: 'get_weather', arguments: '{"city":"Oslo"}', id: 'call_b', cuts: [6] },
      ],
    });
    const raw = await postResponses(fixture.url, { model: 'test-model', input: 'weather in Paris and Oslo?', tools: [WEATHER], stream: true });
    assert.equal(raw.status, 200, raw.body);
    const events = parseEvents(raw.body);
    const names = checkedNames(events);
    const reasoningDeltas = names.filter((name) => name === 'response.reasoning_summary_text.delta').length;
    const argumentDeltas = names.filter((name) => name === 'response.function_call_arguments.delta').length;
    assert.ok(reasoningDeltas >= 1 && argumentDeltas >= 4, names.join(' '));
    const collapsed = names.filter((name, index) => name !== names[index - 1] || !name.endsWith('.delta'));
    assert.deepEqual(collapsed, [
      'response.created',
      'response.in_progress',
      'response.output_item.added',
      'response.reasoning_summary_part.added',
      'response.reasoning_summary_text.delta',
      'response.reasoning_summary_text.done',
      'response.reasoning_summary_part.done',
      'response.output_item.done',
      'response.output_item.added',
      'response.function_call_arguments.delta',
      'response.function_call_arguments.done',
      'response.output_item.done',
      'response.output_item.added',
      'response.function_call_arguments.delta',
      'response.function_call_arguments.done',
      'response.output_item.done',
      'response.completed',
    ]);
    const completed = events.at(-1)?.data.response as { output: Array<Record<string, unknown>> };
    assert.deepEqual(
      completed.output.map((item) => ({ ...item, id: String(item.id).slice(0, 3) })),
      [
        { id: 'rs_', type: 'reasoning', summary: [{ type: 'summary_text', text: 'Two cities, two calls.' }] },
        { id: 'fc_', type: 'function_call', status: 'completed', arguments: '{"city":"Paris"}', call_id: 'call_a', name: 'get_weather' },
        { id: 'fc_', type: 'function_call', status: 'completed', arguments: '{"city":"Oslo"}', call_id: 'call_b', name: 'get_weather' },
      ],
    );
    const done = events
      .filter((item) => item.event === 'response.function_call_arguments.done')
      .map((item) => [item.data.output_index, item.data.name, item.data.arguments]);
    assert.deepEqual(done, [
      [1, 'get_weather', '{"city":"Paris"}'],
      [2, 'get_weather', '{"city":"Oslo"}'],
    ]);
  });

  test('tools over several turns: function_call_output with previous_response_id, then stateless with the output sent back', async () => {
    fixture.alpha.enqueue({ toolCalls: [{ name: 'get_weather', arguments: '{"city":"Paris"}', id: 'call_p' }], reasoning: 'Need the weather.' });
    const first = await client.responses.create({
      model: 'test-model',
      input: 'Weather in Paris?',
      tools: [WEATHER],
      tool_choice: 'auto',
      instructions: 'Use tools.',
    });
    const calls = first.output.filter((item) => item.type === 'function_call');
    assert.equal(calls.length, 1);
    assert.deepEqual(
      calls.map((call) => ({ call_id: call.call_id, name: call.name, arguments: call.arguments, status: call.status })),
      [{ call_id: 'call_p', name: 'get_weather', arguments: '{"city":"Paris"}', status: 'completed' }],
    );
    assert.equal(first.output_text, '');
    assert.equal(first.output[0]?.type, 'reasoning');
    const upstreamFirst = fixture.alpha.requests.at(-1)?.body as Record<string, unknown>;
    assert.deepEqual(upstreamFirst.tools, [
      { type: 'function', function: { name: 'get_weather', description: 'The weather in a city', parameters: WEATHER.parameters, strict: true } },
    ]);
    assert.equal(upstreamFirst.tool_choice, 'auto');

    fixture.alpha.enqueue({ text: 'It is 21 °C in Paris.' });
    const second = await client.responses.create({
      model: 'test-model',
      previous_response_id: first.id,
      tools: [WEATHER],
      input: [{ type: 'function_call_output', call_id: 'call_p', output: '{"celsius":21}' }],
    });
    assert.equal(second.output_text, 'It is 21 °C in Paris.');
    assert.equal(second.previous_response_id, first.id);
    // The instructions of the first response are not carried over (as OpenAI does).
    assert.deepEqual(upstreamMessages(fixture), [
      { role: 'user', content: 'Weather in Paris?' },
      { role: 'assistant', content: null, tool_calls: [{ id: 'call_p', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Paris"}' } }] },
      { role: 'tool', tool_call_id: 'call_p', content: '{"celsius":21}' },
    ]);

    // Stateless: the client sends the whole history, with the output items as they came.
    fixture.alpha.enqueue({ toolCalls: [{ name: 'get_weather', arguments: '{"city":"Rome"}', id: 'call_r' }] });
    const stream = client.responses.stream({ model: 'test-model', input: 'And Rome?', tools: [WEATHER], store: false });
    const argumentDeltas: string[] = [];
    stream.on('response.function_call_arguments.delta', (event) => argumentDeltas.push(event.delta));
    const third = await stream.finalResponse();
    assert.equal(argumentDeltas.join(''), '{"city":"Rome"}');
    const call = third.output.find((item) => item.type === 'function_call');
    assert.ok(call !== undefined && call.type === 'function_call');
    fixture.alpha.enqueue({ text: 'Rome: 25 °C.' });
    const fourth = await client.responses.create({
      model: 'test-model',
      store: false,
      tools: [WEATHER],
      input: [
        { role: 'user', content: 'And Rome?' },
        ...(third.output as OpenAI.Responses.ResponseInputItem[]),
        { type: 'function_call_output', call_id: call.call_id, output: '{"celsius":25}' },
      ],
    });
    assert.equal(fourth.output_text, 'Rome: 25 °C.');
    assert.deepEqual(upstreamMessages(fixture), [
      { role: 'user', content: 'And Rome?' },
      { role: 'assistant', content: null, tool_calls: [{ id: 'call_r', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Rome"}' } }] },
      { role: 'tool', tool_call_id: 'call_r', content: '{"celsius":25}' },
    ]);
  });

  test('previous_response_id continues a conversation over three turns, streamed and not', async () => {
    const one = await client.responses.create({ model: 'test-model', input: 'one' });
    const two = await client.responses
      .stream({ model: 'test-model', input: [{ role: 'user', content: [{ type: 'input_text', text: 'two' }] }], previous_response_id: one.id })
      .finalResponse();
    assert.equal(two.output_text, 'Echo: two');
    const three = await client.responses.create({ model: 'test-model', input: 'three', previous_response_id: two.id, instructions: 'Now.' });
    assert.equal(three.output_text, 'Echo: three');
    assert.deepEqual(upstreamMessages(fixture), [
      { role: 'system', content: 'Now.' },
      { role: 'user', content: 'one' },
      { role: 'assistant', content: 'Echo: one' },
      { role: 'user', content: [{ type: 'text', text: 'two' }] },
      { role: 'assistant', content: 'Echo: two' },
      { role: 'user', content: 'three' },
    ]);
  });

  test('responses.retrieve and responses.delete; a deleted or unknown response is a NotFoundError', async () => {
    const response = await client.responses.create({ model: 'test-model', input: 'keep me' });
    assert.equal((await client.responses.retrieve(response.id)).output_text, 'Echo: keep me');
    await client.responses.delete(response.id);
    await assert.rejects(client.responses.retrieve(response.id), OpenAI.NotFoundError);
    await assert.rejects(client.responses.delete(response.id), OpenAI.NotFoundError);
    await assert.rejects(client.responses.retrieve('resp_nothing'), OpenAI.NotFoundError);
    const deleted = await send(fixture.url, {
      method: 'DELETE',
      path: `/v1/responses/${(await client.responses.create({ model: 'test-model', input: 'x' })).id}`,
    });
    assert.equal(deleted.status, 200);
    assert.equal((JSON.parse(deleted.body) as { deleted: boolean }).deleted, true);
  });

  test('BadRequestError: a hosted tool, named; a function_call_output with an unknown call_id', async () => {
    await assert.rejects(
      client.responses.create({ model: 'test-model', input: 'search', tools: [WEATHER, { type: 'web_search' }] }),
      (error: unknown) => error instanceof OpenAI.BadRequestError && error.param === 'tools[1].type' && /web_search/.test(error.message),
    );
    const first = await client.responses.create({ model: 'test-model', input: 'hi' });
    await assert.rejects(
      client.responses.create({
        model: 'test-model',
        previous_response_id: first.id,
        input: [{ type: 'function_call_output', call_id: 'call_nowhere', output: '1' }],
      }),
      (error: unknown) => error instanceof OpenAI.BadRequestError && error.param === 'input[0].call_id' && /call_nowhere/.test(error.message),
    );
    assert.equal(fixture.alpha.requests.length, 1, 'only the valid request reached the upstream');
  });

  test('a stream cut after it started: an error event, then response.failed; the SDK raises; the failed response is stored', async () => {
    fixture.alpha.enqueue({ chunks: ['partial ', 'answer ', 'never ', 'finished'], disconnectAfterChunks: 2 });
    const raw = await postResponses(fixture.url, { model: 'test-model', input: 'cut', stream: true });
    assert.equal(raw.status, 200);
    const events = parseEvents(raw.body);
    const names = checkedNames(events);
    assert.deepEqual(names.slice(-2), ['error', 'response.failed']);
    assert.ok(!names.includes('response.completed'));
    const error = events.at(-2)?.data as { code: string; message: string; error: { code: string } };
    assert.equal(error.code, 'stream_interrupted');
    assert.equal(error.error.code, 'stream_interrupted');
    const failed = events.at(-1)?.data.response as {
      id: string;
      status: string;
      error: { code: string; message: string };
      output: Array<{ status: string; content: Array<{ text: string }> }>;
    };
    assert.equal(failed.status, 'failed');
    assert.equal(failed.error.code, 'server_error');
    assert.equal(failed.output[0]?.status, 'incomplete');
    assert.equal(failed.output[0]?.content[0]?.text, 'partial answer ');
    assert.equal(fixture.beta.requests.length, 0, 'no fallback after the answer started');
    assert.equal((await client.responses.retrieve(failed.id)).status, 'failed');

    fixture.alpha.enqueue({ chunks: ['partial ', 'answer ', 'never ', 'finished'], disconnectAfterChunks: 2 });
    const stream = client.responses.stream({ model: 'test-model', input: 'cut again' });
    await assert.rejects(stream.finalResponse(), (thrown: unknown) => thrown instanceof OpenAI.APIError && /interrupted|cut|closed/i.test(thrown.message));
    fixture.alpha.enqueue({ chunks: ['partial ', 'answer ', 'never ', 'finished'], disconnectAfterChunks: 2 });
    const iterated = await client.responses.create({ model: 'test-model', input: 'and again', stream: true });
    const seen: string[] = [];
    await assert.rejects(
      (async () => {
        for await (const event of iterated) seen.push(event.type);
      })(),
      OpenAI.APIError,
    );
    assert.ok(seen.includes('response.output_text.delta'));
  });

  test('a failure before the first output falls back to the next provider; when all fail it is an HTTP error', async () => {
    fixture.alpha.enqueue({ status: 500 });
    const raw = await postResponses(fixture.url, { model: 'test-model', input: 'fall back', stream: true });
    assert.equal(raw.headers['x-g4f-provider'], 'beta');
    assert.equal(parseEvents(raw.body).at(-1)?.event, 'response.completed');
    fixture.alpha.enqueue({ status: 500 });
    fixture.beta.enqueue({ status: 503 });
    await assert.rejects(
      client.responses.create({ model: 'test-model', input: 'all fail' }),
      (error: unknown) => error instanceof OpenAI.APIError && error.status === 502 && error.code === 'all_providers_failed',
    );
  });

  test('max_output_tokens reached: status incomplete; streamed, response.incomplete is last', async () => {
    fixture.alpha.enqueue({ text: 'cut short', finishReason: 'length' });
    const whole = await client.responses.create({ model: 'test-model', input: 'long', max_output_tokens: 16 });
    assert.equal(whole.status, 'incomplete');
    assert.deepEqual(whole.incomplete_details, { reason: 'max_output_tokens' });
    fixture.alpha.enqueue({ text: 'cut short', finishReason: 'length' });
    const raw = await postResponses(fixture.url, { model: 'test-model', input: 'long', max_output_tokens: 16, stream: true });
    const last = parseEvents(raw.body).at(-1);
    assert.equal(last?.event, 'response.incomplete');
    assert.equal((last?.data.response as { status: string }).status, 'incomplete');
  });

  test('text.format, reasoning, images, parallel_tool_calls and tool_choice reach the upstream in its own shape', async () => {
    const schema = { type: 'object', properties: { answer: { type: 'string' } }, required: ['answer'], additionalProperties: false };
    const response = await client.responses.create({
      model: 'test-model',
      input: [
        {
          role: 'user',
          content: [
            { type: 'input_text', text: 'what is it' },
            { type: 'input_image', image_url: PNG, detail: 'low' },
          ],
        },
      ],
      text: { format: { type: 'json_schema', name: 'answer', schema, strict: true } },
      reasoning: { effort: 'low' },
      tools: [WEATHER],
      tool_choice: { type: 'function', name: 'get_weather' },
      parallel_tool_calls: false,
      top_p: 0.5,
    });
    assert.equal(response.output_text, 'Echo: what is it [1 image]');
    assert.deepEqual(response.text?.format, { type: 'json_schema', name: 'answer', schema, strict: true });
    assert.deepEqual(response.tool_choice, { type: 'function', name: 'get_weather' });
    assert.equal(response.reasoning?.effort, 'low');
    const upstream = fixture.alpha.requests.at(-1)?.body as Record<string, unknown>;
    assert.deepEqual(upstream.response_format, { type: 'json_schema', json_schema: { name: 'answer', schema, strict: true } });
    assert.equal(upstream.reasoning_effort, 'low');
    assert.equal(upstream.parallel_tool_calls, false);
    assert.equal(upstream.top_p, 0.5);
    assert.deepEqual(upstream.tool_choice, { type: 'function', function: { name: 'get_weather' } });
    assert.deepEqual((upstream.messages as UpstreamMessage[])[0]?.content, [
      { type: 'text', text: 'what is it' },
      { type: 'image_url', image_url: { url: PNG, detail: 'low' } },
    ]);
  });

  test('text.format json_object reaches the upstream as response_format json_object, streamed and not', async () => {
    const whole = await client.responses.create({
      model: 'test-model',
      input: 'answer in JSON',
      text: { format: { type: 'json_object' } },
      max_output_tokens: 64,
      temperature: 0.2,
    });
    assert.deepEqual(whole.text?.format, { type: 'json_object' });
    let upstream = fixture.alpha.requests.at(-1)?.body as Record<string, unknown>;
    assert.deepEqual(upstream.response_format, { type: 'json_object' });
    assert.equal(upstream.max_tokens, 64);
    assert.equal(upstream.temperature, 0.2);
    const streamed = await client.responses.stream({ model: 'test-model', input: 'answer in JSON', text: { format: { type: 'json_object' } } }).finalResponse();
    assert.deepEqual(streamed.text?.format, { type: 'json_object' });
    upstream = fixture.alpha.requests.at(-1)?.body as Record<string, unknown>;
    assert.deepEqual(upstream.response_format, { type: 'json_object' });
  });

  test('a client that goes away cancels the upstream call', async () => {
    fixture.alpha.enqueue({ chunks: ['one ', 'two '], stallAfterChunks: 1 });
    const controller = new AbortController();
    const stream = await client.responses.create({ model: 'test-model', input: 'stall', stream: true }, { signal: controller.signal });
    const index = fixture.alpha.requests.length - 1;
    const aborted = fixture.alpha.waitForAbort(index, 10_000);
    for await (const event of stream) {
      if (event.type === 'response.output_text.delta') break;
    }
    controller.abort();
    assert.equal((await aborted).aborted, true);
  });

  test('metrics count the route "responses"; the log line names the path', async () => {
    await client.responses.create({ model: 'test-model', input: 'count me' });
    const metrics = await send(fixture.url, { path: '/metrics' });
    assert.match(metrics.body, /^g4f_requests_total\{route="responses",provider="alpha",status="200"\} \d+$/m);
    const line = fixture.logger.records.findLast((record) => record.event === 'request' && record.path === '/v1/responses');
    assert.equal(line?.model, 'test-model');
    assert.equal(line?.provider, 'alpha');
  });

  describe('function calls however the upstream streams them: items whole, events consistent', () => {
    const CALLS = [
      { name: 'get_weather', arguments: '{"city":"Paris"}', id: 'call_1' },
      { name: 'get_weather', arguments: '{"city":"Tromsø, \\"north\\""}', id: 'call_2' },
    ];
    const variants: Array<[string, Plan]> = [
      ['fragments, one call after the other', { toolCalls: CALLS }],
      ['interleaved parallel calls', { toolCalls: CALLS, interleaveToolCalls: true }],
      ['each call whole in one delta', { toolCalls: CALLS, toolCallStyle: 'whole' }],
      ['every call in one delta', { toolCalls: CALLS, toolCallStyle: 'together' }],
      ['id and name repeated on every delta', { toolCalls: CALLS, toolCallContinuation: 'repeat' }],
      ['index-only continuations, interleaved', { toolCalls: CALLS, toolCallContinuation: 'index-only', interleaveToolCalls: true }],
      ['text, then the calls', { text: 'Let me check.', toolCalls: CALLS, finishReason: 'stop' }],
      ['the raw body cut at odd byte offsets', { reasoning: 'hmm', toolCalls: CALLS, splitAt: [150, 151, 300, 333, 420, 421, 422, 700], splitDelayMs: 1 }],
    ];
    for (const [name, plan] of variants) {
      test(name, async () => {
        fixture.alpha.enqueue(plan);
        const raw = await postResponses(fixture.url, { model: 'test-model', input: 'q', tools: [WEATHER], stream: true });
        assert.equal(raw.status, 200, raw.body);
        const events = parseEvents(raw.body);
        checkedNames(events);
        // One item at a time, as OpenAI streams them: an item is added only once the one before it is done.
        // Every delta belongs to the open item; each done item says what its deltas built.
        const open = new Map<number, { id: string; text: string }>();
        for (const { event, data } of events) {
          const index = data.output_index as number;
          if (event === 'response.output_item.added') {
            assert.equal(open.size, 0, `item ${index} added while item ${[...open.keys()].join()} is open`);
            assert.equal((data.item as { arguments?: string }).arguments ?? '', '', 'a call is added with no arguments yet');
            open.set(index, { id: (data.item as { id: string }).id, text: '' });
          } else if (event.endsWith('.delta')) {
            assert.equal(open.get(index)?.id, data.item_id, `${event} of an open item`);
            (open.get(index) as { text: string }).text += String(data.delta);
          } else if (event === 'response.function_call_arguments.done') assert.equal(data.arguments, open.get(index)?.text);
          else if (event === 'response.output_item.done') assert.ok(open.delete(index), 'done once');
        }
        assert.equal(open.size, 0, 'every item is done');
        const final = events.at(-1)?.data.response as { output: Array<Record<string, unknown>> };
        const calls = final.output.filter((item) => item.type === 'function_call').map((item) => [item.call_id, item.name, item.arguments, item.status]);
        assert.deepEqual(
          calls,
          CALLS.map((call) => [call.id, call.name, call.arguments, 'completed']),
        );
        fixture.alpha.enqueue(plan);
        const viaSdk = await client.responses.stream({ model: 'test-model', input: 'q', tools: [WEATHER] }).finalResponse();
        // The SDK adds `parsed` and `parsed_arguments` of its own; the rest is the stored output.
        const unparsed = JSON.parse(
          JSON.stringify(viaSdk.output, (key, value: unknown) => (key === 'parsed' || key === 'parsed_arguments' ? undefined : value)),
        ) as unknown;
        assert.deepEqual(unparsed, (await client.responses.retrieve(viaSdk.id)).output);
        assert.deepEqual(
          viaSdk.output.flatMap((item) => (item.type === 'function_call' ? [[item.call_id, item.arguments]] : [])),
          CALLS.map((call) => [call.id, call.arguments]),
        );
      });
    }
  });

  describe('malformed bodies: a 400 naming the field, and no upstream asked', () => {
    const cases: Array<[string, Record<string, unknown>, string]> = [
      ['no model', { input: 'x' }, 'model'],
      ['no input', { model: 'test-model' }, 'input'],
      ['empty input list', { model: 'test-model', input: [] }, 'input'],
      ['input a number', { model: 'test-model', input: 5 }, 'input'],
      ['an unknown role', { model: 'test-model', input: [{ role: 'robot', content: 'x' }] }, 'input[0].role'],
      ['an unknown item type', { model: 'test-model', input: [{ type: 'web_search_call', id: 'x' }] }, 'input[0].type'],
      ['an unknown content part', { model: 'test-model', input: [{ role: 'user', content: [{ type: 'input_audio' }] }] }, 'input[0].content[0].type'],
      [
        'an image of another scheme',
        { model: 'test-model', input: [{ role: 'user', content: [{ type: 'input_image', image_url: 'ftp://x/y.png' }] }] },
        'input[0].content[0].image_url',
      ],
      [
        'an image by file id',
        { model: 'test-model', input: [{ role: 'user', content: [{ type: 'input_image', file_id: 'file_1' }] }] },
        'input[0].content[0].file_id',
      ],
      ['a function call without call_id', { model: 'test-model', input: [{ type: 'function_call', name: 'f', arguments: '{}' }] }, 'input[0].call_id'],
      [
        'arguments that are not a string',
        { model: 'test-model', input: [{ type: 'function_call', call_id: 'c', name: 'f', arguments: {} }] },
        'input[0].arguments',
      ],
      ['an output for no call', { model: 'test-model', input: [{ type: 'function_call_output', call_id: 'c9', output: 'x' }] }, 'input[0].call_id'],
      ['a hosted tool', { model: 'test-model', input: 'x', tools: [{ type: 'file_search', vector_store_ids: [] }] }, 'tools[0].type'],
      ['a bad tool name', { model: 'test-model', input: 'x', tools: [{ type: 'function', name: 'bad name' }] }, 'tools[0].name'],
      [
        'parameters not an object schema',
        { model: 'test-model', input: 'x', tools: [{ type: 'function', name: 'f', parameters: { type: 'string' } }] },
        'tools[0].parameters',
      ],
      ['tool_choice naming no tool', { model: 'test-model', input: 'x', tools: [WEATHER], tool_choice: { type: 'function', name: 'other' } }, 'tool_choice'],
      ['tool_choice of a hosted tool', { model: 'test-model', input: 'x', tool_choice: { type: 'web_search_preview' } }, 'tool_choice.type'],
      ['temperature out of range', { model: 'test-model', input: 'x', temperature: 3 }, 'temperature'],
      ['max_output_tokens not an integer', { model: 'test-model', input: 'x', max_output_tokens: 1.5 }, 'max_output_tokens'],
      [
        'a json_schema format without a schema',
        { model: 'test-model', input: 'x', text: { format: { type: 'json_schema', name: 'a' } } },
        'text.format.schema',
      ],
      ['metadata with a number', { model: 'test-model', input: 'x', metadata: { a: 1 } }, 'metadata.a'],
      ['store not a boolean', { model: 'test-model', input: 'x', store: 'yes' }, 'store'],
      ['background', { model: 'test-model', input: 'x', background: true }, 'background'],
      ['a conversation object', { model: 'test-model', input: 'x', conversation: 'conv_1' }, 'conversation'],
      ['an unknown parameter', { model: 'test-model', input: 'x', frobnicate: true }, 'frobnicate'],
      ['an unknown include', { model: 'test-model', input: 'x', include: ['message.output_text.logprobs'] }, 'include[0]'],
      ['reasoning effort not a string', { model: 'test-model', input: 'x', reasoning: { effort: 3 } }, 'reasoning.effort'],
    ];
    for (const [name, body, param] of cases) {
      test(name, async () => {
        const response = await postResponses(fixture.url, body);
        assert.equal(response.status, 400, response.body);
        const error = errorOf(response);
        assert.equal(error.param, param, error.message);
        assert.equal(error.type, 'invalid_request_error');
        assert.equal(fixture.alpha.requests.length + fixture.beta.requests.length, 0);
      });
    }

    test('an unknown previous_response_id is a 404, and no upstream is asked', async () => {
      const response = await postResponses(fixture.url, { model: 'test-model', input: 'x', previous_response_id: 'resp_unknown' });
      assert.equal(response.status, 404);
      assert.equal(errorOf(response).param, 'previous_response_id');
      assert.equal(fixture.alpha.requests.length, 0);
    });

    test('wrong methods are 405 with Allow', async () => {
      const get = await send(fixture.url, { path: '/v1/responses' });
      assert.equal(get.status, 405);
      assert.equal(get.headers.allow, 'POST');
      const put = await send(fixture.url, { method: 'PUT', path: '/v1/responses/resp_x' });
      assert.equal(put.status, 405);
      assert.equal(put.headers.allow, 'GET, DELETE');
    });
  });
});

describe('stored responses belong to the API key that made them', () => {
  let fixture: Fixture;
  let dataDir: string;
  before(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'g4f-responses-keys-'));
    fixture = await startFixture({ dataDir, apiKeys: ['key-one', 'key-two'] });
  });
  after(async () => {
    await fixture.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  test("another key's response is not found, for retrieve, delete and previous_response_id", async () => {
    const one = new OpenAI({ baseURL: `${fixture.url}/v1`, apiKey: 'key-one', maxRetries: 0 });
    const two = new OpenAI({ baseURL: `${fixture.url}/v1`, apiKey: 'key-two', maxRetries: 0 });
    const mine = await one.responses.create({ model: 'test-model', input: 'mine' });
    assert.equal((await one.responses.retrieve(mine.id)).output_text, 'Echo: mine');
    await assert.rejects(two.responses.retrieve(mine.id), OpenAI.NotFoundError);
    await assert.rejects(two.responses.delete(mine.id), OpenAI.NotFoundError);
    await assert.rejects(two.responses.create({ model: 'test-model', input: 'x', previous_response_id: mine.id }), OpenAI.NotFoundError);
    const continued = await one.responses.create({ model: 'test-model', input: 'again', previous_response_id: mine.id });
    assert.equal(continued.output_text, 'Echo: again');
    const unauthorised = await send(fixture.url, { path: `/v1/responses/${mine.id}` });
    assert.equal(unauthorised.status, 401);
  });
});

describe('limits and shutdown', () => {
  test('a body over the limit is a 413, unless it carries images (then the image limit holds)', async () => {
    const fixture = await startFixture({ dataDir: mkdtempSync(join(tmpdir(), 'g4f-responses-limits-')), bodyLimitBytes: 2_048 });
    try {
      const long = await postResponses(fixture.url, { model: 'test-model', input: 'x'.repeat(3_000) });
      assert.equal(long.status, 413);
      const png = `data:image/png;base64,${'A'.repeat(4_000)}`;
      const image = await postResponses(fixture.url, { model: 'test-model', input: [{ role: 'user', content: [{ type: 'input_image', image_url: png }] }] });
      assert.equal(image.status, 200, image.body);
      assert.equal(fixture.alpha.requests.length, 1);
    } finally {
      await fixture.close();
    }
  });

  test('at the shutdown deadline a stream ends with an error event (server_shutting_down) and response.failed', async () => {
    const fixture = await startFixture({ dataDir: mkdtempSync(join(tmpdir(), 'g4f-responses-shutdown-')) });
    try {
      fixture.alpha.enqueue({ chunks: ['never ', 'ends'], stallAfterChunks: 1 });
      const answer = postResponses(fixture.url, { model: 'test-model', input: 'stall', stream: true });
      await fixture.alpha.waitForRequests(1, 10_000);
      const aborted = fixture.alpha.waitForAbort(0, 10_000);
      await fixture.server.close(200);
      await aborted;
      const events = parseEvents((await answer).body);
      assert.deepEqual(checkedNames(events).slice(-2), ['error', 'response.failed']);
      assert.equal(events.at(-2)?.data.code, 'server_shutting_down');
    } finally {
      await fixture.close();
    }
  });
});
