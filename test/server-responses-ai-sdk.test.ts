/**
 * The Responses API door with the AI SDK: `createOpenAI({ baseURL, apiKey }).responses(model)`
 * (`@ai-sdk/openai` 3.x, `ai` 6.x) with `generateText` and `streamText` running tools over several
 * steps (`stopWhen: stepCountIs(n)`), over real sockets in front of an emulated upstream.
 */
import { after, before, beforeEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createOpenAI } from '@ai-sdk/openai';
import { generateText, jsonSchema, stepCountIs, streamText, tool } from 'ai';
import { z } from 'zod';
import type { Plan, RecordedRequest } from '../src/emulators/index.js';
import { send, startFixture, type Fixture } from './server-fixture.js';

function messagesOf(record: RecordedRequest | undefined): Array<Record<string, unknown>> {
  return (record?.body as { messages?: Array<Record<string, unknown>> } | undefined)?.messages ?? [];
}

/** Step 1: both tools at once; step 2: one more call of the first tool; step 3 (three results present): the answer. */
function threeSteps(record: RecordedRequest): Plan {
  const results = messagesOf(record).filter((message) => message.role === 'tool');
  if (results.length === 0) {
    return {
      toolCalls: [
        { name: 'weather', arguments: { city: 'Oslo' }, cuts: [3, 4] },
        { name: 'clock', arguments: { zone: 'UTC' } },
      ],
      interleaveToolCalls: true,
    };
  }
  if (results.length === 2) return { text: 'One more city.', toolCalls: [{ name: 'weather', arguments: { city: 'Rome' } }] };
  return { text: `It is ${results.map((message) => String(message.content)).join(' and ')}.`, chunkCount: 4 };
}

const ANSWER = 'It is {"city":"Oslo","sky":"clear"} and noon UTC and {"city":"Rome","sky":"clear"}.';

function tools(executed: string[]) {
  return {
    weather: tool({
      description: 'The weather in a city',
      inputSchema: z.object({ city: z.string() }),
      execute: async ({ city }) => {
        executed.push(`weather ${city}`);
        return { city, sky: 'clear' };
      },
    }),
    clock: tool({
      description: 'The time in a zone',
      inputSchema: jsonSchema<{ zone: string }>({ type: 'object', properties: { zone: { type: 'string' } }, required: ['zone'], additionalProperties: false }),
      execute: async ({ zone }) => {
        executed.push(`clock ${zone}`);
        return `noon ${zone}`;
      },
    }),
  };
}

describe('the Responses door with @ai-sdk/openai', () => {
  let fixture: Fixture;
  let dataDir: string;
  before(async () => {
    // Stored responses go to a database of this test's own.
    dataDir = mkdtempSync(join(tmpdir(), 'g4f-responses-ai-sdk-'));
    fixture = await startFixture({ dataDir });
  });
  after(async () => {
    await fixture.close();
    rmSync(dataDir, { recursive: true, force: true });
  });
  beforeEach(() => {
    fixture.alpha.reset();
    fixture.alpha.setScript(threeSteps);
  });

  function model() {
    return createOpenAI({ baseURL: `${fixture.url}/v1`, apiKey: 'unused' }).responses('test-model');
  }

  /** What the upstream got in each step: the tool calls it was shown and the results sent back, by call id. */
  function assertHistory(): void {
    assert.equal(fixture.alpha.requests.length, 3);
    for (const record of fixture.alpha.requests) assert.equal(record.path, '/v1/chat/completions');
    const last = messagesOf(fixture.alpha.requests[2]);
    const calls = last.flatMap((message) => (message.tool_calls as Array<{ id: string; function: { name: string; arguments: string } }> | undefined) ?? []);
    assert.deepEqual(
      calls.map((call) => [call.id, call.function.name, JSON.parse(call.function.arguments)]),
      [
        ['call_emu-0_0', 'weather', { city: 'Oslo' }],
        ['call_emu-0_1', 'clock', { zone: 'UTC' }],
        ['call_emu-1_0', 'weather', { city: 'Rome' }],
      ],
    );
    assert.deepEqual(
      last.filter((message) => message.role === 'tool').map((message) => message.tool_call_id),
      ['call_emu-0_0', 'call_emu-0_1', 'call_emu-1_0'],
    );
    // Step 2's text came back as an item_reference to the stored response, and was found again.
    assert.ok(last.some((message) => message.role === 'assistant' && message.content === 'One more city.'));
    const tools = (fixture.alpha.requests[0]?.body as { tools?: Array<{ function: { name: string } }> }).tools;
    assert.deepEqual(
      tools?.map((item) => item.function.name),
      ['weather', 'clock'],
    );
  }

  test('generateText runs the tools over three steps', async () => {
    const executed: string[] = [];
    const result = await generateText({ model: model(), prompt: 'weather and time', tools: tools(executed), stopWhen: stepCountIs(5), maxRetries: 0 });
    assert.deepEqual(executed.sort(), ['clock UTC', 'weather Oslo', 'weather Rome']);
    assert.equal(result.steps.length, 3);
    assert.deepEqual(
      result.steps.map((step) => step.finishReason),
      ['tool-calls', 'tool-calls', 'stop'],
    );
    assert.deepEqual(
      result.steps[0]?.toolCalls.map((call) => [call.toolCallId, call.toolName, call.input]),
      [
        ['call_emu-0_0', 'weather', { city: 'Oslo' }],
        ['call_emu-0_1', 'clock', { zone: 'UTC' }],
      ],
    );
    assert.equal(result.steps[1]?.text, 'One more city.');
    assert.equal(result.text, ANSWER);
    assert.ok(result.usage.inputTokens !== undefined && result.usage.inputTokens > 0);
    assertHistory();
  });

  test('streamText runs the tools over three steps', async () => {
    const executed: string[] = [];
    const result = streamText({ model: model(), prompt: 'weather and time', tools: tools(executed), stopWhen: stepCountIs(5), maxRetries: 0 });
    const calls: string[] = [];
    const results: string[] = [];
    const errors: unknown[] = [];
    let text = '';
    for await (const part of result.fullStream) {
      if (part.type === 'tool-call') calls.push(`${part.toolName} ${JSON.stringify(part.input)}`);
      else if (part.type === 'tool-result') results.push(part.toolName);
      else if (part.type === 'text-delta') text += part.text;
      else if (part.type === 'error') errors.push(part.error);
    }
    assert.deepEqual(errors, []);
    assert.deepEqual(calls, ['weather {"city":"Oslo"}', 'clock {"zone":"UTC"}', 'weather {"city":"Rome"}']);
    assert.deepEqual(results.sort(), ['clock', 'weather', 'weather']);
    assert.equal(text, `One more city.${ANSWER}`);
    assert.equal((await result.steps).length, 3);
    assert.equal(await result.finishReason, 'stop');
    assertHistory();
  });

  test('an item_reference to no stored item is a 404 naming it; with store: false nothing is referenced', async () => {
    const reply = await send(fixture.url, {
      method: 'POST',
      path: '/v1/responses',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        model: 'test-model',
        input: [
          { role: 'user', content: 'hi' },
          { type: 'item_reference', id: `msg_${'0'.repeat(48)}_0` },
        ],
      }),
    });
    assert.equal(reply.status, 404);
    assert.equal((JSON.parse(reply.body) as { error: { param: string } }).error.param, 'input[1].id');
    const executed: string[] = [];
    const result = await generateText({
      model: model(),
      prompt: 'weather and time',
      tools: tools(executed),
      stopWhen: stepCountIs(5),
      maxRetries: 0,
      providerOptions: { openai: { store: false } },
    });
    assert.equal(result.text, ANSWER);
    assertHistory();
  });

  test('an upstream failure reaches streamText as an error part and generateText as a thrown APICallError', async () => {
    fixture.alpha.setScript(undefined);
    // test-model falls back from alpha to beta: both refuse.
    fixture.alpha.enqueue({ status: 400, errorMessage: 'bad tools for this model' });
    fixture.beta.enqueue({ status: 400, errorMessage: 'bad tools for this model' });
    await assert.rejects(generateText({ model: model(), prompt: 'x', tools: tools([]), maxRetries: 0 }), /bad tools for this model/);
    fixture.alpha.enqueue({ text: 'partial answer here', chunkCount: 4, disconnectAfterChunks: 2 });
    const result = streamText({ model: model(), prompt: 'x', maxRetries: 0, onError: () => undefined });
    const errors: unknown[] = [];
    let text = '';
    for await (const part of result.fullStream) {
      if (part.type === 'text-delta') text += part.text;
      else if (part.type === 'error') errors.push(part.error);
    }
    assert.ok(text.length > 0 && 'partial answer here'.startsWith(text), text);
    assert.equal(errors.length, 1);
  });
});
