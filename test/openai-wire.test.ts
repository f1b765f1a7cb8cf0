/** The OpenAI wire helpers: the fast path for plain content deltas agrees with a full parse. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { plainDeltaText } from '../src/providers/openai-wire.js';

const event = (delta: unknown, extra: Record<string, unknown> = {}): string =>
  JSON.stringify({
    id: 'chatcmpl-1',
    object: 'chat.completion.chunk',
    created: 1,
    model: 'gpt-4',
    choices: [{ index: 0, delta, logprobs: null, finish_reason: null }],
    ...extra,
  });

test('plain deltas are read without a full parse, escapes included', () => {
  const texts = ['hello ', '', 'line\nbreak', 'quote " and \\ backslash', 'é 你好 🌍', '"},"finish_reason":"stop"}]}', '\u0000\u001f', '</script>'];
  for (const text of texts) {
    assert.equal(plainDeltaText(event({ content: text })), text, JSON.stringify(text));
    assert.equal(plainDeltaText(event({ content: text }, { usage: null })), text);
  }
  // Without logprobs (many servers leave it out).
  assert.equal(plainDeltaText('{"choices":[{"index":0,"delta":{"content":"x"},"finish_reason":null}]}'), 'x');
});

test('every other event takes the full parse', () => {
  const others = [
    event({ role: 'assistant', content: '' }),
    JSON.stringify({ choices: [{ index: 0, delta: {}, finish_reason: 'stop' }] }),
    JSON.stringify({ choices: [{ index: 0, delta: { content: 'x' }, finish_reason: 'stop' }] }),
    JSON.stringify({ choices: [], usage: { prompt_tokens: 1, completion_tokens: 2, total_tokens: 3 } }),
    event({ content: 'x' }, { usage: { prompt_tokens: 1, completion_tokens: 1, total_tokens: 2 } }),
    event({ content: 'x' }, { system_fingerprint: 'fp' }),
    JSON.stringify({ error: { message: 'The model: `gpt-4` does not exist' } }),
    JSON.stringify({ error: 'x', choices: [{ index: 0, delta: { content: 'x' }, finish_reason: null }] }),
    JSON.stringify({ choices: [{ index: 1, delta: { content: 'x' }, finish_reason: null }] }),
    '{"choices":[{"index":0,"delta":{"content":"x"},"finish_reason":null}]',
    // A second field after the content: more than one string between the fixed head and tail.
    JSON.stringify({ choices: [{ index: 0, delta: { content: 'a', x: 'b' }, logprobs: null, finish_reason: null }] }),
    JSON.stringify({ choices: [{ index: 0, delta: { content: 'a\\', x: 'b"' }, logprobs: null, finish_reason: null }] }),
    '{"choices":[{"index":0,"delta":{"content":"a"b"},"finish_reason":null}]}',
  ];
  for (const data of others) assert.equal(plainDeltaText(data), undefined, data);
});

test('random texts agree with JSON.parse', () => {
  let seed = 7;
  const random = (): number => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;
  const alphabet = ['a', ' ', '"', '\\', '\n', '\t', 'é', '😀', '}', ']', ',', ':', '\u2028', 'u'];
  for (let index = 0; index < 2000; index++) {
    let text = '';
    const length = Math.floor(random() * 12);
    for (let char = 0; char < length; char++) text += alphabet[Math.floor(random() * alphabet.length)];
    const data = event({ content: text });
    const parsed = JSON.parse(data) as { choices: Array<{ delta: { content: string } }> };
    assert.equal(plainDeltaText(data), parsed.choices[0]?.delta.content);
  }
});
