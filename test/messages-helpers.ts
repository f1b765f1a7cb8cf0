/** Helpers of the Messages API door's tests: recorded upstream answers, Anthropic's stream events and error shape. */
import assert from 'node:assert/strict';
import type { Plan } from '../src/emulators/index.js';
import { send, type Fixture, type RawResponse } from './server-fixture.js';

// ---- upstream answers replayed through the emulator, in OpenAI's wire format ----

export const HEAD = { id: 'chatcmpl-recorded', object: 'chat.completion.chunk', created: 1_700_000_000, model: 'test-model' };

export function chunk(delta: Record<string, unknown>, finish: string | null = null): Record<string, unknown> {
  return { ...HEAD, choices: [{ index: 0, delta, finish_reason: finish }] };
}

/** A recorded stream: these events, then `[DONE]`. */
export function streamed(events: ReadonlyArray<Record<string, unknown>>): Plan {
  const body = `${events.map((event) => `data: ${JSON.stringify(event)}\n\n`).join('')}data: [DONE]\n\n`;
  return { status: 200, contentType: 'text/event-stream', errorBody: body };
}

/** A recorded whole answer. */
export function whole(message: Record<string, unknown>, finish: string, usage?: Record<string, number>): Plan {
  const body = {
    id: 'chatcmpl-recorded',
    object: 'chat.completion',
    created: 1_700_000_000,
    model: 'test-model',
    choices: [{ index: 0, message, finish_reason: finish }],
    ...(usage === undefined ? {} : { usage }),
  };
  return { status: 200, contentType: 'application/json', errorBody: JSON.stringify(body) };
}

export const WEATHER_TOOL = {
  name: 'get_weather',
  description: 'The weather in a city',
  input_schema: { type: 'object' as const, properties: { city: { type: 'string' } }, required: ['city'] },
};

// ---- reading answers ----

export interface StreamEvent {
  event: string;
  data: Record<string, unknown>;
}

export function events(body: string): StreamEvent[] {
  return body
    .split('\n\n')
    .filter((block) => block.startsWith('event: '))
    .map((block) => {
      const [eventLine = '', dataLine = ''] = block.split('\n');
      assert.ok(dataLine.startsWith('data: '), block);
      const data = JSON.parse(dataLine.slice('data: '.length)) as Record<string, unknown>;
      const event = eventLine.slice('event: '.length);
      assert.equal(data.type, event, 'the event name is the data type');
      return { event, data };
    });
}

export function postMessages(url: string, body: unknown, headers: Record<string, string> = {}, path = '/v1/messages'): Promise<RawResponse> {
  return send(url, {
    method: 'POST',
    path,
    headers: { 'content-type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
}

export interface AnthropicErrorBody {
  type: string;
  error: { type: string; message: string; attempts?: Array<{ provider: string; code: string; status?: number }> };
  request_id?: string;
}

/** The body of an error answer, checked to be in Anthropic's shape. */
export function anthropicError(response: RawResponse, status: number, type: string): AnthropicErrorBody['error'] {
  assert.equal(response.status, status, response.body);
  assert.equal(response.headers['content-type'], 'application/json');
  const body = JSON.parse(response.body) as AnthropicErrorBody;
  assert.equal(body.type, 'error');
  assert.equal(body.error.type, type, response.body);
  assert.equal(typeof body.error.message, 'string');
  assert.ok(!('code' in body.error) && !('param' in body.error), 'not OpenAI shape');
  assert.equal(body.request_id, response.headers['x-request-id']);
  return body.error;
}

export function upstreamBody(fixture: Fixture): Record<string, unknown> {
  const body = fixture.alpha.requests.at(-1)?.body;
  assert.ok(typeof body === 'object' && body !== null);
  return body as Record<string, unknown>;
}

/** Polls a condition (the log line is written when the response has closed, just after the client read it). */
export async function waitUntil(condition: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

export function countOf(fixture: Fixture): number {
  return fixture.alpha.requests.length + fixture.beta.requests.length + fixture.slow.requests.length;
}
