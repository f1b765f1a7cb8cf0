/**
 * One table, every protocol: the same conversation with tools and an image, through an
 * OpenAI-compatible, an Anthropic, a Gemini and an Ollama provider (each at the emulator of its
 * protocol) behind `g4f serve`, asked by the official `openai` client, streamed and whole, gives
 * the same tool calls (name, arguments) and the same text; each upstream got the image.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import OpenAI from 'openai';
import { parseConfig } from '../src/index.js';
import { startServer, type RunningServer } from '../src/server/index.js';
import { PNG, nativeEmulator, openAIEmulator, type Scenario, type TargetEmulator } from './conformance-cases.js';
import { askWithTools, photoQuestion, weatherCalls, type Answer } from './weather-chat.js';

interface Row {
  protocol: string;
  model: string;
  start(secret: string): Promise<TargetEmulator>;
  /** The config entry, given the emulator's URL. */
  provider(url: string): Record<string, unknown>;
}

const SECRET = 'table-key-0011';
const rows: Row[] = [
  {
    protocol: 'openai-compatible',
    model: 'compat/gpt-test',
    start: openAIEmulator,
    provider: (url) => ({ name: 'compat', type: 'openai-compatible', baseUrl: `${url}/v1`, apiKeyEnv: 'TABLE_KEY', models: ['gpt-test'] }),
  },
  {
    protocol: 'anthropic',
    model: 'claude/claude-test',
    start: nativeEmulator('anthropic'),
    provider: (url) => ({ name: 'claude', type: 'anthropic', baseUrl: url, apiKeyEnv: 'TABLE_KEY', models: ['claude-test'] }),
  },
  {
    protocol: 'gemini',
    model: 'gem/gemini-test',
    start: nativeEmulator('gemini'),
    provider: (url) => ({ name: 'gem', type: 'gemini', baseUrl: url, apiKeyEnv: 'TABLE_KEY', models: ['gemini-test'] }),
  },
  {
    protocol: 'ollama',
    model: 'local/llama3.2',
    start: nativeEmulator('ollama'),
    provider: (url) => ({ name: 'local', type: 'ollama', baseUrl: url, apiKeyEnv: 'TABLE_KEY', models: ['llama3.2'] }),
  },
];

const question = photoQuestion('What is the weather in the cities on this photo?');
const answering: Scenario = { text: 'It is 21 °C in Paris and 19 °C in Lyon.' };

describe('the same conversation through every protocol behind g4f serve', () => {
  const emulators = new Map<string, TargetEmulator>();
  let server: RunningServer;
  let client: OpenAI;

  before(async () => {
    process.env.TABLE_KEY = SECRET;
    for (const row of rows) emulators.set(row.protocol, await row.start(SECRET));
    const config = parseConfig({ providers: rows.map((row) => row.provider(emulators.get(row.protocol)?.url ?? '')), retry: { attempts: 1 } });
    server = await startServer({ port: 0, quiet: true, web: false, config });
    client = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: 'unused', maxRetries: 0, timeout: 20_000 });
  });
  after(async () => {
    await server?.close(2_000);
    await Promise.all([...emulators.values()].map((emulator) => emulator.close()));
    delete process.env.TABLE_KEY;
  });

  const ask = (model: string, messages: OpenAI.ChatCompletionMessageParam[], stream: boolean): Promise<Answer> => askWithTools(client, model, messages, stream);

  for (const stream of [false, true]) {
    test(`same tool calls and same text from every protocol (${stream ? 'streamed' : 'whole'})`, async () => {
      const results: Array<{ protocol: string; first: Answer; second: Answer }> = [];
      for (const row of rows) {
        const emulator = emulators.get(row.protocol);
        assert.ok(emulator);
        emulator.reset();
        emulator.play(weatherCalls);
        emulator.play(answering);
        const first = await ask(row.model, question, stream);
        assert.ok(JSON.stringify(emulator.requests[0]?.body).includes(PNG), `${row.protocol}: the image reached the upstream`);
        assert.equal(first.finish, 'tool_calls', row.protocol);
        assert.ok(
          first.calls.every((call) => call.id !== ''),
          `${row.protocol}: every call has an id`,
        );
        const second = await ask(
          row.model,
          [
            ...question,
            {
              role: 'assistant',
              content: first.text,
              tool_calls: first.calls.map((call) => ({ id: call.id, type: 'function' as const, function: { name: call.name, arguments: call.arguments } })),
            },
            ...first.calls.map((call, index) => ({ role: 'tool' as const, tool_call_id: call.id, content: `{"celsius":${21 - 2 * index}}` })),
          ],
          stream,
        );
        assert.equal(second.finish, 'stop', row.protocol);
        results.push({ protocol: row.protocol, first, second });
      }
      const expected = {
        text: 'Let me look.',
        calls: [
          ['get_weather', '{"city":"Paris"}'],
          ['get_weather', '{"city":"Lyon"}'],
        ],
        answer: answering.text,
      };
      for (const { protocol, first, second } of results) {
        assert.deepEqual({ text: first.text, calls: first.calls.map((call) => [call.name, call.arguments]), answer: second.text }, expected, protocol);
      }
    });
  }
});
