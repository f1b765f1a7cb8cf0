/**
 * Tool calls through `POST /v1/chat/completions` over real sockets, with the official clients
 * (the `openai` package, the AI SDK) and raw SSE: parallel calls split at odd places, several
 * turns, OpenAI's exact streamed shapes, fallback before the first tool-call delta and never
 * after it, and usage that counts the calls' arguments.
 */
import { after, before, beforeEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import OpenAI from 'openai';
import { createOpenAICompatible } from '@ai-sdk/openai-compatible';
import { generateText, jsonSchema, stepCountIs, streamText, tool } from 'ai';
import { z } from 'zod';
import type { Plan, PlanToolCall, RecordedRequest } from '../src/emulators/index.js';
import { postChat, sseData } from './server-fixture.js';
import { startChatFixture, type ChatFixture } from './chat-fixture.js';

const TOOLS = [
  {
    type: 'function' as const,
    function: {
      name: 'get_weather',
      description: 'The weather in a city',
      parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
    },
  },
  {
    type: 'function' as const,
    function: {
      name: 'get_time',
      description: 'The time in a zone',
      parameters: { type: 'object', properties: { zone: { type: 'string' } }, required: ['zone'] },
    },
  },
];

/** Two parallel calls whose arguments are cut inside keys, strings and escapes. */
const PARALLEL_CALLS: PlanToolCall[] = [
  { name: 'get_weather', arguments: '{"city":"Paris \\"Île\\" ☀"}', cuts: [1, 3, 9, 15, 16, 22] },
  { name: 'get_time', arguments: '{"zone":"Europe/Paris"}', cuts: [2, 7, 8, 13] },
];

/** The `messages` of a recorded upstream request. */
function messagesOf(record: RecordedRequest | undefined): Array<Record<string, unknown>> {
  const body = record?.body as { messages?: Array<Record<string, unknown>> } | undefined;
  return body?.messages ?? [];
}

function toolMessageCount(record: RecordedRequest): number {
  return messagesOf(record).filter((message) => message.role === 'tool').length;
}

/** What a client said about tool calls: assistant tool_calls and tool messages, as sent. */
function toolTurns(messages: ReadonlyArray<Record<string, unknown>>): unknown[] {
  return messages
    .filter((message) => message.role === 'tool' || (message.role === 'assistant' && message.tool_calls !== undefined))
    .map((message) =>
      message.role === 'tool'
        ? { role: 'tool', tool_call_id: message.tool_call_id, content: message.content }
        : { role: 'assistant', tool_calls: message.tool_calls },
    );
}

interface StreamedCall {
  id: string;
  name: string;
  arguments: string;
}

interface ParsedStream {
  calls: Map<number, StreamedCall>;
  content: string;
  finishReasons: Array<string | null>;
  done: boolean;
  errors: unknown[];
  events: Array<Record<string, unknown>>;
}

/** A raw SSE body checked against OpenAI's shapes of streamed tool calls (assertions inside). */
function parseToolStream(body: string): ParsedStream {
  const parsed: ParsedStream = { calls: new Map(), content: '', finishReasons: [], done: false, errors: [], events: [] };
  for (const data of sseData(body)) {
    assert.equal(parsed.done, false, 'nothing after [DONE]');
    if (data === '[DONE]') {
      parsed.done = true;
      continue;
    }
    const event = JSON.parse(data) as Record<string, unknown>;
    parsed.events.push(event);
    if (event.error !== undefined) {
      parsed.errors.push(event.error);
      continue;
    }
    for (const choice of event.choices as Array<{ delta: Record<string, unknown>; finish_reason: string | null }>) {
      if (choice.finish_reason !== null) parsed.finishReasons.push(choice.finish_reason);
      if (typeof choice.delta.content === 'string') parsed.content += choice.delta.content;
      const entries = choice.delta.tool_calls as Array<Record<string, unknown>> | undefined;
      if (entries === undefined) continue;
      assert.ok(Array.isArray(entries));
      for (const entry of entries) {
        assert.equal(typeof entry.index, 'number', `every tool_calls entry has an index: ${JSON.stringify(entry)}`);
        const index = entry.index as number;
        const fn = entry.function as Record<string, unknown> | undefined;
        const call = parsed.calls.get(index);
        const head = 'id' in entry || 'type' in entry || (fn !== undefined && 'name' in fn);
        if (call === undefined) {
          assert.equal(typeof entry.id, 'string', `the first delta of call ${index} has its id: ${JSON.stringify(entry)}`);
          assert.notEqual(entry.id, '');
          assert.equal(entry.type, 'function');
          assert.equal(typeof fn?.name, 'string', `the first delta of call ${index} has its name`);
          assert.notEqual(fn?.name, '');
          assert.equal(typeof fn?.arguments, 'string');
          parsed.calls.set(index, { id: entry.id as string, name: fn?.name as string, arguments: fn?.arguments as string });
        } else {
          assert.equal(head, false, `id, type and name come once, on the first delta of call ${index}: ${JSON.stringify(entry)}`);
          assert.equal(typeof fn?.arguments, 'string', `a later delta carries argument text: ${JSON.stringify(entry)}`);
          call.arguments += fn?.arguments as string;
        }
      }
    }
  }
  return parsed;
}

function argumentsText(call: PlanToolCall): string {
  return typeof call.arguments === 'string' ? call.arguments : JSON.stringify(call.arguments);
}

describe('tool calls', () => {
  let fixture: ChatFixture;
  let client: OpenAI;
  /** Bodies the openai client sent, in order. */
  const sent: Array<Record<string, unknown>> = [];

  before(async () => {
    fixture = await startChatFixture();
    client = new OpenAI({
      baseURL: `${fixture.url}/v1`,
      apiKey: 'sk-unused',
      maxRetries: 0,
      timeout: 20_000,
      fetch: async (url, init) => {
        if (typeof init?.body === 'string') sent.push(JSON.parse(init.body) as Record<string, unknown>);
        return fetch(url, init);
      },
    });
  });
  after(async () => {
    await fixture.close();
  });
  beforeEach(() => {
    sent.length = 0;
    fixture.reset();
  });

  describe('the openai package', () => {
    test('stream() + finalChatCompletion() puts parallel calls split at odd places back together', async () => {
      fixture.alpha.enqueue({ toolCalls: PARALLEL_CALLS });
      const stream = client.chat.completions.stream({ model: 'test-model', messages: [{ role: 'user', content: 'weather and time?' }], tools: TOOLS });
      const done: string[] = [];
      stream.on('tool_calls.function.arguments.done', (event) => done.push(`${event.name}:${event.arguments}`));
      const completion = await stream.finalChatCompletion();
      const choice = completion.choices[0];
      assert.equal(choice?.finish_reason, 'tool_calls');
      assert.equal(choice?.message.content, null);
      const calls = (choice?.message.tool_calls ?? []).map((call) =>
        call.type === 'function' ? { id: call.id, type: call.type, name: call.function.name, arguments: call.function.arguments } : call,
      );
      assert.deepEqual(calls, [
        { id: 'call_emu-0_0', type: 'function', name: 'get_weather', arguments: argumentsText(PARALLEL_CALLS[0] as PlanToolCall) },
        { id: 'call_emu-0_1', type: 'function', name: 'get_time', arguments: argumentsText(PARALLEL_CALLS[1] as PlanToolCall) },
      ]);
      assert.deepEqual(done.sort(), [
        `get_time:${argumentsText(PARALLEL_CALLS[1] as PlanToolCall)}`,
        `get_weather:${argumentsText(PARALLEL_CALLS[0] as PlanToolCall)}`,
      ]);
      // The tools reached the upstream as the client sent them.
      assert.deepEqual((fixture.alpha.requests[0]?.body as { tools?: unknown }).tools, TOOLS);
    });

    test('stream() + finalChatCompletion() on interleaved parallel calls', async () => {
      fixture.alpha.enqueue({ toolCalls: PARALLEL_CALLS, interleaveToolCalls: true });
      const completion = await client.chat.completions
        .stream({ model: 'test-model', messages: [{ role: 'user', content: 'weather and time?' }], tools: TOOLS })
        .finalChatCompletion();
      const calls = completion.choices[0]?.message.tool_calls ?? [];
      assert.deepEqual(
        calls.map((call) => (call.type === 'function' ? [call.id, call.function.name, call.function.arguments] : [])),
        PARALLEL_CALLS.map((call, index) => [`call_emu-0_${index}`, call.name, argumentsText(call)]),
      );
    });

    test('runTools() with two tools over three turns; tool messages reach the upstream unchanged', async () => {
      fixture.alpha.setScript((record): Plan => {
        const results = toolMessageCount(record);
        if (results === 0)
          return {
            toolCalls: [
              { name: 'get_weather', arguments: { city: 'Paris' } },
              { name: 'get_time', arguments: { zone: 'CET' } },
            ],
          };
        if (results === 2) return { toolCalls: [{ name: 'get_weather', arguments: { city: 'Berlin' }, id: 'call_berlin' }], toolCallStyle: 'whole' };
        return { text: `Done after ${results} results.` };
      });
      const executed: string[] = [];
      const runner = client.chat.completions.runTools({
        model: 'test-model',
        messages: [{ role: 'user', content: 'plan my trip' }],
        tools: [
          {
            type: 'function',
            function: {
              name: 'get_weather',
              description: 'The weather in a city',
              parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
              parse: (input: string) => JSON.parse(input) as { city: string },
              function: ({ city }: { city: string }) => {
                executed.push(`weather ${city}`);
                return { city, celsius: city === 'Paris' ? 21 : 17 };
              },
            },
          },
          {
            type: 'function',
            function: {
              name: 'get_time',
              description: 'The time in a zone',
              parameters: { type: 'object', properties: { zone: { type: 'string' } }, required: ['zone'] },
              parse: (input: string) => JSON.parse(input) as { zone: string },
              function: ({ zone }: { zone: string }) => {
                executed.push(`time ${zone}`);
                return `12:00 ${zone}`;
              },
            },
          },
        ],
      });
      assert.equal(await runner.finalContent(), 'Done after 3 results.');
      assert.deepEqual(executed, ['weather Paris', 'time CET', 'weather Berlin']);
      assert.equal(fixture.alpha.requests.length, 3);
      assert.equal(sent.length, 3);
      for (let turn = 0; turn < 3; turn++) {
        const upstream = messagesOf(fixture.alpha.requests[turn]);
        const client = (sent[turn]?.messages ?? []) as Array<Record<string, unknown>>;
        assert.deepEqual(toolTurns(upstream), toolTurns(client), `turn ${turn}: tool turns as the client sent them`);
      }
      const last = toolTurns(messagesOf(fixture.alpha.requests[2]));
      assert.deepEqual(last, [
        {
          role: 'assistant',
          tool_calls: [
            { id: 'call_emu-0_0', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Paris"}' } },
            { id: 'call_emu-0_1', type: 'function', function: { name: 'get_time', arguments: '{"zone":"CET"}' } },
          ],
        },
        { role: 'tool', tool_call_id: 'call_emu-0_0', content: '{"city":"Paris","celsius":21}' },
        { role: 'tool', tool_call_id: 'call_emu-0_1', content: '12:00 CET' },
        { role: 'assistant', tool_calls: [{ id: 'call_berlin', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Berlin"}' } }] },
        { role: 'tool', tool_call_id: 'call_berlin', content: '{"city":"Berlin","celsius":17}' },
      ]);
      // An assistant turn of calls alone goes upstream with content null, as OpenAI takes it.
      const assistant = messagesOf(fixture.alpha.requests[2]).find((message) => message.role === 'assistant');
      assert.equal(assistant?.content, null);
    });

    test('runTools() streamed', async () => {
      fixture.alpha.setScript(
        (record): Plan => (toolMessageCount(record) === 0 ? { toolCalls: PARALLEL_CALLS, interleaveToolCalls: true } : { text: 'streamed done' }),
      );
      const seen: string[] = [];
      const runner = client.chat.completions.runTools({
        model: 'test-model',
        stream: true,
        messages: [{ role: 'user', content: 'go' }],
        tools: [
          {
            type: 'function',
            function: {
              name: 'get_weather',
              description: 'w',
              parameters: { type: 'object' },
              function: (args: string) => {
                seen.push(args);
                return 'sunny';
              },
            },
          },
          {
            type: 'function',
            function: {
              name: 'get_time',
              description: 't',
              parameters: { type: 'object' },
              function: (args: string) => {
                seen.push(args);
                return 'noon';
              },
            },
          },
        ],
      });
      assert.equal(await runner.finalContent(), 'streamed done');
      assert.deepEqual(seen, PARALLEL_CALLS.map(argumentsText));
      assert.deepEqual(toolTurns(messagesOf(fixture.alpha.requests[1])).slice(1), [
        { role: 'tool', tool_call_id: 'call_emu-0_0', content: 'sunny' },
        { role: 'tool', tool_call_id: 'call_emu-0_1', content: 'noon' },
      ]);
    });
  });

  describe('raw server-sent events', () => {
    const variants: Array<[string, Plan]> = [
      ['OpenAI fragments, one call after the other', { toolCalls: PARALLEL_CALLS }],
      ['interleaved parallel calls', { toolCalls: PARALLEL_CALLS, interleaveToolCalls: true }],
      ['each call whole in one delta', { toolCalls: PARALLEL_CALLS, toolCallStyle: 'whole' }],
      ['every call in one delta', { toolCalls: PARALLEL_CALLS, toolCallStyle: 'together' }],
      ['an upstream repeating id, type and name on every delta', { toolCalls: PARALLEL_CALLS, toolCallContinuation: 'repeat' }],
      ['continuation deltas with only an index', { toolCalls: PARALLEL_CALLS, toolCallContinuation: 'index-only', interleaveToolCalls: true }],
      ['text before the calls, finish_reason stop upstream', { text: 'Let me check.', toolCalls: PARALLEL_CALLS, finishReason: 'stop' }],
      ['the raw body cut at odd byte offsets', { toolCalls: PARALLEL_CALLS, splitAt: [150, 151, 300, 333, 420, 421, 422, 700], splitDelayMs: 1 }],
    ];
    for (const [name, plan] of variants) {
      test(`tool_calls deltas in OpenAI's shape: ${name}`, async () => {
        fixture.alpha.enqueue(plan);
        const response = await postChat(fixture.url, { model: 'test-model', stream: true, messages: [{ role: 'user', content: 'q' }], tools: TOOLS });
        assert.equal(response.status, 200);
        const parsed = parseToolStream(response.body);
        assert.deepEqual(parsed.errors, []);
        assert.equal(parsed.done, true);
        assert.equal(parsed.content, plan.text ?? '');
        assert.deepEqual(
          [...parsed.calls.entries()].map(([index, call]) => ({ index, id: call.id, name: call.name, arguments: call.arguments })),
          PARALLEL_CALLS.map((call, index) => ({ index, id: `call_emu-0_${index}`, name: call.name, arguments: argumentsText(call) })),
        );
        assert.deepEqual(parsed.finishReasons, ['tool_calls'], 'finish_reason tool_calls, once');
        // No null where a client expects a string.
        assert.doesNotMatch(response.body, /"(id|type|name)":null/);
      });
    }

    test('tool_choice, parallel_tool_calls and strict reach the upstream as sent', async () => {
      const strictTools = TOOLS.map((item) => ({ ...item, function: { ...item.function, strict: true } }));
      for (const toolChoice of ['required', 'none', { type: 'function', function: { name: 'get_time' } }]) {
        fixture.alpha.reset();
        fixture.alpha.enqueue({ toolCalls: PARALLEL_CALLS.slice(1) });
        const response = await postChat(fixture.url, {
          model: 'test-model',
          messages: [{ role: 'user', content: 'q' }],
          tools: strictTools,
          tool_choice: toolChoice,
          parallel_tool_calls: false,
        });
        assert.equal(response.status, 200, response.body);
        const upstream = fixture.alpha.requests[0]?.body as Record<string, unknown>;
        assert.deepEqual(
          { tools: upstream.tools, tool_choice: upstream.tool_choice, parallel_tool_calls: upstream.parallel_tool_calls },
          { tools: strictTools, tool_choice: toolChoice, parallel_tool_calls: false },
        );
      }
    });

    test('calls from an upstream that gives no ids get ids of their own, streamed and not', async () => {
      const calls = PARALLEL_CALLS.map((call) => ({ ...call, id: '' }));
      fixture.alpha.enqueue({ toolCalls: calls }, { toolCalls: calls });
      const streamed = parseToolStream(
        (await postChat(fixture.url, { model: 'test-model', stream: true, messages: [{ role: 'user', content: 'q' }], tools: TOOLS })).body,
      );
      const ids = [...streamed.calls.values()].map((call) => call.id);
      assert.equal(ids.length, 2);
      for (const id of ids) assert.match(id, /^call_\w+$/);
      assert.notEqual(ids[0], ids[1]);
      const whole = JSON.parse((await postChat(fixture.url, { model: 'test-model', messages: [{ role: 'user', content: 'q' }], tools: TOOLS })).body) as {
        choices: Array<{ message: { tool_calls: Array<{ id: string }> } }>;
      };
      const wholeIds = whole.choices[0]?.message.tool_calls.map((call) => call.id) ?? [];
      assert.equal(wholeIds.length, 2);
      for (const id of wholeIds) assert.match(id, /^call_\w+$/);
      assert.notEqual(wholeIds[0], wholeIds[1]);
    });

    test('n = 2 with tool calls: each choice has its own calls, each call its id and name once', async () => {
      fixture.alpha.enqueue({ toolCalls: PARALLEL_CALLS, interleaveToolCalls: true });
      const response = await postChat(fixture.url, { model: 'test-model', n: 2, stream: true, messages: [{ role: 'user', content: 'q' }], tools: TOOLS });
      const perChoice = [new Map<number, StreamedCall>(), new Map<number, StreamedCall>()];
      const finishes: string[][] = [[], []];
      for (const data of sseData(response.body).slice(0, -1)) {
        for (const choice of (
          JSON.parse(data) as { choices: Array<{ index: number; delta: { tool_calls?: Array<Record<string, unknown>> }; finish_reason: string | null }> }
        ).choices) {
          if (choice.finish_reason !== null) finishes[choice.index]?.push(choice.finish_reason);
          for (const entry of choice.delta.tool_calls ?? []) {
            const fn = entry.function as { name?: string; arguments: string };
            const calls = perChoice[choice.index] as Map<number, StreamedCall>;
            const call = calls.get(entry.index as number);
            if (call === undefined) calls.set(entry.index as number, { id: entry.id as string, name: fn.name as string, arguments: fn.arguments });
            else {
              assert.equal('id' in entry || 'name' in fn, false);
              call.arguments += fn.arguments;
            }
          }
        }
      }
      assert.deepEqual(finishes, [['tool_calls'], ['tool_calls']]);
      assert.deepEqual(
        perChoice.map((calls) => [...calls.values()].map((call) => [call.id, call.name, call.arguments])),
        [
          PARALLEL_CALLS.map((call, index) => [`call_emu-0_${index}`, call.name, argumentsText(call)]),
          PARALLEL_CALLS.map((call, index) => [`call_emu-0_c1_${index}`, call.name, argumentsText(call)]),
        ],
      );
    });

    test('finish_reason is tool_calls when the upstream said stop, not streamed', async () => {
      fixture.alpha.enqueue({ toolCalls: PARALLEL_CALLS, finishReason: 'stop' });
      const response = await postChat(fixture.url, { model: 'test-model', messages: [{ role: 'user', content: 'q' }], tools: TOOLS });
      assert.equal(response.status, 200);
      const choice = (JSON.parse(response.body) as { choices: Array<{ finish_reason: string; message: Record<string, unknown> }> }).choices[0];
      assert.equal(choice?.finish_reason, 'tool_calls');
      assert.equal(choice?.message.content, null);
      assert.deepEqual(
        choice?.message.tool_calls,
        PARALLEL_CALLS.map((call, index) => ({ id: `call_emu-0_${index}`, type: 'function', function: { name: call.name, arguments: argumentsText(call) } })),
      );
    });
  });

  describe('the AI SDK', () => {
    /** Step 1: both tools at once; step 2 (results present): the answer. */
    const twoSteps = (record: RecordedRequest): Plan =>
      toolMessageCount(record) === 0
        ? {
            toolCalls: [
              { name: 'weather', arguments: { city: 'Oslo' }, cuts: [3, 4] },
              { name: 'clock', arguments: { zone: 'UTC' } },
            ],
            interleaveToolCalls: true,
          }
        : {
            text: `It is ${messagesOf(record)
              .filter((message) => message.role === 'tool')
              .map((message) => String(message.content))
              .join(' and ')}.`,
          };
    const tools = (executed: string[]) => ({
      weather: tool({
        description: 'The weather in a city',
        inputSchema: z.object({ city: z.string() }),
        execute: async ({ city }) => {
          executed.push(`weather ${city}`);
          return { city, sky: 'clear' };
        },
      }),
      clock: tool({
        description: 'The time in a zone',
        inputSchema: jsonSchema<{ zone: string }>({
          type: 'object',
          properties: { zone: { type: 'string' } },
          required: ['zone'],
          additionalProperties: false,
        }),
        execute: async ({ zone }) => {
          executed.push(`clock ${zone}`);
          return `noon ${zone}`;
        },
      }),
    });

    test('generateText runs the tools over two steps', async () => {
      fixture.alpha.setScript(twoSteps);
      const executed: string[] = [];
      const provider = createOpenAICompatible({ baseURL: `${fixture.url}/v1`, name: 'g4f' });
      const result = await generateText({
        model: provider('test-model'),
        prompt: 'weather and time',
        tools: tools(executed),
        stopWhen: stepCountIs(3),
        maxRetries: 0,
      });
      assert.deepEqual(executed.sort(), ['clock UTC', 'weather Oslo']);
      assert.equal(result.steps.length, 2);
      assert.equal(result.steps[0]?.finishReason, 'tool-calls');
      assert.deepEqual(
        result.steps[0]?.toolCalls.map((call) => [call.toolCallId, call.toolName, call.input]),
        [
          ['call_emu-0_0', 'weather', { city: 'Oslo' }],
          ['call_emu-0_1', 'clock', { zone: 'UTC' }],
        ],
      );
      assert.equal(result.text, 'It is {"city":"Oslo","sky":"clear"} and noon UTC.');
      const second = messagesOf(fixture.alpha.requests[1]);
      assert.deepEqual(
        second.filter((message) => message.role === 'tool').map((message) => message.tool_call_id),
        ['call_emu-0_0', 'call_emu-0_1'],
      );
    });

    test('streamText runs the tools over two steps', async () => {
      fixture.alpha.setScript(twoSteps);
      const executed: string[] = [];
      const provider = createOpenAICompatible({ baseURL: `${fixture.url}/v1`, name: 'g4f' });
      const result = streamText({ model: provider('test-model'), prompt: 'weather and time', tools: tools(executed), stopWhen: stepCountIs(3), maxRetries: 0 });
      const parts: string[] = [];
      const errors: unknown[] = [];
      let text = '';
      for await (const part of result.fullStream) {
        if (part.type === 'tool-call') parts.push(`call ${part.toolName} ${JSON.stringify(part.input)}`);
        else if (part.type === 'tool-result') parts.push(`result ${part.toolName}`);
        else if (part.type === 'text-delta') text += part.text;
        else if (part.type === 'error') errors.push(part.error);
      }
      assert.deepEqual(errors, []);
      assert.deepEqual(
        parts.filter((part) => part.startsWith('call')),
        ['call weather {"city":"Oslo"}', 'call clock {"zone":"UTC"}'],
      );
      assert.deepEqual(parts.filter((part) => part.startsWith('result')).sort(), ['result clock', 'result weather']);
      assert.equal(text, 'It is {"city":"Oslo","sky":"clear"} and noon UTC.');
      assert.equal((await result.steps).length, 2);
      assert.equal(fixture.alpha.requests.length, 2);
    });
  });

  describe('fallback', () => {
    test('before the first tool-call delta: a 500 moves on to the next provider', async () => {
      fixture.alpha.enqueue({ status: 500 });
      fixture.beta.enqueue({ toolCalls: PARALLEL_CALLS });
      const response = await postChat(fixture.url, { model: 'test-model', stream: true, messages: [{ role: 'user', content: 'q' }], tools: TOOLS });
      assert.equal(response.headers['x-g4f-provider'], 'beta');
      const parsed = parseToolStream(response.body);
      assert.equal(parsed.done, true);
      assert.deepEqual(
        [...parsed.calls.values()].map((call) => call.arguments),
        PARALLEL_CALLS.map(argumentsText),
      );
      assert.equal(fixture.alpha.requests.length, 1);
      assert.equal(fixture.beta.requests.length, 1);
    });

    test('before the first tool-call delta: a cut after the role chunk moves on too', async () => {
      fixture.alpha.enqueue({ toolCalls: PARALLEL_CALLS, disconnectAfterChunks: 0 });
      fixture.beta.enqueue({ toolCalls: PARALLEL_CALLS });
      const response = await postChat(fixture.url, { model: 'test-model', stream: true, messages: [{ role: 'user', content: 'q' }], tools: TOOLS });
      assert.equal(response.headers['x-g4f-provider'], 'beta');
      const parsed = parseToolStream(response.body);
      assert.equal(parsed.done, true);
      assert.equal(parsed.calls.size, 2);
    });

    test('not streamed, a call cut mid-answer is replayed on the next provider (nothing was sent yet)', async () => {
      fixture.alpha.enqueue({ toolCalls: PARALLEL_CALLS, disconnectAfterChunks: 1 });
      fixture.beta.enqueue({ toolCalls: PARALLEL_CALLS });
      const response = await postChat(fixture.url, { model: 'test-model', messages: [{ role: 'user', content: 'q' }], tools: TOOLS });
      assert.equal(response.status, 200, response.body);
      assert.equal(response.headers['x-g4f-provider'], 'beta');
      const calls = (JSON.parse(response.body) as { choices: Array<{ message: { tool_calls: Array<{ function: { arguments: string } }> } }> }).choices[0]
        ?.message.tool_calls;
      assert.deepEqual(
        calls?.map((call) => call.function.arguments),
        PARALLEL_CALLS.map(argumentsText),
      );
    });

    test('never after it: one error event, no [DONE], the next provider is not asked', async () => {
      fixture.alpha.enqueue({ toolCalls: PARALLEL_CALLS, disconnectAfterChunks: 1 });
      fixture.beta.enqueue({ toolCalls: PARALLEL_CALLS });
      const response = await postChat(fixture.url, { model: 'test-model', stream: true, messages: [{ role: 'user', content: 'q' }], tools: TOOLS });
      assert.equal(response.status, 200);
      assert.equal(response.headers['x-g4f-provider'], 'alpha');
      const parsed = parseToolStream(response.body);
      assert.equal(parsed.done, false);
      assert.equal(parsed.errors.length, 1);
      assert.equal(parsed.calls.size, 1);
      assert.equal(parsed.calls.get(0)?.name, 'get_weather');
      assert.equal((await fixture.alpha.waitForEnd(0)).outcome, 'disconnected');
      assert.equal(fixture.beta.requests.length, 0);
      assert.equal(fixture.beta.queued(), 1);
    });
  });

  describe('usage', () => {
    const args = { query: 'the quick brown fox jumps over the lazy dog near the river bank at dawn', limit: 25, tags: ['alpha', 'beta', 'gamma', 'delta'] };
    const request = { model: 'test-model', messages: [{ role: 'user', content: 'count me' }], tools: TOOLS };

    test('counts tool-call arguments when the upstream gives none (not streamed)', async () => {
      fixture.alpha.enqueue({ text: 'ok', usage: false });
      const plain = JSON.parse((await postChat(fixture.url, request)).body) as { usage: { prompt_tokens: number; completion_tokens: number } };
      fixture.alpha.enqueue({ text: 'ok', usage: false, toolCalls: [{ name: 'get_weather', arguments: args }] });
      const withCalls = JSON.parse((await postChat(fixture.url, request)).body) as {
        usage: { prompt_tokens: number; completion_tokens: number };
        choices: Array<{ message: { tool_calls?: unknown[] } }>;
      };
      assert.equal(withCalls.choices[0]?.message.tool_calls?.length, 1);
      assert.equal(withCalls.usage.prompt_tokens, plain.usage.prompt_tokens);
      // The arguments alone are more than 30 tokens in any tokenizer of the GPT family.
      assert.ok(
        withCalls.usage.completion_tokens >= plain.usage.completion_tokens + 30,
        `completion tokens with a call ${withCalls.usage.completion_tokens}, without ${plain.usage.completion_tokens}`,
      );
    });

    test('counts tool-call arguments when the upstream gives none (streamed, include_usage)', async () => {
      const usageOf = async (plan: Plan): Promise<{ prompt_tokens: number; completion_tokens: number }> => {
        fixture.alpha.enqueue(plan);
        const response = await postChat(fixture.url, { ...request, stream: true, stream_options: { include_usage: true } });
        const last = sseData(response.body)
          .filter((data) => data !== '[DONE]')
          .map((data) => JSON.parse(data) as { usage?: { prompt_tokens: number; completion_tokens: number } })
          .at(-1);
        assert.ok(last?.usage !== undefined);
        return last.usage;
      };
      const plain = await usageOf({ text: 'ok', usage: false });
      const withCalls = await usageOf({ text: 'ok', usage: false, toolCalls: [{ name: 'get_weather', arguments: args }] });
      assert.equal(withCalls.prompt_tokens, plain.prompt_tokens);
      assert.ok(withCalls.completion_tokens >= plain.completion_tokens + 30, `${withCalls.completion_tokens} vs ${plain.completion_tokens}`);
    });
  });
});
