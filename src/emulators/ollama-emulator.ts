/**
 * Ollama's native API as the emulator speaks it: `POST /api/chat` answered with
 * newline-delimited JSON (`application/x-ndjson`; one object per line, the last with
 * `"done": true`, `done_reason` and the counts) unless `"stream": false`; tool calls whole,
 * without ids; thinking in `message.thinking`; errors as `{"error": "…"}`; `GET /api/tags`.
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

const NDJSON = 'application/x-ndjson';

function lastUserText(body: Record<string, unknown>): string {
  const messages = Array.isArray(body.messages) ? (body.messages as Array<Record<string, unknown>>) : [];
  const content = [...messages].reverse().find((message) => message?.role === 'user')?.content;
  return typeof content === 'string' ? content : '';
}

function line(value: Record<string, unknown>): string {
  return `${JSON.stringify(value)}\n`;
}

function script(plan: NativePlan, request: ChatContext, answer: NativeAnswer): NativeScript {
  const createdAt = new Date(request.receivedAt).toISOString();
  const base = { model: answer.model, created_at: createdAt };
  const calls = answer.calls.map((call) => ({ function: { name: call.name, arguments: JSON.parse(call.arguments) as unknown } }));
  const last = {
    done: true,
    done_reason: plan.finishReason ?? 'stop',
    total_duration: 1_000_000,
    load_duration: 1_000,
    ...(answer.usage === undefined
      ? {}
      : { prompt_eval_count: answer.usage.input, prompt_eval_duration: 1_000, eval_count: answer.usage.output, eval_duration: 1_000 }),
  };
  if (!request.stream) {
    const message: Record<string, unknown> = { role: 'assistant', content: answer.text.join('') };
    if (answer.reasoning.length > 0) message.thinking = answer.reasoning.join('');
    if (calls.length > 0) message.tool_calls = calls;
    return wholeScript(plan.status ?? 200, 'application/json; charset=utf-8', JSON.stringify({ ...base, message, ...last }), plan);
  }
  const events: StreamEvent[] = [
    ...answer.reasoning.map((thinking) => ({ text: line({ ...base, message: { role: 'assistant', content: '', thinking }, done: false }), content: true })),
    ...answer.text.map((content) => ({ text: line({ ...base, message: { role: 'assistant', content }, done: false }), content: true })),
  ];
  if (calls.length > 0) events.push({ text: line({ ...base, message: { role: 'assistant', content: '', tool_calls: calls }, done: false }), content: true });
  const tail = line({ ...base, message: { role: 'assistant', content: '' }, ...last });
  return streamScript(
    plan,
    NDJSON,
    { head: '', ...groupEvents(events, tail) },
    {
      malformed: `{"model":${JSON.stringify(answer.model)},"message":{"role":"assistant","content":\n`,
      errorEvent: line({ error: plan.errorMessage ?? 'an error was encountered while running the model' }),
    },
  );
}

export const ollamaModule: NativeProtocolModule = {
  chatRoute: (method, path) => (path !== '/api/chat' ? undefined : method !== 'POST' ? 'wrong-method' : { stream: (body) => body.stream !== false }),
  // Ollama's documented list shape (docs.ollama.com/api/tags).
  otherRoute: (method, path, models) =>
    method === 'GET' && path === '/api/tags'
      ? {
          models: models.map((name) => ({
            name,
            model: name,
            modified_at: '2025-01-01T00:00:00Z',
            size: 2019393189,
            digest: 'emulated',
            details: { format: 'gguf', family: 'llama', families: ['llama'], parameter_size: '3.2B', quantization_level: 'Q4_K_M' },
          })),
        }
      : undefined,
  errors: (_plan, request) => ({
    errorJson: (status, _type, message) => JSON.stringify({ error: message ?? `emulated error ${status}` }),
    modelNotFound: () => JSON.stringify({ error: `model '${request.model}' not found` }),
  }),
  answerContext: (request) => ({
    model: request.model,
    lastUserText: lastUserText(request.body),
    promptText: allText(request.body.messages),
    callIdPrefix: '',
  }),
  script,
  refuse: (_headers, body) => (typeof body.model === 'string' && body.model !== '' ? undefined : [400, 'model is required']),
  errorBody: (_status, message) => JSON.stringify({ error: message }),
  hasKey: (headers, _query, key) => headers.authorization === `Bearer ${key}`,
};
