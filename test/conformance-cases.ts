/**
 * The shared conformance cases: one list, run for every protocol (OpenAI-compatible, Anthropic,
 * Gemini, Ollama) and for catalog presets, each against the emulator of its protocol over real
 * sockets. A case is written once as a protocol-neutral scenario; a target turns it into its
 * emulator's plan. A case a protocol cannot do is skipped with its reason. The seeds' providers
 * (Lockchat, Mishalsgpt) run them too; conformance.test.ts keeps only their own cases.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createRuntime, isG4FError, type ChatMessage, type Chunk, type CompletionRequest, type Provider, type Timeouts } from '../src/index.js';
import { createEmulator, type EmulatorProtocol, type Plan } from '../src/emulators/index.js';
import { createNativeEmulator, type NativePlan, type NativeProtocol } from '../src/emulators/native.js';

export const PNG = 'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==';

/** What the emulated upstream does, in words common to every protocol. */
export interface Scenario {
  text?: string;
  chunks?: readonly string[];
  chunkCount?: number;
  reasoning?: readonly string[];
  toolCalls?: ReadonlyArray<{ name: string; arguments: string; cuts?: readonly number[] }>;
  /** An HTTP status answered with the vendor's error body carrying `errorMessage`. */
  status?: number;
  errorMessage?: string;
  /** An HTTP status answered with this body as it is (instead of the vendor's error body). */
  errorBody?: string;
  retryAfter?: number;
  errorEventAfterChunks?: number;
  disconnectAfterChunks?: number;
  malformedAfterChunks?: number;
  stallAfterChunks?: number;
  /** End the body cleanly, without the protocol's last event (native emulators). */
  truncateAfterChunks?: number;
  headerDelayMs?: number;
  firstChunkDelayMs?: number;
  chunkDelayMs?: number;
  splitAt?: readonly number[];
}

/** A running emulator as the cases see it. */
export interface TargetEmulator {
  readonly url: string;
  readonly requests: ReadonlyArray<{ body: unknown; aborted: boolean; outcome: string }>;
  play(scenario: Scenario): void;
  reset(): void;
  waitForAbort(index: number, timeoutMs: number): Promise<{ aborted: boolean }>;
  waitForEnd(index: number, timeoutMs: number): Promise<unknown>;
  close(): Promise<void>;
}

export interface ConformanceTarget {
  /** The suite's title, e.g. `anthropic` or `preset Groq`. */
  title: string;
  provider: Provider;
  model: string;
  /** The key variable and the secret it holds (sent upstream, never shown in an error); none for a provider that sends no secret. */
  keyEnv?: string;
  secret?: string;
  /** Appended to the emulator's URL to make the base URL (`/v1` for OpenAI's). */
  baseSuffix: string;
  start(secret: string | undefined): Promise<TargetEmulator>;
  /** Cases this protocol cannot do, by title, with the reason. */
  skip?: Readonly<Record<string, string>>;
}

/** The emulator of OpenAI's protocol, or of Lockchat's (OpenAI's stream behind a token in the query). */
export const openAIStyleEmulator = (protocol: EmulatorProtocol) => async (): Promise<TargetEmulator> => {
  const emulator = await createEmulator({ protocol });
  return {
    url: emulator.url,
    get requests() {
      return emulator.requests;
    },
    play: (scenario) => emulator.enqueue(openAIPlan(scenario)),
    reset: () => emulator.reset(),
    waitForAbort: (index, timeoutMs) => emulator.waitForAbort(index, timeoutMs),
    waitForEnd: (index, timeoutMs) => emulator.waitForEnd(index, timeoutMs),
    close: () => emulator.close(),
  };
};

export const openAIEmulator = openAIStyleEmulator('openai');

export const nativeEmulator =
  (protocol: NativeProtocol) =>
  async (secret: string | undefined): Promise<TargetEmulator> => {
    const emulator = await createNativeEmulator({ protocol, ...(secret === undefined ? {} : { apiKey: secret }) });
    return {
      url: emulator.url,
      get requests() {
        return emulator.requests;
      },
      play: (scenario) => emulator.enqueue(nativePlan(scenario)),
      reset: () => emulator.reset(),
      waitForAbort: (index, timeoutMs) => emulator.waitForAbort(index, timeoutMs),
      waitForEnd: (index, timeoutMs) => emulator.waitForEnd(index, timeoutMs),
      close: () => emulator.close(),
    };
  };

function openAIPlan(scenario: Scenario): Plan {
  const { reasoning, toolCalls, truncateAfterChunks: _truncate, ...rest } = scenario;
  const plan: Plan = { ...rest };
  if (reasoning !== undefined) plan.reasoning = reasoning.join('');
  if (toolCalls !== undefined) {
    plan.toolCalls = toolCalls.map((call) => ({ ...call }));
    plan.toolCallStyle = 'fragments';
    plan.interleaveToolCalls = toolCalls.length > 1;
  }
  return plan;
}

function nativePlan(scenario: Scenario): NativePlan {
  const { toolCalls, ...rest } = scenario;
  return { ...rest, ...(toolCalls === undefined ? {} : { toolCalls: toolCalls.map((call) => ({ ...call })) }) };
}

const fast: Timeouts = { connect: 2_000, firstToken: 5_000, idle: 5_000, total: 10_000 };
const hello: ChatMessage[] = [
  { role: 'system', content: 'Be brief.' },
  { role: 'user', content: 'Hello, world!' },
];
const parallelCalls = [
  { name: 'get_weather', arguments: '{"city":"Paris"}', cuts: [3, 9] },
  { name: 'get_time', arguments: '{"zone":"CET"}', cuts: [5] },
];
const tools = [
  { name: 'get_weather', parameters: { type: 'object', properties: { city: { type: 'string' } } } },
  { name: 'get_time', parameters: { type: 'object', properties: { zone: { type: 'string' } } } },
];

interface Collected {
  text: string;
  textDeltas: string[];
  reasoning: string;
  calls: Array<{ id?: string; name?: string; arguments: string; deltas: number }>;
  finish: string | undefined;
  firstKind: string | undefined;
}

async function collect(iterable: AsyncIterable<Chunk>): Promise<Collected> {
  const collected: Collected = { text: '', textDeltas: [], reasoning: '', calls: [], finish: undefined, firstKind: undefined };
  for await (const chunk of iterable) {
    if (chunk.type === 'text-delta' || chunk.type === 'reasoning-delta' || chunk.type === 'tool-call-delta') collected.firstKind ??= chunk.type;
    if (chunk.type === 'text-delta') {
      collected.text += chunk.text;
      collected.textDeltas.push(chunk.text);
    } else if (chunk.type === 'reasoning-delta') collected.reasoning += chunk.text;
    else if (chunk.type === 'tool-call-delta') {
      const call = (collected.calls[chunk.index] ??= { arguments: '', deltas: 0 });
      if (chunk.id !== undefined) call.id = chunk.id;
      if (chunk.name !== undefined) call.name = chunk.name;
      call.arguments += chunk.argumentsDelta;
      call.deltas += 1;
    } else if (chunk.type === 'finish') collected.finish = chunk.reason;
  }
  return collected;
}

export async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  assert.fail('expected the call to fail');
}

/** The shared cases for one target. */
export function runConformance(target: ConformanceTarget): void {
  const { provider } = target;
  const runtime = createRuntime();
  describe(`shared conformance: ${target.title}`, () => {
    let emulator: TargetEmulator;
    const call = (request: Partial<CompletionRequest> = {}, timeouts: Timeouts = fast): AsyncIterable<Chunk> =>
      provider.createCompletion({ model: target.model, messages: hello, stream: true, ...request }, runtime.context(provider, { timeouts }));
    const check = (title: string, body: () => Promise<void>): void => {
      const reason = target.skip?.[title];
      if (reason !== undefined) test(title, { skip: reason }, () => undefined);
      else test(title, body);
    };

    // A string the upstream puts in its error messages: the secret, shown as `***`, or (no secret) any text, shown as it came.
    const leak = target.secret ?? 'no secret here';
    const shown = target.secret === undefined ? leak : '***';

    before(async () => {
      if (target.keyEnv !== undefined) process.env[target.keyEnv] = target.secret;
      emulator = await target.start(target.secret);
      runtime.configureProvider(provider.name, { baseUrl: emulator.url + target.baseSuffix });
    });
    after(async () => {
      await emulator.close();
      if (target.keyEnv !== undefined) delete process.env[target.keyEnv];
      await runtime.close();
    });

    check('text, streamed as the upstream sends it', async () => {
      emulator.reset();
      emulator.play({ chunks: ['Hello', ', ', 'world'], chunkDelayMs: 100 });
      const deltas: string[] = [];
      let outcomeAtFirstToken: string | undefined;
      let finish: string | undefined;
      for await (const chunk of call()) {
        if (chunk.type === 'text-delta') {
          if (deltas.length === 0) outcomeAtFirstToken = emulator.requests[0]?.outcome;
          deltas.push(chunk.text);
        } else if (chunk.type === 'finish') finish = chunk.reason;
      }
      assert.deepEqual(deltas, ['Hello', ', ', 'world']);
      assert.equal(finish, 'stop');
      // The first token reached the caller while the upstream had not yet sent the last one.
      assert.equal(outcomeAtFirstToken, 'pending');
    });

    check('text, not streamed', async () => {
      emulator.reset();
      emulator.play({ chunks: ['The ', 'meaning ', 'of ', 'life'] });
      const answer = await collect(call({ stream: false }));
      assert.equal(answer.text, 'The meaning of life');
      assert.equal(answer.finish, 'stop');
    });

    check('bytes split anywhere, inside multi-byte characters too', async () => {
      emulator.reset();
      const text = 'Привет, мир! 你好 🌍 — ünïcödé';
      emulator.play({ text, chunkCount: 4, splitAt: Array.from({ length: 80 }, (_, index) => index * 7 + 3) });
      assert.equal((await collect(call())).text, text);
    });

    const assertParallelCalls = (answer: Collected): void => {
      assert.deepEqual(
        answer.calls.map((item) => [item.name, item.arguments]),
        parallelCalls.map((item) => [item.name, item.arguments]),
      );
      const ids = answer.calls.map((item) => item.id);
      assert.ok(
        ids.every((id) => typeof id === 'string' && id !== ''),
        `ids: ${ids.join(', ')}`,
      );
      assert.equal(new Set(ids).size, ids.length, 'distinct ids');
      assert.equal(answer.finish, 'tool_calls');
    };

    check('parallel tool calls, streamed', async () => {
      emulator.reset();
      emulator.play({ toolCalls: parallelCalls });
      assertParallelCalls(await collect(call({ tools })));
    });

    check('tool call arguments streamed in fragments', async () => {
      emulator.reset();
      emulator.play({ toolCalls: parallelCalls });
      const answer = await collect(call({ tools }));
      assertParallelCalls(answer);
      assert.ok(
        answer.calls.every((item) => item.deltas > 1),
        'each call came in several deltas',
      );
    });

    check('tool calls in a whole answer', async () => {
      emulator.reset();
      emulator.play({ toolCalls: parallelCalls });
      assertParallelCalls(await collect(call({ tools, stream: false })));
    });

    check('tool call arguments that are not valid JSON are passed on as text', async () => {
      emulator.reset();
      emulator.play({ toolCalls: [{ name: 'get_weather', arguments: '{"city": "Par', cuts: [4] }] });
      const answer = await collect(call({ tools }));
      assert.deepEqual(
        answer.calls.map((item) => [item.name, item.arguments]),
        [['get_weather', '{"city": "Par']],
      );
    });

    check('an image reaches the upstream', async () => {
      emulator.reset();
      const messages: ChatMessage[] = [
        {
          role: 'user',
          content: [
            { type: 'text', text: 'What is this?' },
            { type: 'image', url: `data:image/png;base64,${PNG}` },
          ],
        },
      ];
      const answer = await collect(call({ messages }));
      assert.ok(answer.text.length > 0);
      assert.ok(JSON.stringify(emulator.requests[0]?.body).includes(PNG), 'the image bytes are in the request');
    });

    for (const stream of [true, false]) {
      check(`reasoning, ${stream ? 'streamed' : 'not streamed'}`, async () => {
        emulator.reset();
        emulator.play({ reasoning: ['Let me ', 'think.'], text: 'Done.' });
        const answer = await collect(call({ stream, reasoningEffort: 'high' }));
        assert.equal(answer.reasoning, 'Let me think.');
        assert.equal(answer.text, 'Done.');
        assert.equal(answer.firstKind, 'reasoning-delta');
      });
    }

    check("an HTTP error carries its status and the vendor's message, the key redacted, and is not retried by the provider", async () => {
      for (const [status, name] of [
        [500, 'ProviderHttpError'],
        [503, 'ProviderHttpError'],
        [401, 'AuthError'],
      ] as const) {
        emulator.reset();
        emulator.play({ status, errorMessage: `upstream exploded near ${leak}` });
        const error = await rejection(collect(call()));
        assert.ok(isG4FError(error, name), `${status}: ${String(error)}`);
        assert.equal(error.status, status);
        assert.equal(error.provider, provider.name);
        assert.ok(error.message.includes(`upstream exploded near ${shown}`), error.message);
        if (target.secret !== undefined) assert.ok(!JSON.stringify({ ...error, message: error.message }).includes(target.secret));
        assert.equal(emulator.requests.length, 1);
      }
    });

    check('HTTP 429 is a RateLimitError with the wait asked for', async () => {
      emulator.reset();
      emulator.play({ status: 429, retryAfter: 2, errorMessage: 'slow down' });
      const error = await rejection(collect(call()));
      assert.ok(isG4FError(error, 'RateLimitError'), String(error));
      assert.equal(error.retryAfterMs, 2000);
      assert.equal(error.status, 429);
    });

    check('a huge error body is cut short in the error', async () => {
      emulator.reset();
      emulator.play({ status: 500, errorBody: 'x'.repeat(100_000) });
      const error = await rejection(collect(call()));
      assert.ok(isG4FError(error, 'ProviderHttpError'), String(error));
      assert.ok(error.body.length <= 501, `body of ${error.body.length} characters`);
    });

    check("an error event inside the stream is a typed error with the vendor's message", async () => {
      emulator.reset();
      emulator.play({ chunkCount: 3, errorEventAfterChunks: 1, errorMessage: `engine overloaded ${leak}` });
      const error = await rejection(collect(call()));
      assert.ok(isG4FError(error), String(error));
      assert.ok(error.message.includes(`engine overloaded ${shown}`), error.message);
    });

    check('a stream cut mid-answer is a ConnectionError', async () => {
      emulator.reset();
      emulator.play({ chunkCount: 4, disconnectAfterChunks: 2 });
      const error = await rejection(collect(call()));
      assert.ok(isG4FError(error, 'ConnectionError'), String(error));
    });

    check('a malformed event or line is a StreamParseError', async () => {
      emulator.reset();
      emulator.play({ chunkCount: 3, malformedAfterChunks: 1 });
      const error = await rejection(collect(call()));
      assert.ok(isG4FError(error, 'StreamParseError'), String(error));
    });

    check('a stream that ends without its last event is incomplete: StreamParseError', async () => {
      emulator.reset();
      emulator.play({ chunkCount: 3, truncateAfterChunks: 2 });
      const error = await rejection(collect(call()));
      assert.ok(isG4FError(error, 'StreamParseError'), String(error));
    });

    check('slow headers end by the first-token timer', async () => {
      emulator.reset();
      emulator.play({ headerDelayMs: 5_000 });
      const error = await rejection(collect(call({}, { ...fast, firstToken: 300 })));
      assert.ok(isG4FError(error, 'TimeoutError'), String(error));
      assert.equal(error.phase, 'first-token');
      await emulator.waitForEnd(0, 10_000);
    });

    check('a slow first token ends by the first-token timer', async () => {
      emulator.reset();
      emulator.play({ firstChunkDelayMs: 5_000 });
      const error = await rejection(collect(call({}, { ...fast, firstToken: 300 })));
      assert.ok(isG4FError(error, 'TimeoutError'), String(error));
      assert.equal(error.phase, 'first-token');
      await emulator.waitForEnd(0, 10_000);
    });

    check('a stalled stream ends by the idle timer', async () => {
      emulator.reset();
      emulator.play({ chunkCount: 3, stallAfterChunks: 1 });
      const error = await rejection(collect(call({}, { ...fast, idle: 300 })));
      assert.ok(isG4FError(error, 'TimeoutError'), String(error));
      assert.equal(error.phase, 'idle');
      await emulator.waitForEnd(0, 10_000);
    });

    check('a connection refused is a retryable ConnectionError', async () => {
      const closed = await target.start(target.secret);
      const { url } = closed;
      await closed.close();
      runtime.configureProvider(provider.name, { baseUrl: url + target.baseSuffix });
      try {
        const error = await rejection(collect(call()));
        assert.ok(isG4FError(error, 'ConnectionError'), String(error));
        assert.equal(error.retryable, true);
      } finally {
        runtime.configureProvider(provider.name, { baseUrl: emulator.url + target.baseSuffix });
      }
    });

    check('an abort mid-stream aborts the upstream request', async () => {
      emulator.reset();
      emulator.play({ chunkCount: 10, chunkDelayMs: 200 });
      const controller = new AbortController();
      const aborted = emulator.waitForAbort(0, 10_000);
      const error = await rejection(
        (async () => {
          for await (const chunk of call({ signal: controller.signal })) if (chunk.type === 'text-delta') controller.abort();
        })(),
      );
      assert.ok(isG4FError(error, 'AbortError'), String(error));
      assert.equal((await aborted).aborted, true);
    });

    check('leaving the loop early closes the upstream request', async () => {
      emulator.reset();
      emulator.play({ chunkCount: 10, chunkDelayMs: 200 });
      const aborted = emulator.waitForAbort(0, 10_000);
      for await (const chunk of call()) if (chunk.type === 'text-delta') break;
      assert.equal((await aborted).aborted, true);
    });
  });
}

/** Why the OpenAI-compatible targets skip the truncated stream. */
export const NO_TRUNCATION =
  'an OpenAI-compatible stream may end without [DONE] (many servers omit it): a clean end is accepted, so there is no incomplete-stream fault';

/** Why Ollama and Gemini skip some cases. */
export const WHOLE_CALLS = 'the protocol sends each tool call whole, never in fragments';
export const OBJECT_ARGUMENTS = 'the protocol sends tool arguments as a JSON object: they cannot be invalid JSON on the wire';

/** Why the seeds' providers skip the tool, image and reasoning cases. */
export const TEXT_ONLY = 'text in, text out, as the seed describes: no tools, images or reasoning';
export const TEXT_ONLY_SKIPS: Readonly<Record<string, string>> = {
  'parallel tool calls, streamed': TEXT_ONLY,
  'tool call arguments streamed in fragments': TEXT_ONLY,
  'tool calls in a whole answer': TEXT_ONLY,
  'tool call arguments that are not valid JSON are passed on as text': TEXT_ONLY,
  'an image reaches the upstream': TEXT_ONLY,
  'reasoning, streamed': TEXT_ONLY,
  'reasoning, not streamed': TEXT_ONLY,
};
