/** The seeds' four examples, in TypeScript, against the emulators. */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { ChatCompletion, Lockchat, Mishalsgpt, createCompletion, createRuntime } from '../src/index.js';
import { createEmulator, type Emulator } from '../src/emulators/index.js';

let lockchat: Emulator;
let mishalsgpt: Emulator;
/** The test's own settings and connections (the examples' calls name it; the library default is left alone). */
const runtime = createRuntime();

before(async () => {
  lockchat = await createEmulator({ protocol: 'lockchat' });
  mishalsgpt = await createEmulator({ protocol: 'openai' });
  // Base URLs from the environment, read when the provider is used.
  process.env.G4F_LOCKCHAT_URL = lockchat.url;
  process.env.G4F_MISHALSGPT_URL = mishalsgpt.url;
});

after(async () => {
  delete process.env.G4F_LOCKCHAT_URL;
  delete process.env.G4F_MISHALSGPT_URL;
  await Promise.all([lockchat.close(), mishalsgpt.close()]);
  await runtime.close();
});

test('Lockchat example 1: gpt-4 with streaming', async () => {
  const messages = [{ role: 'user' as const, content: 'Hello, world!' }];
  const tokens: string[] = [];
  for await (const token of createCompletion(Lockchat, { model: 'gpt-4', messages, stream: true, runtime })) tokens.push(token);
  assert.ok(tokens.length > 1, 'several tokens');
  assert.equal(tokens.join(''), 'Echo: Hello, world!');
  assert.equal(lockchat.requests.at(-1)?.path, '/v1/chat/completions');
});

test('Lockchat example 2: gpt-3.5-turbo without streaming', async () => {
  const messages = [{ role: 'user' as const, content: 'What is the meaning of life?' }];
  const completion = await ChatCompletion.create({ model: 'gpt-3.5-turbo', messages, provider: Lockchat, stream: false, runtime });
  assert.equal(completion, 'Echo: What is the meaning of life?');
  // Lockchat always streams upstream; the temperature is the default 0.7.
  assert.deepEqual(lockchat.requests.at(-1)?.body, { temperature: 0.7, messages, model: 'gpt-3.5-turbo', stream: true });
});

for (const example of [1, 2]) {
  test(`Mishalsgpt example ${example}: gpt-3.5-turbo, streaming code generation`, async () => {
    const messages = [{ role: 'user' as const, content: 'Write a Python function to calculate the factorial of a number.' }];
    const tokens: string[] = [];
    for await (const token of createCompletion(Mishalsgpt, { model: 'gpt-3.5-turbo', messages, stream: true, runtime })) tokens.push(token);
    assert.ok(tokens.length > 1, 'really streamed');
    assert.equal(tokens.join(''), `Echo: ${messages[0]!.content}`);
    assert.equal(mishalsgpt.requests.at(-1)?.path, '/api/openai/v1/chat/completions');
  });
}

test('ChatCompletion picks the provider by model: gpt-4 -> Lockchat, gpt-3.5-turbo -> Mishalsgpt', async () => {
  const messages = [{ role: 'user' as const, content: 'hi' }];
  const before = { lockchat: lockchat.requests.length, mishalsgpt: mishalsgpt.requests.length };
  assert.equal(await ChatCompletion.create({ model: 'gpt-4', messages, runtime }), 'Echo: hi');
  assert.equal(lockchat.requests.length, before.lockchat + 1);
  let streamed = '';
  for await (const token of ChatCompletion.create({ model: 'gpt-3.5-turbo-16k-0613', messages, stream: true, runtime })) streamed += token;
  assert.equal(streamed, 'Echo: hi');
  assert.equal(mishalsgpt.requests.length, before.mishalsgpt + 1);
});
