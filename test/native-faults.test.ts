/**
 * The vendors' own fault answers, as their docs give them, each the matching typed error:
 * Anthropic's 529 `overloaded_error` (status and `error` event) retryable, Gemini's 429
 * `RESOURCE_EXHAUSTED` with RetryInfo's `retryDelay` as the wait, Ollama's `{"error": "model not
 * found"}` (status and line) a ModelNotFoundError; the vendor's message kept, the key redacted.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createRuntime, createAnthropicProvider, createGeminiProvider, createOllamaProvider, isG4FError, type Chunk, type Provider } from '../src/index.js';
import { createNativeEmulator, type NativeEmulator, type NativePlan, type NativeProtocol } from '../src/emulators/native.js';

const KEY = 'vendor-fault-key-0010';

/** The file's own settings and connections: each provider's base URL points at its emulator. */
const runtime = createRuntime();

async function failure(provider: Provider, model: string, stream: boolean): Promise<unknown> {
  try {
    const chunks: Chunk[] = [];
    for await (const chunk of provider.createCompletion({ model, messages: [{ role: 'user', content: 'Hi' }], stream }, runtime.context(provider)))
      chunks.push(chunk);
  } catch (error) {
    return error;
  }
  assert.fail('expected the call to fail');
}

function suite(protocol: NativeProtocol, provider: Provider, cases: (emulator: () => NativeEmulator) => void): void {
  describe(`vendor faults: ${protocol}`, () => {
    let emulator: NativeEmulator;
    before(async () => {
      process.env.VENDOR_FAULT_KEY = KEY;
      emulator = await createNativeEmulator({ protocol, apiKey: KEY });
      runtime.configure({});
      runtime.configureProvider(provider.name, { baseUrl: emulator.url });
    });
    after(async () => {
      await emulator.close();
      delete process.env.VENDOR_FAULT_KEY;
      runtime.configure({});
      await runtime.close();
    });
    cases(() => emulator);
  });
}

const spec = (name: string, models: string[]) => ({ name, url: 'http://unused.invalid', models, apiKeyEnv: 'VENDOR_FAULT_KEY' });

suite('anthropic', createAnthropicProvider(spec('FaultAnthropic', ['claude-test'])), (emulator) => {
  test('HTTP 529 overloaded_error: a retryable ProviderHttpError with the vendor message, the key redacted', async () => {
    emulator().enqueue({ status: 529, errorType: 'overloaded_error', errorMessage: `Overloaded (key ${KEY})` });
    const error = await failure(createAnthropicProvider(spec('FaultAnthropic', ['claude-test'])), 'claude-test', true);
    assert.ok(isG4FError(error, 'ProviderHttpError'), String(error));
    assert.equal(error.status, 529);
    assert.equal(error.retryable, true);
    assert.match(error.message, /Overloaded \(key \*\*\*\)/);
    assert.ok(!JSON.stringify(error).includes(KEY));
  });

  test('an overloaded_error event inside the stream: retryable, the vendor message kept', async () => {
    emulator().enqueue({ chunkCount: 3, errorEventAfterChunks: 1, errorType: 'overloaded_error', errorMessage: 'Overloaded' });
    const error = await failure(createAnthropicProvider(spec('FaultAnthropic', ['claude-test'])), 'claude-test', true);
    assert.ok(isG4FError(error), String(error));
    assert.equal(error.retryable, true);
    assert.match(error.message, /overloaded_error: Overloaded/);
  });
  for (const stream of [true, false]) {
    test(`stop_reason stop_sequence: the finish part names the sequence (${stream ? 'streamed' : 'whole'})`, async () => {
      emulator().enqueue({ chunks: ['one', ' two'], finishReason: 'stop_sequence', stopSequence: 'END' });
      const provider = createAnthropicProvider(spec('FaultAnthropic', ['claude-test']));
      const chunks: Chunk[] = [];
      for await (const chunk of provider.createCompletion(
        { model: 'claude-test', messages: [{ role: 'user', content: 'Hi' }], stream },
        runtime.context(provider),
      ))
        chunks.push(chunk);
      assert.deepEqual(
        chunks.filter((chunk) => chunk.type === 'finish'),
        [{ type: 'finish', reason: 'stop', stopSequence: 'END' }],
      );
    });
  }
});

suite('gemini', createGeminiProvider(spec('FaultGemini', ['gemini-test'])), (emulator) => {
  for (const stream of [true, false]) {
    test(`HTTP 429 RESOURCE_EXHAUSTED: a RateLimitError waiting retryDelay (${stream ? 'streamed' : 'whole'})`, async () => {
      const plan: NativePlan = {
        status: 429,
        errorType: 'RESOURCE_EXHAUSTED',
        errorMessage: 'Quota exceeded for metric: generate_content_free_tier_requests',
        retryDelay: '37s',
      };
      emulator().enqueue(plan);
      const error = await failure(createGeminiProvider(spec('FaultGemini', ['gemini-test'])), 'gemini-test', stream);
      assert.ok(isG4FError(error, 'RateLimitError'), String(error));
      assert.equal(error.retryAfterMs, 37_000);
      assert.match(error.body, /Quota exceeded/);
    });
  }
});

suite('ollama', createOllamaProvider(spec('FaultOllama', ['llama3.2'])), (emulator) => {
  for (const [title, plan] of [
    ['status 404', { status: 404, errorBody: '{"error":"model not found"}' }],
    ['an error line in the stream', { chunkCount: 2, errorEventAfterChunks: 0, errorMessage: 'model not found' }],
  ] as Array<[string, NativePlan]>) {
    test(`{"error": "model not found"} (${title}) is a ModelNotFoundError`, async () => {
      emulator().enqueue(plan);
      const error = await failure(createOllamaProvider(spec('FaultOllama', ['llama3.2'])), 'llama3.2', true);
      assert.ok(isG4FError(error, 'ModelNotFoundError'), String(error));
      assert.match(error.message, /model not found/);
    });
  }

  test('another error line keeps the vendor message', async () => {
    emulator().enqueue({ chunkCount: 2, errorEventAfterChunks: 1, errorMessage: 'an error was encountered while running the model: CUDA out of memory' });
    const error = await failure(createOllamaProvider(spec('FaultOllama', ['llama3.2'])), 'llama3.2', true);
    assert.ok(isG4FError(error, 'ProviderHttpError'), String(error));
    assert.match(error.message, /CUDA out of memory/);
  });
});
