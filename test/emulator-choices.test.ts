/**
 * The emulators' tool calls, reasoning, several choices, logprobs and image echo: the exact
 * shapes of OpenAI's chat-completions wire format they send.
 */
import { after, before, beforeEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { request as httpRequest } from 'node:http';
import { createEmulator, type Emulator, type Plan } from '../src/emulators/index.js';

interface Choice {
  index: number;
  delta?: Record<string, unknown>;
  message?: Record<string, unknown>;
  logprobs?: { content: Array<Record<string, unknown>>; refusal: null } | null;
  finish_reason: string | null;
}

interface Answer {
  status: number;
  text: string;
  /** Streamed: the parsed events (no `[DONE]`); else the one object. */
  events: Array<{ choices: Choice[]; usage?: Record<string, number> }>;
  done: boolean;
}

const MESSAGES = [{ role: 'user', content: 'hi' }];

/** A POST over node:http; the body as far as it came (a cut answer is not an error here). */
function post(url: string, body: string): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const request = httpRequest(url, { method: 'POST', headers: { 'content-type': 'application/json' }, agent: false }, (response) => {
      const pieces: Buffer[] = [];
      response.on('data', (piece: Buffer) => pieces.push(piece));
      response.on('error', () => undefined);
      response.on('close', () => resolve({ status: response.statusCode ?? 0, text: Buffer.concat(pieces).toString('utf8') }));
    });
    request.on('error', reject);
    request.end(body);
  });
}

describe('emulator: tool calls, reasoning, choices, logprobs', () => {
  let emulator: Emulator;
  before(async () => {
    emulator = await createEmulator();
  });
  after(async () => {
    await emulator.close();
  });
  beforeEach(() => emulator.reset());

  async function ask(plan: Plan | undefined, body: Record<string, unknown>): Promise<Answer> {
    if (plan !== undefined) emulator.enqueue(plan);
    const { status, text } = await post(`${emulator.url}/v1/chat/completions`, JSON.stringify({ model: 'm', messages: MESSAGES, ...body }));
    if (body.stream !== true) return { status, text, events: [JSON.parse(text) as Answer['events'][number]], done: false };
    const data = text
      .split('\n\n')
      .filter((block) => block.startsWith('data: '))
      .map((block) => block.slice(6));
    const done = data.at(-1) === '[DONE]';
    return { status, text, events: (done ? data.slice(0, -1) : data).map((item) => JSON.parse(item) as Answer['events'][number]), done };
  }

  /** The deltas of choice 0 after its role chunk, finish left out. */
  const deltas = (answer: Answer, choice = 0): unknown[] =>
    answer.events
      .flatMap((event) => event.choices.filter((item) => item.index === choice && item.finish_reason === null))
      .slice(1)
      .map((item) => item.delta);

  test('fragments (default): a first delta with id, type, name and empty arguments, then fragments with the index only', async () => {
    const answer = await ask({ toolCalls: [{ name: 'f', arguments: '{"a":"b"}', cuts: [2, 5] }] }, { stream: true });
    assert.deepEqual(deltas(answer), [
      { tool_calls: [{ index: 0, id: 'call_emu-0_0', type: 'function', function: { name: 'f', arguments: '' } }] },
      { tool_calls: [{ index: 0, function: { arguments: '{"' } }] },
      { tool_calls: [{ index: 0, function: { arguments: 'a":' } }] },
      { tool_calls: [{ index: 0, function: { arguments: '"b"}' } }] },
    ]);
    assert.equal(answer.events.at(-1)?.choices[0]?.finish_reason, 'tool_calls');
    assert.equal(answer.done, true);
  });

  test('toolCallChunkCount, object arguments, given ids; usage counts the arguments', async () => {
    const answer = await ask(
      { toolCalls: [{ name: 'f', arguments: { x: 'one two' }, id: 'call_mine' }], toolCallChunkCount: 2 },
      { stream: true, stream_options: { include_usage: true } },
    );
    assert.deepEqual(deltas(answer).slice(1), [
      { tool_calls: [{ index: 0, function: { arguments: '{"x":"on' } }] },
      { tool_calls: [{ index: 0, function: { arguments: 'e two"}' } }] },
    ]);
    assert.equal((deltas(answer)[0] as { tool_calls: Array<{ id: string }> }).tool_calls[0]?.id, 'call_mine');
    assert.deepEqual(answer.events.at(-1)?.usage, { prompt_tokens: 1, completion_tokens: 3, total_tokens: 4 });
  });

  test('whole, together, interleaved, repeat and index-only', async () => {
    const calls = [
      { name: 'f', arguments: 'AB', cuts: [1] },
      { name: 'g', arguments: 'CD', cuts: [1] },
    ];
    const head = (index: number, name: string, args = ''): Record<string, unknown> => ({
      index,
      id: `call_emu-0_${index}`,
      type: 'function',
      function: { name, arguments: args },
    });
    const whole = await ask({ toolCalls: calls, toolCallStyle: 'whole' }, { stream: true });
    assert.deepEqual(deltas(whole), [{ tool_calls: [head(0, 'f', 'AB')] }, { tool_calls: [head(1, 'g', 'CD')] }]);
    emulator.reset();
    const together = await ask({ toolCalls: calls, toolCallStyle: 'together' }, { stream: true });
    assert.deepEqual(deltas(together), [{ tool_calls: [head(0, 'f', 'AB'), head(1, 'g', 'CD')] }]);
    emulator.reset();
    const fragment = (index: number, args: string) => ({ tool_calls: [{ index, function: { arguments: args } }] });
    const interleaved = await ask({ toolCalls: calls, interleaveToolCalls: true }, { stream: true });
    assert.deepEqual(deltas(interleaved), [
      { tool_calls: [head(0, 'f')] },
      { tool_calls: [head(1, 'g')] },
      fragment(0, 'A'),
      fragment(1, 'C'),
      fragment(0, 'B'),
      fragment(1, 'D'),
    ]);
    emulator.reset();
    const repeat = await ask({ toolCalls: calls.slice(0, 1), toolCallContinuation: 'repeat' }, { stream: true });
    assert.deepEqual(deltas(repeat), [{ tool_calls: [head(0, 'f')] }, { tool_calls: [head(0, 'f', 'A')] }, { tool_calls: [head(0, 'f', 'B')] }]);
    emulator.reset();
    const indexOnly = await ask({ toolCalls: calls.slice(0, 1), toolCallContinuation: 'index-only' }, { stream: true });
    assert.deepEqual(deltas(indexOnly), [
      { tool_calls: [head(0, 'f')] },
      { tool_calls: [{ index: 0 }] },
      fragment(0, 'A'),
      { tool_calls: [{ index: 0 }] },
      fragment(0, 'B'),
    ]);
  });

  test('not streamed: message.tool_calls, content null, finish_reason tool_calls; text with calls when given', async () => {
    const answer = await ask({ toolCalls: [{ name: 'f', arguments: '{}' }] }, {});
    assert.deepEqual(answer.events[0]?.choices, [
      {
        index: 0,
        message: { role: 'assistant', content: null, tool_calls: [{ id: 'call_emu-0_0', type: 'function', function: { name: 'f', arguments: '{}' } }] },
        finish_reason: 'tool_calls',
      },
    ]);
    const withText = await ask({ toolCalls: [{ name: 'f', arguments: '{}' }], text: 'calling', finishReason: 'stop' }, {});
    assert.equal(withText.events[0]?.choices[0]?.message?.content, 'calling');
    assert.equal(withText.events[0]?.choices[0]?.finish_reason, 'stop');
  });

  test('a fault after one chunk counts tool-call deltas; roleInFirstChunk merges the role into the first', async () => {
    const cut = await ask({ toolCalls: [{ name: 'f', arguments: '{"a":1}' }], disconnectAfterChunks: 1 }, { stream: true });
    assert.equal(cut.done, false);
    assert.equal(deltas(cut).length, 1);
    assert.equal((await emulator.waitForEnd(0)).outcome, 'disconnected');
    const merged = await ask({ toolCalls: [{ name: 'f', arguments: '{}' }], roleInFirstChunk: true, toolCallStyle: 'whole' }, { stream: true });
    assert.deepEqual(merged.events[0]?.choices[0]?.delta, {
      role: 'assistant',
      tool_calls: [{ index: 0, id: 'call_emu-1_0', type: 'function', function: { name: 'f', arguments: '{}' } }],
    });
  });

  for (const field of ['reasoning_content', 'reasoning'] as const) {
    test(`reasoning as ${field}, before the content`, async () => {
      const streamed = await ask({ reasoning: 'think', reasoningField: field, text: 'ok', chunkCount: 2 }, { stream: true });
      assert.deepEqual(deltas(streamed), [{ [field]: 'thi' }, { [field]: 'nk' }, { content: 'o' }, { content: 'k' }]);
      const whole = await ask({ reasoning: 'think', reasoningField: field, text: 'ok' }, {});
      assert.deepEqual(whole.events[0]?.choices[0]?.message, { role: 'assistant', content: 'ok', [field]: 'think' });
    });
  }

  test("the request's n: that many choices, interleaved when streamed; choiceTexts and choiceCount", async () => {
    const streamed = await ask({ text: 'ab', chunkCount: 2 }, { stream: true, n: 2 });
    const order = streamed.events.map((event) => [event.choices[0]?.index, event.choices[0]?.delta?.content ?? event.choices[0]?.finish_reason]);
    assert.deepEqual(order, [
      [0, ''],
      [1, ''],
      [0, 'a'],
      [1, 'ab (cho'],
      [0, 'b'],
      [1, 'ice 1)'],
      [0, 'stop'],
      [1, 'stop'],
    ]);
    const whole = await ask({ choiceTexts: ['x', 'y', 'z'], choiceCount: 3 }, {});
    assert.deepEqual(
      whole.events[0]?.choices.map((choice) => [choice.index, choice.message?.content]),
      [
        [0, 'x'],
        [1, 'y'],
        [2, 'z'],
      ],
    );
  });

  test('logprobs when asked: one entry per content chunk with its bytes and top_logprobs', async () => {
    const whole = await ask({ text: 'hé!', chunkCount: 2 }, { logprobs: true, top_logprobs: 2 });
    assert.deepEqual(whole.events[0]?.choices[0]?.logprobs, {
      content: [
        {
          token: 'hé',
          logprob: -0.125,
          bytes: [104, 195, 169],
          top_logprobs: [
            { token: 'hé', logprob: -0.125, bytes: [104, 195, 169] },
            { token: 'hé~1', logprob: -1.125, bytes: [104, 195, 169, 126, 49] },
          ],
        },
        {
          token: '!',
          logprob: -0.25,
          bytes: [33],
          top_logprobs: [
            { token: '!', logprob: -0.25, bytes: [33] },
            { token: '!~1', logprob: -1.25, bytes: [33, 126, 49] },
          ],
        },
      ],
      refusal: null,
    });
    const streamed = await ask({ text: 'ab', chunkCount: 2 }, { stream: true, logprobs: true });
    const content = streamed.events.flatMap((event) => event.choices).filter((choice) => choice.delta?.content !== undefined && choice.delta.content !== '');
    assert.deepEqual(
      content.map((choice) => choice.logprobs?.content.map((entry) => entry.token)),
      [['a'], ['b']],
    );
    const unasked = await ask({ text: 'ab' }, {});
    assert.equal('logprobs' in (unasked.events[0]?.choices[0] ?? {}), false);
  });

  test('the echo says how many images the last user message had', async () => {
    const image = { type: 'image_url', image_url: { url: 'https://example.com/a.png' } };
    const say = async (content: unknown): Promise<unknown> => {
      const { text } = await post(`${emulator.url}/v1/chat/completions`, JSON.stringify({ model: 'm', messages: [{ role: 'user', content }] }));
      return (JSON.parse(text) as { choices: Array<{ message: { content: string } }> }).choices[0]?.message.content;
    };
    assert.equal(await say([{ type: 'text', text: 'none' }]), 'Echo: none');
    assert.equal(await say([{ type: 'text', text: 'one' }, image]), 'Echo: one [1 image]');
    assert.equal(await say([image, { type: 'text', text: 'two' }, image]), 'Echo: two [2 images]');
  });
});
