/**
 * The native providers (Anthropic Messages, Ollama /api/chat, Gemini generateContent), each
 * configured by a config file and called through the router over real sockets against the
 * emulator of its protocol: the request on the wire in the vendor's shape, text streamed and
 * not, parallel tool calls in streamed fragments, images, reasoning, stop reasons, usage, every
 * fault's typed error, and cancellation.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import {
  createRouterFromConfig,
  isG4FError,
  parseConfig,
  type ChatMessage,
  type Chunk,
  type G4FError,
  type RouteRequest,
  type Router,
  type ToolDefinition,
} from '../src/index.js';
import { createNativeEmulator, type NativeEmulator, type NativePlan, type NativeProtocol } from '../src/emulators/native.js';
import { createLineDecoder } from '../src/providers/ndjson.js';

const PNG = 'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==';
const KEY = 'native-secret-0042';
const ANSWER_SCHEMA = { type: 'object', properties: { answer: { type: 'string' } }, required: ['answer'] };

const weather: ToolDefinition = {
  name: 'get_weather',
  description: 'The weather in a city',
  parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
};

const toolConversation: ChatMessage[] = [
  { role: 'user', content: [{ type: 'text', text: 'Weather and time in Paris?' }] },
  {
    role: 'assistant',
    content: 'Let me check.',
    toolCalls: [
      { id: 'c1', name: 'get_weather', arguments: '{"city":"Paris"}' },
      { id: 'c2', name: 'get_time', arguments: '{"zone":"CET"}' },
    ],
  },
  { role: 'tool', toolCallId: 'c1', content: '{"sky":"clear"}' },
  { role: 'tool', toolCallId: 'c2', content: '14:00' },
  { role: 'user', content: 'Thanks, and tomorrow?' },
];

type Body = Record<string, unknown>;

interface ProtocolCase {
  protocol: NativeProtocol;
  model: string;
  path(stream: boolean): string;
  query(stream: boolean): Record<string, string>;
  /** Headers the request must carry. */
  headers: Record<string, string>;
  /** The body of: system "Be brief.", user "Hello!", temperature 0.3, maxTokens 50, stop ["END"]. */
  simpleBody(stream: boolean): Body;
  /** The wire form of the user message [text "What is this?", image PNG]. */
  imageMessage(body: Body): unknown;
  expectedImageMessage: unknown;
  /** An https image: sent as a URL source, or refused without asking the upstream. */
  /** How an https image reaches the upstream (`part`: where in the body), or refused before any request. */
  httpsImage: { url: unknown; part?: (body: Body) => unknown } | 'refused';
  /** Where the conversation is in the body, and its wire form. */
  conversation(body: Body): unknown;
  expectedConversation: unknown;
  /** The tools and tool choice fields for `[weather]` with toolChoice `auto`. */
  tools(body: Body): unknown;
  expectedTools: unknown;
  /** The field reasoningEffort "high" sets. */
  reasoningField(body: Body): unknown;
  expectedReasoningField: unknown;
  /** providerOptions for this provider, and the body fields they must give. */
  providerOptions: Record<string, unknown>;
  expectedOptions(body: Body): unknown;
  expectedOptionsValue: unknown;
  /** The field a json_schema response format sets. */
  formatField(body: Body): unknown;
  expectedFormatField: unknown;
  /** The protocol's stop words and the finish reason each gives. */
  finishes: Array<[string, string]>;
  /** The answer to a retryable overload, and its status. */
  overload: NativePlan;
  /** Whether calls arrive in fragments (Anthropic) or whole. */
  fragmentedCalls: boolean;
}

const cases: ProtocolCase[] = [
  {
    protocol: 'anthropic',
    model: 'claude-test',
    path: () => '/v1/messages',
    query: () => ({}),
    headers: { 'x-api-key': KEY, 'anthropic-version': '2023-06-01', 'content-type': 'application/json' },
    simpleBody: (stream) => ({
      model: 'claude-test',
      max_tokens: 50,
      system: 'Be brief.',
      messages: [{ role: 'user', content: 'Hello!' }],
      stop_sequences: ['END'],
      temperature: 0.3,
      ...(stream ? { stream: true } : {}),
    }),
    imageMessage: (body) => (body.messages as unknown[])[0],
    expectedImageMessage: {
      role: 'user',
      content: [
        { type: 'text', text: 'What is this?' },
        { type: 'image', source: { type: 'base64', media_type: 'image/png', data: PNG } },
      ],
    },
    httpsImage: { url: { type: 'image', source: { type: 'url', url: 'https://example.com/cat.png' } } },
    conversation: (body) => body.messages,
    expectedConversation: [
      { role: 'user', content: [{ type: 'text', text: 'Weather and time in Paris?' }] },
      {
        role: 'assistant',
        content: [
          { type: 'text', text: 'Let me check.' },
          { type: 'tool_use', id: 'c1', name: 'get_weather', input: { city: 'Paris' } },
          { type: 'tool_use', id: 'c2', name: 'get_time', input: { zone: 'CET' } },
        ],
      },
      {
        role: 'user',
        content: [
          { type: 'tool_result', tool_use_id: 'c1', content: '{"sky":"clear"}' },
          { type: 'tool_result', tool_use_id: 'c2', content: '14:00' },
          { type: 'text', text: 'Thanks, and tomorrow?' },
        ],
      },
    ],
    tools: (body) => ({ tools: body.tools, tool_choice: body.tool_choice }),
    expectedTools: {
      tools: [{ name: 'get_weather', description: 'The weather in a city', input_schema: weather.parameters }],
      tool_choice: { type: 'auto' },
    },
    reasoningField: (body) => ({ thinking: body.thinking, max_tokens: body.max_tokens }),
    expectedReasoningField: { thinking: { type: 'enabled', budget_tokens: 16384 }, max_tokens: 16384 + 4096 },
    providerOptions: { top_k: 5, service_tier: 'auto' },
    expectedOptions: (body) => ({ top_k: body.top_k, service_tier: body.service_tier }),
    expectedOptionsValue: { top_k: 5, service_tier: 'auto' },
    formatField: (body) => body.output_config,
    expectedFormatField: { format: { type: 'json_schema', schema: ANSWER_SCHEMA } },
    finishes: [
      ['end_turn', 'stop'],
      ['stop_sequence', 'stop'],
      ['max_tokens', 'length'],
      ['refusal', 'content_filter'],
    ],
    overload: { status: 529 },
    fragmentedCalls: true,
  },
  {
    protocol: 'ollama',
    model: 'llama3.2',
    path: () => '/api/chat',
    query: () => ({}),
    headers: { 'content-type': 'application/json' },
    simpleBody: (stream) => ({
      model: 'llama3.2',
      messages: [
        { role: 'system', content: 'Be brief.' },
        { role: 'user', content: 'Hello!' },
      ],
      stream,
      options: { temperature: 0.3, num_predict: 50, stop: ['END'] },
    }),
    imageMessage: (body) => (body.messages as unknown[])[0],
    expectedImageMessage: { role: 'user', content: 'What is this?', images: [PNG] },
    httpsImage: 'refused',
    conversation: (body) => body.messages,
    expectedConversation: [
      { role: 'user', content: 'Weather and time in Paris?' },
      {
        role: 'assistant',
        content: 'Let me check.',
        tool_calls: [{ function: { name: 'get_weather', arguments: { city: 'Paris' } } }, { function: { name: 'get_time', arguments: { zone: 'CET' } } }],
      },
      { role: 'tool', content: '{"sky":"clear"}', tool_name: 'get_weather' },
      { role: 'tool', content: '14:00', tool_name: 'get_time' },
      { role: 'user', content: 'Thanks, and tomorrow?' },
    ],
    tools: (body) => ({ tools: body.tools }),
    expectedTools: { tools: [{ type: 'function', function: { name: 'get_weather', description: 'The weather in a city', parameters: weather.parameters } }] },
    reasoningField: (body) => body.think,
    expectedReasoningField: 'high',
    providerOptions: { keep_alive: '1m', options: { num_ctx: 8192 } },
    expectedOptions: (body) => ({ keep_alive: body.keep_alive, options: body.options }),
    expectedOptionsValue: { keep_alive: '1m', options: { num_ctx: 8192 } },
    formatField: (body) => body.format,
    expectedFormatField: ANSWER_SCHEMA,
    finishes: [
      ['stop', 'stop'],
      ['length', 'length'],
    ],
    overload: { status: 503, errorMessage: 'server busy, please try again. maximum pending requests exceeded' },
    fragmentedCalls: false,
  },
  {
    protocol: 'gemini',
    model: 'gemini-test',
    path: (stream) => (stream ? '/v1beta/models/gemini-test:streamGenerateContent' : '/v1beta/models/gemini-test:generateContent'),
    query: (stream): Record<string, string> => (stream ? { alt: 'sse' } : {}),
    headers: { 'x-goog-api-key': KEY, 'content-type': 'application/json' },
    simpleBody: () => ({
      contents: [{ role: 'user', parts: [{ text: 'Hello!' }] }],
      systemInstruction: { parts: [{ text: 'Be brief.' }] },
      generationConfig: { temperature: 0.3, maxOutputTokens: 50, stopSequences: ['END'] },
    }),
    imageMessage: (body) => (body.contents as unknown[])[0],
    expectedImageMessage: { role: 'user', parts: [{ text: 'What is this?' }, { inlineData: { mimeType: 'image/png', data: PNG } }] },
    httpsImage: {
      url: { fileData: { fileUri: 'https://example.com/cat.png', mimeType: 'image/png' } },
      part: (body) => (body.contents as Array<{ parts: unknown[] }>)[0]?.parts[0],
    },
    conversation: (body) => body.contents,
    expectedConversation: [
      { role: 'user', parts: [{ text: 'Weather and time in Paris?' }] },
      {
        role: 'model',
        parts: [
          { text: 'Let me check.' },
          { functionCall: { name: 'get_weather', args: { city: 'Paris' } }, thoughtSignature: 'skip_thought_signature_validator' },
          { functionCall: { name: 'get_time', args: { zone: 'CET' } } },
        ],
      },
      {
        role: 'user',
        parts: [
          { functionResponse: { name: 'get_weather', response: { sky: 'clear' } } },
          { functionResponse: { name: 'get_time', response: { content: '14:00' } } },
          { text: 'Thanks, and tomorrow?' },
        ],
      },
    ],
    tools: (body) => ({ tools: body.tools, toolConfig: body.toolConfig }),
    expectedTools: {
      tools: [{ functionDeclarations: [{ name: 'get_weather', description: 'The weather in a city', parametersJsonSchema: weather.parameters }] }],
      toolConfig: { functionCallingConfig: { mode: 'AUTO' } },
    },
    reasoningField: (body) => (body.generationConfig as Body | undefined)?.thinkingConfig,
    expectedReasoningField: { includeThoughts: true, thinkingBudget: 24576 },
    providerOptions: { generationConfig: { topK: 3 }, safetySettings: [{ category: 'HARM_CATEGORY_HARASSMENT', threshold: 'BLOCK_NONE' }] },
    expectedOptions: (body) => ({ generationConfig: body.generationConfig, safetySettings: body.safetySettings }),
    expectedOptionsValue: { generationConfig: { topK: 3 }, safetySettings: [{ category: 'HARM_CATEGORY_HARASSMENT', threshold: 'BLOCK_NONE' }] },
    formatField: (body) => body.generationConfig,
    expectedFormatField: { responseMimeType: 'application/json', responseJsonSchema: ANSWER_SCHEMA },
    finishes: [
      ['STOP', 'stop'],
      ['MAX_TOKENS', 'length'],
      ['SAFETY', 'content_filter'],
      ['RECITATION', 'content_filter'],
      ['PROHIBITED_CONTENT', 'content_filter'],
    ],
    overload: { status: 503 },
    fragmentedCalls: false,
  },
];

interface Collected {
  text: string;
  reasoning: string;
  chunks: Chunk[];
}

async function collect(iterable: AsyncIterable<Chunk>): Promise<Collected> {
  const result: Collected = { text: '', reasoning: '', chunks: [] };
  for await (const chunk of iterable) {
    result.chunks.push(chunk);
    if (chunk.type === 'text-delta') result.text += chunk.text;
    if (chunk.type === 'reasoning-delta') result.reasoning += chunk.text;
  }
  return result;
}

async function rejection(promise: Promise<unknown>): Promise<G4FError> {
  try {
    await promise;
  } catch (error) {
    assert.ok(isG4FError(error), String(error));
    return error;
  }
  assert.fail('expected the call to fail');
}

/** The provider's own error: the last attempt's, when all providers failed. */
function providerError(error: G4FError): G4FError {
  if (isG4FError(error, 'AllProvidersFailedError')) {
    const last = error.attempts.at(-1);
    assert.ok(last, 'an attempt');
    return last.error;
  }
  return error;
}

for (const fixture of cases) {
  describe(`native provider: ${fixture.protocol}`, () => {
    let emulator: NativeEmulator;
    let router: Router;
    const base = (request: Partial<RouteRequest> = {}): RouteRequest => ({
      model: fixture.model,
      messages: [{ role: 'user', content: 'Hello!' }],
      stream: true,
      ...request,
    });
    const stream = (request: Partial<RouteRequest> = {}): Promise<Collected> => collect(router.stream(base(request)));

    before(async () => {
      emulator = await createNativeEmulator({ protocol: fixture.protocol, ...(fixture.protocol === 'ollama' ? {} : { apiKey: KEY }) });
      process.env.G4F_TEST_NATIVE_KEY = KEY;
      const config = parseConfig({
        providers: [
          {
            name: 'native',
            type: fixture.protocol,
            baseUrl: emulator.url,
            models: [fixture.model],
            ...(fixture.protocol === 'ollama' ? {} : { apiKeyEnv: 'G4F_TEST_NATIVE_KEY' }),
            timeouts: { connect: 2_000, firstToken: 5_000, idle: 5_000, total: 10_000 },
          },
        ],
        retry: { attempts: 2, baseDelayMs: 1, maxDelayMs: 5, maxWaitMs: 1_000 },
        circuit: { failureThreshold: 1_000 },
      });
      router = createRouterFromConfig(config);
    });
    after(async () => {
      await emulator.close();
      delete process.env.G4F_TEST_NATIVE_KEY;
      await router.runtime.close();
    });

    test('sends the vendor request (path, query, headers, body), streamed and not', async () => {
      for (const streamed of [true, false]) {
        emulator.reset();
        const request = base({
          messages: [
            { role: 'system', content: 'Be brief.' },
            { role: 'user', content: 'Hello!' },
          ],
          temperature: 0.3,
          maxTokens: 50,
          stop: ['END'],
        });
        const text = streamed ? (await collect(router.stream(request))).text : (await router.complete(request)).text;
        assert.equal(text, 'Echo: Hello!');
        const recorded = emulator.requests[0];
        assert.ok(recorded);
        assert.equal(recorded.method, 'POST');
        assert.equal(recorded.path, fixture.path(streamed));
        assert.deepEqual(recorded.query, fixture.query(streamed));
        for (const [name, value] of Object.entries(fixture.headers)) assert.equal(recorded.headers[name], value, name);
        assert.deepEqual(recorded.body, fixture.simpleBody(streamed));
      }
    });

    test('streams text as the upstream sends it', async () => {
      emulator.reset();
      emulator.enqueue({ chunks: ['one ', 'two ', 'three'], chunkDelayMs: 100 });
      const seen: string[] = [];
      let outcomeAtFirstToken: string | undefined;
      for await (const chunk of router.stream(base())) {
        if (chunk.type !== 'text-delta') continue;
        if (seen.length === 0) outcomeAtFirstToken = emulator.requests[0]?.outcome;
        seen.push(chunk.text);
      }
      assert.deepEqual(seen, ['one ', 'two ', 'three']);
      assert.equal(outcomeAtFirstToken, 'pending', 'the first piece arrived before the upstream had finished');
    });

    test('the whole answer without streaming: text, finish and usage', async () => {
      emulator.reset();
      emulator.enqueue({ text: 'The meaning of life', usage: { input: 11, output: 7 } });
      const result = await router.complete(base({ stream: false }));
      assert.equal(result.text, 'The meaning of life');
      assert.equal(result.finishReason, 'stop');
      assert.deepEqual(result.usage, { promptTokens: 11, completionTokens: 7, totalTokens: 18 });
      assert.equal(result.provider, 'native');
    });

    test('usage of a streamed answer', async () => {
      emulator.reset();
      emulator.enqueue({ text: 'counted', usage: { input: 21, output: 3 } });
      const { chunks } = await stream();
      assert.deepEqual(
        chunks.filter((chunk) => chunk.type === 'usage'),
        [{ type: 'usage', usage: { promptTokens: 21, completionTokens: 3, totalTokens: 24 } }],
      );
    });

    test('parallel tool calls, streamed: id and name first, then the argument fragments', async () => {
      emulator.reset();
      emulator.enqueue({
        text: 'Checking.',
        toolCalls: [
          { name: 'get_weather', arguments: '{"city":"Paris"}', cuts: [3, 9] },
          { name: 'get_time', arguments: '{"zone":"CET"}', cuts: [5] },
        ],
      });
      const { text, chunks } = await stream({ tools: [weather], toolChoice: 'auto' });
      assert.equal(text, 'Checking.');
      const calls = chunks.filter((chunk) => chunk.type === 'tool-call-delta');
      for (const index of [0, 1]) {
        const parts = calls.filter((chunk) => chunk.index === index);
        assert.ok(parts[0]?.id !== undefined && parts[0].id !== '', 'the first part carries the id');
        assert.ok(
          parts.slice(1).every((part) => part.id === undefined && part.name === undefined),
          'later parts carry fragments only',
        );
        if (fixture.fragmentedCalls) assert.ok(parts.length > 2, `call ${index} came in fragments`);
      }
      assert.deepEqual(
        [0, 1].map((index) => [
          calls.find((chunk) => chunk.index === index)?.name,
          calls
            .filter((chunk) => chunk.index === index)
            .map((chunk) => chunk.argumentsDelta)
            .join(''),
        ]),
        [
          ['get_weather', '{"city":"Paris"}'],
          ['get_time', '{"zone":"CET"}'],
        ],
      );
      assert.deepEqual(
        chunks.find((chunk) => chunk.type === 'finish'),
        { type: 'finish', reason: 'tool_calls' },
      );
      assert.deepEqual(fixture.tools(emulator.requests[0]?.body as Body), fixture.expectedTools);
    });

    test('tool calls in a whole answer, with stable ids', async () => {
      emulator.reset();
      const plan: NativePlan = {
        toolCalls: [
          { name: 'get_weather', arguments: '{"city":"Oslo"}' },
          { name: 'get_weather', arguments: '{"city":"Rome"}' },
        ],
      };
      emulator.enqueue(plan, plan);
      const first = await router.complete(base({ stream: false, tools: [weather] }));
      const second = await router.complete(base({ stream: false, tools: [weather] }));
      assert.deepEqual(
        first.toolCalls?.map((call) => [call.name, call.arguments]),
        [
          ['get_weather', '{"city":"Oslo"}'],
          ['get_weather', '{"city":"Rome"}'],
        ],
      );
      assert.equal(first.finishReason, 'tool_calls');
      const ids = first.toolCalls?.map((call) => call.id) ?? [];
      assert.equal(new Set(ids).size, 2, 'distinct ids within an answer');
      assert.deepEqual(
        second.toolCalls?.map((call) => call.id),
        ids,
        'the same answer gets the same ids',
      );
    });

    test('a tool conversation reaches the upstream in its shape (tool results of one turn together)', async () => {
      emulator.reset();
      emulator.enqueue({ text: 'Sunny tomorrow too.' });
      const result = await router.complete(base({ stream: false, messages: toolConversation, tools: [weather] }));
      assert.equal(result.text, 'Sunny tomorrow too.');
      assert.deepEqual(fixture.conversation(emulator.requests[0]?.body as Body), fixture.expectedConversation);
    });

    test('an image as a data URL arrives in the vendor shape, byte for byte', async () => {
      emulator.reset();
      await stream({
        messages: [
          {
            role: 'user',
            content: [
              { type: 'text', text: 'What is this?' },
              { type: 'image', url: `data:image/png;base64,${PNG}` },
            ],
          },
        ],
      });
      const recorded = emulator.requests[0];
      assert.deepEqual(fixture.imageMessage(recorded?.body as Body), fixture.expectedImageMessage);
      assert.ok(recorded?.rawBody.includes(`"${PNG}"`), 'the base64 text is unchanged on the wire');
    });

    test('an https image: sent by URL where the protocol takes one, else refused before any request', async () => {
      emulator.reset();
      const request = base({ messages: [{ role: 'user', content: [{ type: 'image', url: 'https://example.com/cat.png' }] }] });
      if (fixture.httpsImage === 'refused') {
        const error = providerError(await rejection(collect(router.stream(request))));
        assert.ok(isG4FError(error, 'UnsupportedError'), String(error));
        assert.match(error.message, /data URL/);
        assert.equal(emulator.requests.length, 0);
      } else {
        await collect(router.stream(request));
        const body = emulator.requests[0]?.body as Body;
        const part = fixture.httpsImage.part?.(body) ?? (body.messages as Array<{ content: unknown[] }>)[0]?.content[0];
        assert.deepEqual(part, fixture.httpsImage.url);
      }
    });

    test('reasoning: asked for in the vendor field, streamed back as reasoning', async () => {
      emulator.reset();
      emulator.enqueue({ reasoning: ['Think ', 'first.'], text: 'Answer.' }, { reasoning: ['Whole ', 'thought.'], text: 'Done.' });
      const streamed = await stream({ reasoningEffort: 'high' });
      assert.equal(streamed.reasoning, 'Think first.');
      assert.equal(streamed.text, 'Answer.');
      assert.deepEqual(fixture.reasoningField(emulator.requests[0]?.body as Body), fixture.expectedReasoningField);
      const whole = await router.complete(base({ stream: false, reasoningEffort: 'high' }));
      assert.equal(whole.reasoning, 'Whole thought.');
      assert.equal(whole.text, 'Done.');
    });

    test('providerOptions under the provider name reach the body, merged', async () => {
      emulator.reset();
      await stream({ providerOptions: { NATIVE: fixture.providerOptions } });
      assert.deepEqual(fixture.expectedOptions(emulator.requests[0]?.body as Body), fixture.expectedOptionsValue);
    });

    test('a json_schema response format is asked for in the vendor field', async () => {
      emulator.reset();
      await stream({ responseFormat: { type: 'json_schema', name: 'answer', schema: ANSWER_SCHEMA } });
      assert.deepEqual(fixture.formatField(emulator.requests[0]?.body as Body), fixture.expectedFormatField);
    });

    for (const [word, reason] of fixture.finishes) {
      test(`stop reason ${word} is ${reason}`, async () => {
        emulator.reset();
        emulator.enqueue({ text: 'cut', finishReason: word }, { text: 'cut', finishReason: word });
        // Gemini's blocking words stay beside content_filter.
        const detail = fixture.protocol === 'gemini' && reason === 'content_filter' ? { detail: word } : {};
        assert.deepEqual(
          (await stream()).chunks.find((chunk) => chunk.type === 'finish'),
          { type: 'finish', reason, ...detail },
        );
        const whole = await router.complete(base({ stream: false }));
        assert.equal(whole.finishReason, reason);
        assert.equal(whole.finishDetail, detail.detail);
      });
    }

    test('bytes split anywhere, inside multi-byte characters too', async () => {
      emulator.reset();
      const text = 'Привет, мир! 你好 🌍 — ünïcödé';
      emulator.enqueue({ text, chunkCount: 4, splitAt: Array.from({ length: 200 }, (_, index) => index * 7 + 3), splitDelayMs: 1 });
      assert.equal((await stream()).text, text);
    });

    test('an overloaded upstream is a retryable error: retried, then answered', async () => {
      emulator.reset();
      emulator.enqueue(fixture.overload);
      assert.equal((await stream()).text, 'Echo: Hello!');
      assert.equal(emulator.requests.length, 2);
      emulator.reset();
      emulator.enqueue(fixture.overload, fixture.overload);
      const error = providerError(await rejection(stream()));
      assert.ok(isG4FError(error, 'ProviderHttpError'), String(error));
      assert.equal(error.status, fixture.overload.status);
      assert.equal(error.retryable, true);
      assert.equal(error.provider, 'native');
      assert.equal(emulator.requests.length, 2);
    });

    test('a refused request (400) is not retried', async () => {
      emulator.reset();
      emulator.enqueue({ status: 400, errorMessage: 'messages: field required' });
      const error = providerError(await rejection(stream()));
      assert.ok(isG4FError(error, 'ProviderHttpError'), String(error));
      assert.equal(error.status, 400);
      assert.equal(error.retryable, false);
      assert.match(error.message, /messages: field required/);
      assert.equal(emulator.requests.length, 1);
    });

    test('HTTP 429 is a RateLimitError with the wait the upstream asked for', async () => {
      emulator.reset();
      const limited: NativePlan = fixture.protocol === 'gemini' ? { status: 429, retryDelay: '0.02s' } : { status: 429, retryAfter: '0.02' };
      emulator.enqueue(limited, limited);
      const error = providerError(await rejection(stream()));
      assert.ok(isG4FError(error, 'RateLimitError'), String(error));
      assert.equal(error.retryAfterMs, 20);
      assert.equal(emulator.requests.length, 2, 'a short wait is honoured and retried');
      const [first, second] = emulator.requests;
      assert.ok((second?.receivedAt ?? 0) - (first?.receivedAt ?? 0) >= 15, 'the retry waited');
    });

    test('the model not found is a ModelNotFoundError', async () => {
      emulator.reset();
      emulator.enqueue({ modelNotFound: true }, { modelNotFound: true });
      const error = providerError(await rejection(stream()));
      assert.ok(isG4FError(error, 'ModelNotFoundError'), String(error));
    });

    if (fixture.protocol !== 'ollama') {
      test('a wrong key is an AuthError, and the key never shows in it', async () => {
        emulator.reset();
        process.env.G4F_TEST_NATIVE_KEY = 'wrong-key-1234';
        try {
          const error = providerError(await rejection(stream()));
          assert.ok(isG4FError(error, 'AuthError'), String(error));
          assert.ok(!JSON.stringify(error).includes('wrong-key-1234'));
        } finally {
          process.env.G4F_TEST_NATIVE_KEY = KEY;
        }
      });
    }

    test('an error in the stream before any output is retried like an error status', async () => {
      emulator.reset();
      emulator.enqueue({ errorEventAfterChunks: 0 });
      assert.equal((await stream()).text, 'Echo: Hello!');
      assert.equal(emulator.requests.length, 2);
    });

    test('an error in the stream after output ends it with StreamInterruptedError', async () => {
      emulator.reset();
      emulator.enqueue({ chunks: ['partial ', 'answer'], errorEventAfterChunks: 1 });
      const seen: string[] = [];
      const error = await rejection(
        (async () => {
          for await (const chunk of router.stream(base())) if (chunk.type === 'text-delta') seen.push(chunk.text);
        })(),
      );
      assert.deepEqual(seen, ['partial ']);
      assert.ok(isG4FError(error, 'StreamInterruptedError'), String(error));
      assert.ok(isG4FError(error.cause, 'ProviderHttpError'), String(error.cause));
      assert.equal(emulator.requests.length, 1, 'never replayed after output');
    });

    test('a disconnect after output is a StreamInterruptedError; before output, a retried ConnectionError', async () => {
      emulator.reset();
      emulator.enqueue({ chunks: ['one ', 'two ', 'three'], disconnectAfterChunks: 2 });
      const error = await rejection(stream());
      assert.ok(isG4FError(error, 'StreamInterruptedError'), String(error));
      assert.ok(isG4FError(error.cause, 'ConnectionError'), String(error.cause));
      emulator.reset();
      emulator.enqueue({ disconnectAfterChunks: 0 }, { disconnectAfterChunks: 0 });
      const before = providerError(await rejection(stream()));
      assert.ok(isG4FError(before, 'ConnectionError'), String(before));
      assert.equal(emulator.requests.length, 2);
    });

    test('a malformed event is a StreamParseError', async () => {
      emulator.reset();
      emulator.enqueue({ malformedAfterChunks: 0 }, { malformedAfterChunks: 0 });
      const error = providerError(await rejection(stream()));
      assert.ok(isG4FError(error, 'StreamParseError'), String(error));
      emulator.reset();
      emulator.enqueue({ chunks: ['fine ', 'then'], malformedAfterChunks: 1 });
      const after = await rejection(stream());
      assert.ok(isG4FError(after, 'StreamInterruptedError'), String(after));
      assert.ok(isG4FError(after.cause, 'StreamParseError'), String(after.cause));
    });

    test('a whole answer that is cut is a StreamParseError or a ConnectionError, never a short answer', async () => {
      emulator.reset();
      emulator.enqueue({ malformedAfterChunks: 0 }, { malformedAfterChunks: 0 });
      assert.ok(isG4FError(providerError(await rejection(router.complete(base({ stream: false })))), 'StreamParseError'));
      emulator.reset();
      emulator.enqueue({ disconnectAfterChunks: 0 }, { disconnectAfterChunks: 0 });
      assert.ok(isG4FError(providerError(await rejection(router.complete(base({ stream: false })))), 'ConnectionError'));
    });

    test('a stream that ends cleanly without its last event is incomplete: StreamParseError', async () => {
      emulator.reset();
      emulator.enqueue({ chunks: ['half ', 'way'], truncateAfterChunks: 2 });
      const error = await rejection(stream());
      assert.ok(isG4FError(error, 'StreamInterruptedError'), String(error));
      assert.ok(isG4FError(error.cause, 'StreamParseError'), String(error.cause));
      assert.match(String((error.cause as Error).message), /incomplete/);
    });

    test('a stalled stream ends by the idle timer', async () => {
      emulator.reset();
      emulator.enqueue({ chunks: ['slow ', 'never'], stallAfterChunks: 1 });
      const error = await rejection(stream({ timeouts: { idle: 300 } }));
      assert.ok(isG4FError(error, 'StreamInterruptedError'), String(error));
      assert.ok(isG4FError(error.cause, 'TimeoutError'), String(error.cause));
      assert.equal(error.cause.phase, 'idle');
      await emulator.waitForEnd(0, 10_000);
    });

    test('an AbortSignal aborts the upstream request', async () => {
      emulator.reset();
      emulator.enqueue({ chunkCount: 10, text: 'a b c d e f g h i j', chunkDelayMs: 200 });
      const controller = new AbortController();
      const aborted = emulator.waitForAbort(0, 10_000);
      const error = await rejection(
        (async () => {
          for await (const chunk of router.stream(base({ signal: controller.signal }))) if (chunk.type === 'text-delta') controller.abort();
        })(),
      );
      assert.ok(isG4FError(error, 'AbortError'), String(error));
      assert.equal((await aborted).aborted, true);
    });

    test('leaving the loop early closes the upstream request', async () => {
      emulator.reset();
      emulator.enqueue({ chunkCount: 10, text: 'a b c d e f g h i j', chunkDelayMs: 200 });
      const aborted = emulator.waitForAbort(0, 10_000);
      for await (const chunk of router.stream(base())) if (chunk.type === 'text-delta') break;
      assert.equal((await aborted).aborted, true);
      await emulator.waitForIdle(10_000);
    });
  });
}

describe('native provider: Ollama refusals', () => {
  test('a required or named tool choice cannot be enforced by Ollama: refused, no request sent', async () => {
    const emulator = await createNativeEmulator({ protocol: 'ollama' });
    const router = createRouterFromConfig(
      parseConfig({ providers: [{ name: 'local', type: 'ollama', baseUrl: emulator.url, models: ['llama3.2'] }], retry: { attempts: 1 } }),
    );
    try {
      for (const toolChoice of ['required', { name: 'get_weather' }] as const) {
        const error = providerError(
          await rejection(
            collect(router.stream({ model: 'llama3.2', messages: [{ role: 'user', content: 'x' }], stream: true, tools: [weather], toolChoice })),
          ),
        );
        assert.ok(isG4FError(error, 'UnsupportedError'), String(error));
      }
      assert.equal(emulator.requests.length, 0);
    } finally {
      await emulator.close();
      await router.runtime.close();
    }
  });
});

describe('NDJSON lines', () => {
  test('whole lines only, split anywhere (inside a character too), CRLF and blank lines', () => {
    const decoder = createLineDecoder('test');
    const bytes = Buffer.from('{"a":"é"}\r\n\n{"b":"🌍"}\n{"c":1}');
    const lines: string[] = [];
    for (let start = 0; start < bytes.length; start += 3) lines.push(...decoder.push(bytes.subarray(start, start + 3)));
    lines.push(...decoder.end());
    assert.deepEqual(lines, ['{"a":"é"}', '{"b":"🌍"}', '{"c":1}']);
  });

  test('a line over the bound is a StreamParseError, not an ever-growing buffer', () => {
    const decoder = createLineDecoder('test', 64);
    assert.deepEqual(decoder.push(Buffer.from(`${'x'.repeat(60)}\n`)), ['x'.repeat(60)]);
    assert.throws(
      () => {
        for (let piece = 0; piece < 10; piece++) decoder.push(Buffer.from('y'.repeat(10)));
      },
      (error: unknown) => isG4FError(error, 'StreamParseError') && /longer than 64 bytes/.test(error.message),
    );
  });
});
