/**
 * The Anthropic Messages API as the emulator speaks it: `POST /v1/messages`, a `message` object,
 * or server-sent events (message_start, ping, content_block_start/delta/stop for thinking, text
 * and tool_use blocks, message_delta, message_stop), and `{"type":"error","error":{…}}` bodies.
 */
import type { NativePlan } from './native-plan.js';
import {
  allText,
  groupEvents,
  streamScript,
  wholeScript,
  type ChatContext,
  type NativeAnswer,
  type NativeProtocolModule,
  type NativeScript,
  type StreamEvent,
} from './native-replies.js';

const SSE = 'text/event-stream; charset=utf-8';

const ERROR_TYPES: Readonly<Record<number, string>> = {
  400: 'invalid_request_error',
  401: 'authentication_error',
  403: 'permission_error',
  404: 'not_found_error',
  405: 'invalid_request_error',
  413: 'request_too_large',
  429: 'rate_limit_error',
  500: 'api_error',
  504: 'timeout_error',
  529: 'overloaded_error',
};

function errorJson(type: string, message: string): string {
  return JSON.stringify({ type: 'error', error: { type, message } });
}

function event(name: string, data: Record<string, unknown>): string {
  return `event: ${name}\ndata: ${JSON.stringify({ type: name, ...data })}\n\n`;
}

/** The text of the last user turn: its string, or its text blocks. */
function lastUserText(body: Record<string, unknown>): string {
  const messages = Array.isArray(body.messages) ? (body.messages as Array<Record<string, unknown>>) : [];
  const last = [...messages].reverse().find((message) => message?.role === 'user');
  const content = last?.content;
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return '';
  return (content as Array<Record<string, unknown>>)
    .flatMap((block) => (block?.type === 'text' && typeof block.text === 'string' ? [block.text] : []))
    .join('\n');
}

function script(plan: NativePlan, request: ChatContext, answer: NativeAnswer): NativeScript {
  const stopReason = plan.finishReason ?? (answer.calls.length > 0 ? 'tool_use' : 'end_turn');
  const usage = answer.usage === undefined ? undefined : { input_tokens: answer.usage.input, output_tokens: answer.usage.output };
  const message = { id: `msg_emu_${request.index}`, type: 'message', role: 'assistant', model: answer.model };
  if (!request.stream) {
    const content: Array<Record<string, unknown>> = [];
    if (answer.reasoning.length > 0) content.push({ type: 'thinking', thinking: answer.reasoning.join(''), signature: 'sig-emu' });
    if (answer.text.length > 0) content.push({ type: 'text', text: answer.text.join('') });
    for (const call of answer.calls) content.push({ type: 'tool_use', id: call.id, name: call.name, input: JSON.parse(call.arguments) as unknown });
    const whole = { ...message, content, stop_reason: stopReason, stop_sequence: plan.stopSequence ?? null, ...(usage === undefined ? {} : { usage }) };
    return wholeScript(plan.status ?? 200, 'application/json', JSON.stringify(whole), plan);
  }
  // As Anthropic's recorded streams go: message_start (with the cache counts), the first block's
  // start, a ping, then the deltas; a tool_use block's input begins with an empty fragment.
  const head = event('message_start', {
    message: {
      ...message,
      content: [],
      stop_reason: null,
      stop_sequence: null,
      ...(usage === undefined
        ? {}
        : { usage: { input_tokens: usage.input_tokens, cache_creation_input_tokens: 0, cache_read_input_tokens: 0, output_tokens: 1 } }),
    },
  });
  const events: StreamEvent[] = [];
  let index = 0;
  const block = (start: Record<string, unknown>, deltas: Array<Record<string, unknown>>, after: Array<Record<string, unknown>> = []): void => {
    events.push({ text: event('content_block_start', { index, content_block: start }) + (index === 0 ? event('ping', {}) : ''), content: false });
    if (start.type === 'tool_use')
      events.push({ text: event('content_block_delta', { index, delta: { type: 'input_json_delta', partial_json: '' } }), content: false });
    for (const delta of deltas) events.push({ text: event('content_block_delta', { index, delta }), content: true });
    for (const delta of after) events.push({ text: event('content_block_delta', { index, delta }), content: false });
    events.push({ text: event('content_block_stop', { index }), content: false });
    index += 1;
  };
  if (answer.reasoning.length > 0) {
    block(
      { type: 'thinking', thinking: '' },
      answer.reasoning.map((thinking) => ({ type: 'thinking_delta', thinking })),
      [{ type: 'signature_delta', signature: 'sig-emu' }],
    );
  }
  if (answer.text.length > 0)
    block(
      { type: 'text', text: '' },
      answer.text.map((text) => ({ type: 'text_delta', text })),
    );
  for (const call of answer.calls) {
    block(
      { type: 'tool_use', id: call.id, name: call.name, input: {} },
      call.fragments.map((partial_json) => ({ type: 'input_json_delta', partial_json })),
    );
  }
  const tail =
    event('message_delta', {
      delta: { stop_reason: stopReason, stop_sequence: plan.stopSequence ?? null },
      usage: { output_tokens: usage?.output_tokens ?? 0 },
    }) + event('message_stop', {});
  return streamScript(
    plan,
    SSE,
    { head, ...groupEvents(events, tail) },
    {
      malformed: 'event: content_block_delta\ndata: {"type":"content_block_delta","index":0,"delta":\n\n',
      errorEvent: `event: error\ndata: ${errorJson(plan.errorType ?? 'overloaded_error', plan.errorMessage ?? 'Overloaded')}\n\n`,
    },
  );
}

export const anthropicModule: NativeProtocolModule = {
  chatRoute: (method, path) => (path !== '/v1/messages' ? undefined : method !== 'POST' ? 'wrong-method' : { stream: (body) => body.stream === true }),
  // Anthropic's documented list shape (GET /v1/models).
  otherRoute: (method, path, models) =>
    method === 'GET' && path === '/v1/models'
      ? {
          data: models.map((id) => ({ type: 'model', id, display_name: id, created_at: '2025-01-01T00:00:00Z' })),
          has_more: false,
          first_id: models[0] ?? null,
          last_id: models.at(-1) ?? null,
        }
      : undefined,
  errors: (_plan, request) => ({
    errorJson: (status, type, text) => errorJson(type ?? ERROR_TYPES[status] ?? 'api_error', text ?? `Emulated error ${status}.`),
    modelNotFound: () => errorJson('not_found_error', `model: ${request.model}`),
  }),
  answerContext: (request) => ({
    model: request.model,
    lastUserText: lastUserText(request.body),
    promptText: allText([request.body.system, request.body.messages]),
    callIdPrefix: 'toolu_emu_',
  }),
  script,
  refuse: (headers, body) => {
    if (headers['anthropic-version'] === undefined) return [400, 'anthropic-version: header is required'];
    if (typeof body.max_tokens !== 'number') return [400, 'max_tokens: Field required'];
    if (!Array.isArray(body.messages)) return [400, 'messages: Field required'];
    return undefined;
  },
  errorBody: (status, message) => errorJson(ERROR_TYPES[status] ?? 'api_error', message),
  hasKey: (headers, _query, key) => headers['x-api-key'] === key,
};
