/**
 * One request, three doors: the same question (a text answer, and an answer with tool calls)
 * asked through `/v1/chat/completions` and `/v1/responses` (the `openai` client) and
 * `/v1/messages` (`@anthropic-ai/sdk`), whole and streamed, answered by the same emulated
 * upstream, gives the same text and the same tool calls (names and arguments), and the upstream
 * is asked the same thing. Then a stream cut by the upstream in the middle of a tool call ends in
 * each door's own way (the cut of a text answer, and chat's cut tool call, are in the doors' own
 * tests).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import Anthropic from '@anthropic-ai/sdk';
import { createParser } from 'eventsource-parser';
import OpenAI from 'openai';
import type { Plan } from '../src/emulators/index.js';
import { send, startFixture, type Fixture } from './server-fixture.js';

const QUESTION = 'What is the weather in Paris, and the time in Oslo?';
const SYSTEM = 'Answer briefly.';
const WEATHER = {
  name: 'get_weather',
  description: 'The weather in a city',
  parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
};
const CLOCK = {
  name: 'get_time',
  description: 'The time in a zone',
  parameters: { type: 'object', properties: { zone: { type: 'string' } }, required: ['zone'] },
};

/** What a door answered, in the same terms for all three. */
interface Answer {
  text: string;
  calls: Array<{ name: string; arguments: unknown }>;
}

interface Case {
  name: string;
  plan: Plan;
  expected: Answer;
}

const CASES: Case[] = [
  {
    name: 'text',
    plan: { text: 'Sunny in Paris, 14:05 in Oslo — “ça va”.', chunkCount: 6 },
    expected: { text: 'Sunny in Paris, 14:05 in Oslo — “ça va”.', calls: [] },
  },
  {
    name: 'tool calls',
    plan: {
      text: 'Let me look both up.',
      toolCalls: [
        { name: 'get_weather', arguments: { city: 'Paris' }, cuts: [2, 7] },
        { name: 'get_time', arguments: '{"zone": "Europe/Oslo"}' },
      ],
    },
    expected: {
      text: 'Let me look both up.',
      calls: [
        { name: 'get_weather', arguments: { city: 'Paris' } },
        { name: 'get_time', arguments: { zone: 'Europe/Oslo' } },
      ],
    },
  },
];

interface Door {
  name: string;
  ask(stream: boolean): Promise<Answer>;
}

describe('the same request through the three doors', () => {
  let fixture: Fixture;
  let openai: OpenAI;
  let anthropic: Anthropic;
  before(async () => {
    fixture = await startFixture();
    openai = new OpenAI({ baseURL: `${fixture.url}/v1`, apiKey: 'unused', maxRetries: 0 });
    anthropic = new Anthropic({ baseURL: fixture.url, apiKey: 'unused', maxRetries: 0 });
  });
  after(async () => {
    await fixture.close();
  });

  const doors: Door[] = [
    {
      name: 'chat completions',
      async ask(stream) {
        const request = {
          model: 'test-model',
          messages: [
            { role: 'system' as const, content: SYSTEM },
            { role: 'user' as const, content: QUESTION },
          ],
          tools: [WEATHER, CLOCK].map((tool) => ({ type: 'function' as const, function: tool })),
        };
        const message = stream
          ? (await openai.chat.completions.stream(request).finalChatCompletion()).choices[0]?.message
          : (await openai.chat.completions.create(request)).choices[0]?.message;
        const calls = (message?.tool_calls ?? []).flatMap((call) => (call.type === 'function' ? [call.function] : []));
        return { text: message?.content ?? '', calls: calls.map((call) => ({ name: call.name, arguments: JSON.parse(call.arguments) as unknown })) };
      },
    },
    {
      name: 'Responses',
      async ask(stream) {
        const request = {
          model: 'test-model',
          instructions: SYSTEM,
          input: QUESTION,
          tools: [WEATHER, CLOCK].map((tool) => ({ type: 'function' as const, strict: false, ...tool })),
          store: false,
        };
        const response = stream ? await openai.responses.stream(request).finalResponse() : await openai.responses.create(request);
        const calls = response.output.flatMap((item) => (item.type === 'function_call' ? [item] : []));
        return { text: response.output_text, calls: calls.map((call) => ({ name: call.name, arguments: JSON.parse(call.arguments) as unknown })) };
      },
    },
    {
      name: 'Messages',
      async ask(stream) {
        const request = {
          model: 'test-model',
          max_tokens: 200,
          system: SYSTEM,
          messages: [{ role: 'user' as const, content: QUESTION }],
          tools: [WEATHER, CLOCK].map(({ parameters, ...tool }) => ({ ...tool, input_schema: parameters as Anthropic.Tool.InputSchema })),
        };
        const message = stream ? await anthropic.messages.stream(request).finalMessage() : await anthropic.messages.create(request);
        let text = '';
        const calls: Answer['calls'] = [];
        for (const block of message.content) {
          if (block.type === 'text') text += block.text;
          else if (block.type === 'tool_use') calls.push({ name: block.name, arguments: block.input });
        }
        return { text, calls };
      },
    },
  ];

  /** The part of an upstream request that says what was asked: the conversation and the tools. */
  function askedUpstream(): unknown {
    const body = fixture.alpha.requests.at(-1)?.body as {
      messages: unknown;
      tools?: Array<{ function: { name: string; description?: string; parameters?: unknown } }>;
    };
    return {
      messages: body.messages,
      tools: body.tools?.map((tool) => ({ name: tool.function.name, description: tool.function.description, parameters: tool.function.parameters })),
    };
  }

  for (const item of CASES) {
    for (const stream of [false, true]) {
      test(`${item.name}, ${stream ? 'streamed' : 'whole'}: the same answer and the same upstream request through every door`, async () => {
        const asked: unknown[] = [];
        for (const door of doors) {
          fixture.alpha.enqueue(item.plan);
          const answer = await door.ask(stream);
          assert.deepEqual(answer, item.expected, door.name);
          asked.push(askedUpstream());
        }
        assert.deepEqual(asked[0], {
          messages: [
            { role: 'system', content: SYSTEM },
            { role: 'user', content: QUESTION },
          ],
          tools: [WEATHER, CLOCK],
        });
        assert.deepEqual(asked[1], asked[0], 'Responses asked the upstream what chat completions asked');
        assert.deepEqual(asked[2], asked[0], 'Messages asked the upstream what chat completions asked');
      });
    }
  }

  /** The events of a server-sent event body, by name (`message` when unnamed) and data. */
  function parseEvents(body: string): Array<{ event: string; data: string }> {
    const list: Array<{ event: string; data: string }> = [];
    const parser = createParser({ onEvent: (event) => list.push({ event: event.event ?? 'message', data: event.data }) });
    parser.feed(body);
    return list;
  }

  const CUT: Plan = {
    toolCalls: [
      { name: 'get_weather', arguments: { city: 'Paris' }, cuts: [4, 8] },
      { name: 'get_time', arguments: { zone: 'UTC' } },
    ],
    disconnectAfterChunks: 3,
  };

  const cutDoors: Array<{ name: string; path: string; body: Record<string, unknown>; check(events: Array<{ event: string; data: string }>): void }> = [
    {
      name: 'Messages: `event: error`, no message_delta or message_stop, and no half call (the door sends a call once it is whole)',
      path: '/v1/messages',
      body: {
        model: 'test-model',
        max_tokens: 100,
        stream: true,
        messages: [{ role: 'user', content: QUESTION }],
        tools: [{ ...WEATHER, input_schema: WEATHER.parameters }],
      },
      check(events) {
        const names = events.map((item) => item.event);
        assert.deepEqual(names, ['message_start', 'ping', 'error']);
        assert.equal((JSON.parse(events.at(-1)?.data ?? '{}') as { type: string; error: { type: string } }).error.type, 'api_error');
      },
    },
    {
      name: 'Responses: the call started, then `error` and `response.failed`, and no response.completed',
      path: '/v1/responses',
      body: { model: 'test-model', stream: true, input: QUESTION, tools: [{ type: 'function', ...WEATHER }], store: false },
      check(events) {
        const names = events.map((item) => item.event);
        assert.deepEqual(names.slice(-2), ['error', 'response.failed']);
        assert.ok(!names.includes('response.completed'), names.join(' '));
        assert.ok(names.includes('response.function_call_arguments.delta'), 'argument fragments were sent before the cut');
        assert.ok(!names.includes('response.function_call_arguments.done'), 'a cut call is not announced as done');
        const failed = JSON.parse(events.at(-1)?.data ?? '{}') as {
          response: { status: string; output: Array<{ type: string; status: string; name: string }> };
        };
        assert.equal(failed.response.status, 'failed');
        assert.deepEqual(
          failed.response.output.map((output) => [output.type, output.name, output.status]),
          [['function_call', 'get_weather', 'incomplete']],
        );
      },
    },
  ];

  for (const door of cutDoors) {
    test(`a stream cut in the middle of a tool call. ${door.name}`, async () => {
      const before = fixture.beta.requests.length;
      fixture.alpha.enqueue(CUT);
      const reply = await send(fixture.url, {
        method: 'POST',
        path: door.path,
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(door.body),
      });
      assert.equal(reply.status, 200);
      door.check(parseEvents(reply.body));
      assert.equal(fixture.beta.requests.length, before, 'no fallback after the call started');
    });
  }
});
