/**
 * Gemini's thought signatures: a part's `thoughtSignature` (the first function call's, else the
 * answer's last part's) is kept as the reasoning's signature, tagged as Gemini's, and sent back on
 * that part on the next turn; a turn signed elsewhere (Anthropic) is not sent to Gemini, and
 * Gemini's is not sent to Anthropic.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createRouterFromConfig, parseConfig, type ChatMessage, type Router } from '../src/index.js';
import { createNativeEmulator, type NativeEmulator } from '../src/emulators/native.js';
import { REPLAYED_CALL_SIGNATURE } from '../src/providers/gemini-wire.js';

const KEY = 'gemini-thinking-key-0011';
let gemini: NativeEmulator;
let anthropic: NativeEmulator;
let router: Router;

before(async () => {
  process.env.GEMINI_THINKING_TEST_KEY = KEY;
  gemini = await createNativeEmulator({ protocol: 'gemini', apiKey: KEY });
  anthropic = await createNativeEmulator({ protocol: 'anthropic', apiKey: KEY });
  router = createRouterFromConfig(
    parseConfig({
      providers: [
        { name: 'gem', type: 'gemini', baseUrl: gemini.url, apiKeyEnv: 'GEMINI_THINKING_TEST_KEY', models: ['gemini-test'] },
        { name: 'claude', type: 'anthropic', baseUrl: anthropic.url, apiKeyEnv: 'GEMINI_THINKING_TEST_KEY', models: ['claude-test'] },
      ],
    }),
  );
});
after(async () => {
  await gemini.close();
  await anthropic.close();
  delete process.env.GEMINI_THINKING_TEST_KEY;
  await router?.runtime.close();
});

const weatherCall = { name: 'get_weather', arguments: '{"city":"Paris"}' };
const timeCall = { name: 'get_time', arguments: '{"zone":"CET"}' };
const question: ChatMessage[] = [{ role: 'user', content: 'Weather and time in Paris?' }];

type Part = Record<string, unknown>;
/** The parts of the model turns of a recorded Gemini request. */
function modelParts(body: unknown): Part[][] {
  const contents = (body as { contents: Array<{ role: string; parts: Part[] }> }).contents;
  return contents.filter((content) => content.role === 'model').map((content) => content.parts);
}

describe('Gemini thought signatures', () => {
  for (const stream of [true, false]) {
    test(`the first call's signature is kept and goes back on that call (${stream ? 'streamed' : 'whole'})`, async () => {
      gemini.reset();
      gemini.enqueue({ reasoning: ['Two tools.'], toolCalls: [weatherCall, timeCall], thoughtSignature: 'c2lnLWNhbGw=' }, { text: 'Sunny, noon.' });
      const first = await router.complete({ model: 'gemini-test', messages: question, stream, reasoningEffort: 'low' });
      assert.equal(first.reasoningSignature, 'gemini:c2lnLWNhbGw=');
      const calls = first.toolCalls ?? [];
      assert.equal(calls.length, 2);
      await router.complete({
        model: 'gemini-test',
        stream,
        messages: [
          ...question,
          { role: 'assistant', content: null, reasoning: first.reasoning ?? '', reasoningSignature: first.reasoningSignature ?? '', toolCalls: calls },
          { role: 'tool', toolCallId: calls[0]?.id ?? '', content: '{"sky":"sunny"}' },
          { role: 'tool', toolCallId: calls[1]?.id ?? '', content: '{"time":"12:00"}' },
        ],
      });
      const [turn] = modelParts(gemini.requests[1]?.body);
      assert.deepEqual(turn, [
        { functionCall: { name: 'get_weather', args: { city: 'Paris' } }, thoughtSignature: 'c2lnLWNhbGw=' },
        { functionCall: { name: 'get_time', args: { zone: 'CET' } } },
      ]);
    });
  }

  test('an answer without calls: the last part signature goes back on the last part', async () => {
    gemini.reset();
    gemini.enqueue({ text: 'Hello there.', thoughtSignature: 'c2lnLXRleHQ=' }, { text: 'Again.' });
    const first = await router.complete({ model: 'gemini-test', messages: [{ role: 'user', content: 'Hi' }], stream: true });
    assert.equal(first.text, 'Hello there.');
    assert.equal(first.reasoningSignature, 'gemini:c2lnLXRleHQ=');
    await router.complete({
      model: 'gemini-test',
      stream: false,
      messages: [
        { role: 'user', content: 'Hi' },
        { role: 'assistant', content: first.text, reasoningSignature: first.reasoningSignature ?? '' },
        { role: 'user', content: 'Once more' },
      ],
    });
    assert.deepEqual(modelParts(gemini.requests[1]?.body), [[{ text: 'Hello there.', thoughtSignature: 'c2lnLXRleHQ=' }]]);
  });

  test("another vendor's signature is not sent to Gemini (the documented stand-in is), nor Gemini's to Anthropic", async () => {
    gemini.reset();
    anthropic.reset();
    const call = { id: 'call_0', ...weatherCall };
    const history = (signature: string): ChatMessage[] => [
      ...question,
      { role: 'assistant', content: null, reasoning: 'Use the tool.', reasoningSignature: signature, toolCalls: [call] },
      { role: 'tool', toolCallId: 'call_0', content: '{"sky":"sunny"}' },
    ];
    await router.complete({ model: 'gemini-test', stream: false, messages: history('anthropic-sig') });
    assert.deepEqual(modelParts(gemini.requests[0]?.body), [
      [{ functionCall: { name: 'get_weather', args: { city: 'Paris' } }, thoughtSignature: REPLAYED_CALL_SIGNATURE }],
    ]);
    await router.complete({ model: 'claude-test', stream: false, messages: history('gemini:c2ln') });
    const sent = (anthropic.requests[0]?.body as { messages: Array<{ role: string; content: unknown }> }).messages;
    const assistant = sent.find((message) => message.role === 'assistant');
    assert.ok(Array.isArray(assistant?.content));
    assert.ok(!(assistant.content as Part[]).some((block) => block.type === 'thinking'), 'no thinking block with a foreign signature');
  });

  test('the emulator refuses a model turn whose first call has no signature, as Gemini 3 does', async () => {
    const reply = await fetch(`${gemini.url}/v1beta/models/gemini-test:generateContent`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-goog-api-key': KEY },
      body: JSON.stringify({
        contents: [
          { role: 'user', parts: [{ text: 'Weather?' }] },
          { role: 'model', parts: [{ functionCall: { name: 'get_weather', args: {} } }] },
          { role: 'user', parts: [{ functionResponse: { name: 'get_weather', response: { sky: 'sunny' } } }] },
        ],
      }),
    });
    assert.equal(reply.status, 400);
    const body = (await reply.json()) as { error: { status: string; message: string } };
    assert.equal(body.error.status, 'INVALID_ARGUMENT');
    assert.match(body.error.message, /get_weather.*missing a `thought_signature`/);
  });

  test('thoughtsTokenCount counts in the completion tokens', async () => {
    gemini.reset();
    gemini.enqueue({ reasoning: ['one two three'], text: 'four five', usage: { input: 4, output: 5 } });
    const answer = await router.complete({ model: 'gemini-test', messages: question, stream: true, reasoningEffort: 'low' });
    assert.deepEqual(answer.usage, { promptTokens: 4, completionTokens: 5, totalTokens: 9 });
  });
});
