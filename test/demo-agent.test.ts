/**
 * Demo mode's agent model, with the official `openai` client over a real socket: the README's
 * agent example (`runTools` against `g4f serve --demo`) runs as written, and `demo-agent` shows a
 * tool call, reasoning and a vision answer.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import OpenAI from 'openai';
import { startServer, type RunningServer } from '../src/server/index.js';

let server: RunningServer;
let client: OpenAI;

before(async () => {
  server = await startServer({ port: 0, web: false, demo: true, quiet: true });
  client = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: 'unused', maxRetries: 0 });
});

after(async () => {
  await server?.close(2_000);
});

describe('demo-agent', () => {
  test("the README's agent example: runTools calls the tool, then answers from its result", async () => {
    const calls: Array<{ city: string }> = [];
    const runner = client.chat.completions.runTools({
      model: 'demo-agent',
      messages: [{ role: 'user', content: 'What is the weather in Paris?' }],
      tools: [
        {
          type: 'function',
          function: {
            name: 'get_weather',
            description: 'The weather in a city',
            parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
            function: async ({ city }: { city: string }) => {
              calls.push({ city });
              return { city, celsius: 21 };
            },
            parse: JSON.parse,
          },
        },
      ],
    });
    const content = await runner.finalContent();
    assert.deepEqual(calls, [{ city: 'Paris' }]);
    assert.equal(content, 'The tool answered: {"city":"Paris","celsius":21}');
    const messages = runner.messages;
    const assistant = messages.find((message) => message.role === 'assistant' && 'tool_calls' in message && message.tool_calls !== undefined);
    assert.ok(assistant, 'the first answer was a tool call');
  });

  test('reasoning arrives apart from the answer, streamed and whole', async () => {
    const whole = await client.chat.completions.create({ model: 'demo-agent', messages: [{ role: 'user', content: 'hello' }] });
    const message = whole.choices[0]?.message as { content: string | null; reasoning_content?: string };
    assert.match(message.reasoning_content ?? '', /thinking out loud/);
    assert.ok((message.content ?? '').length > 0);
    assert.doesNotMatch(message.content ?? '', /thinking out loud/);
    const stream = await client.chat.completions.create({ model: 'demo-agent', messages: [{ role: 'user', content: 'hello' }], stream: true });
    let reasoning = '';
    let text = '';
    for await (const chunk of stream) {
      const delta = chunk.choices[0]?.delta as { content?: string | null; reasoning_content?: string } | undefined;
      reasoning += delta?.reasoning_content ?? '';
      text += delta?.content ?? '';
    }
    assert.equal(reasoning, message.reasoning_content);
    assert.equal(text, message.content);
  });

  test('a vision answer says how many images arrived', async () => {
    const png = 'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==';
    const answer = await client.chat.completions.create({
      model: 'demo-agent',
      messages: [
        {
          role: 'user',
          content: [
            { type: 'text', text: 'What are these?' },
            { type: 'image_url', image_url: { url: `data:image/png;base64,${png}` } },
            { type: 'image_url', image_url: { url: 'https://example.com/cat.png' } },
          ],
        },
      ],
    });
    assert.match(answer.choices[0]?.message.content ?? '', /^Demo vision: I received 2 images/);
  });
});
