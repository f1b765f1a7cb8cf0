/**
 * Anthropic's thinking signatures: kept from `signature_delta` (streamed) and the thinking block's
 * `signature` (whole), carried as the reasoning's signature, and sent back as the thinking block
 * on the next turn, through the library and through the Messages door with the official
 * `@anthropic-ai/sdk` client.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import Anthropic from '@anthropic-ai/sdk';
import { createRouterFromConfig, parseConfig, type ChatMessage, type Router } from '../src/index.js';
import { createNativeEmulator, type NativeEmulator } from '../src/emulators/native.js';
import { startServer, type RunningServer } from '../src/server/index.js';

const KEY = 'sk-ant-thinking-0009';
let emulator: NativeEmulator;
let router: Router;
const config = () =>
  parseConfig({ providers: [{ name: 'claude', type: 'anthropic', baseUrl: emulator.url, apiKeyEnv: 'THINKING_TEST_KEY', models: ['claude-test'] }] });

before(async () => {
  process.env.THINKING_TEST_KEY = KEY;
  emulator = await createNativeEmulator({ protocol: 'anthropic', apiKey: KEY });
  router = createRouterFromConfig(config());
});
after(async () => {
  await emulator.close();
  delete process.env.THINKING_TEST_KEY;
  await router?.runtime.close();
});

const weatherCall = { name: 'get_weather', arguments: '{"city":"Paris"}' };
const question: ChatMessage[] = [{ role: 'user', content: 'Weather in Paris?' }];

describe('Anthropic thinking signatures', () => {
  test('streamed: signature_delta is kept as the reasoning signature', async () => {
    emulator.reset();
    emulator.enqueue({ reasoning: ['I should ', 'call the tool.'], toolCalls: [weatherCall] });
    const signatures: string[] = [];
    let reasoning = '';
    for await (const chunk of router.stream({ model: 'claude-test', messages: question, stream: true, reasoningEffort: 'low' })) {
      if (chunk.type !== 'reasoning-delta') continue;
      reasoning += chunk.text;
      if (chunk.signature !== undefined) signatures.push(chunk.signature);
    }
    assert.equal(reasoning, 'I should call the tool.');
    assert.deepEqual(signatures, ['sig-emu']);
  });

  test('whole: the thinking block signature is kept; the next turn sends the block back', async () => {
    emulator.reset();
    emulator.enqueue({ reasoning: ['I should call the tool.'], toolCalls: [weatherCall] }, { text: 'Sunny.' });
    const first = await router.complete({ model: 'claude-test', messages: question, stream: false, reasoningEffort: 'low' });
    assert.equal(first.reasoning, 'I should call the tool.');
    assert.equal(first.reasoningSignature, 'sig-emu');
    const call = first.toolCalls?.[0];
    assert.ok(call);
    const second = await router.complete({
      model: 'claude-test',
      stream: false,
      reasoningEffort: 'low',
      messages: [
        ...question,
        { role: 'assistant', content: null, reasoning: first.reasoning ?? '', reasoningSignature: first.reasoningSignature ?? '', toolCalls: [call] },
        { role: 'tool', toolCallId: call.id, content: '{"sky":"clear"}' },
      ],
    });
    assert.equal(second.text, 'Sunny.');
    const sent = (emulator.requests[1]?.body as { messages: Array<{ role: string; content: unknown }> }).messages[1];
    assert.deepEqual(sent, {
      role: 'assistant',
      content: [
        { type: 'thinking', thinking: 'I should call the tool.', signature: 'sig-emu' },
        { type: 'tool_use', id: call.id, name: 'get_weather', input: { city: 'Paris' } },
      ],
    });
  });

  test('reasoning without a signature is not sent back (Anthropic would refuse it)', async () => {
    emulator.reset();
    await router.complete({
      model: 'claude-test',
      stream: false,
      messages: [...question, { role: 'assistant', content: 'It is sunny.', reasoning: 'unsigned' }, { role: 'user', content: 'Thanks' }],
    });
    const sent = (emulator.requests[0]?.body as { messages: unknown[] }).messages[1];
    assert.deepEqual(sent, { role: 'assistant', content: 'It is sunny.' });
  });
});

describe('Anthropic thinking signatures through the Messages door', () => {
  let server: RunningServer;
  before(async () => {
    server = await startServer({ port: 0, quiet: true, web: false, config: config() });
  });
  after(async () => server.close());

  test('the signature reaches the client, streamed and whole, and the block it sends back reaches the upstream', async () => {
    const client = new Anthropic({ baseURL: server.url, apiKey: 'unused', maxRetries: 0 });
    const tools = [{ name: 'get_weather', input_schema: { type: 'object' as const, properties: { city: { type: 'string' } } } }];
    emulator.reset();
    emulator.enqueue({ reasoning: ['Thinking.'], toolCalls: [weatherCall] });
    const streamed = await client.messages
      .stream({
        model: 'claude-test',
        max_tokens: 2048,
        thinking: { type: 'enabled', budget_tokens: 1024 },
        tools,
        messages: [{ role: 'user', content: 'Weather in Paris?' }],
      })
      .finalMessage();
    const thinking = streamed.content.find((block) => block.type === 'thinking');
    assert.ok(thinking && thinking.type === 'thinking');
    assert.equal(thinking.signature, 'sig-emu');
    emulator.enqueue({ reasoning: ['Thinking.'], toolCalls: [weatherCall] });
    const whole = await client.messages.create({
      model: 'claude-test',
      max_tokens: 2048,
      thinking: { type: 'enabled', budget_tokens: 1024 },
      tools,
      messages: [{ role: 'user', content: 'Weather in Paris?' }],
    });
    const wholeThinking = whole.content.find((block) => block.type === 'thinking');
    assert.ok(wholeThinking && wholeThinking.type === 'thinking');
    assert.equal(wholeThinking.signature, 'sig-emu');
    const toolUse = whole.content.find((block) => block.type === 'tool_use');
    assert.ok(toolUse && toolUse.type === 'tool_use');
    emulator.enqueue({ text: 'Sunny.' });
    await client.messages.create({
      model: 'claude-test',
      max_tokens: 2048,
      thinking: { type: 'enabled', budget_tokens: 1024 },
      tools,
      messages: [
        { role: 'user', content: 'Weather in Paris?' },
        { role: 'assistant', content: whole.content },
        { role: 'user', content: [{ type: 'tool_result', tool_use_id: toolUse.id, content: '{"sky":"clear"}' }] },
      ],
    });
    const sent = (emulator.requests.at(-1)?.body as { messages: Array<{ content: unknown[] }> }).messages[1];
    assert.deepEqual(sent?.content[0], { type: 'thinking', thinking: 'Thinking.', signature: 'sig-emu' });
  });
});
