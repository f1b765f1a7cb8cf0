/**
 * The Gemini API as the emulator speaks it: `POST /v1beta/models/{model}:generateContent` (one
 * GenerateContentResponse) and `:streamGenerateContent?alt=sse` (one per SSE event; without
 * `alt=sse`, a JSON array of them); thought parts, whole function calls without ids, finishReason
 * and usageMetadata; errors as `{"error": {code, message, status, details}}`.
 */
import type { NativePlan } from './native-plan.js';
import { countWords } from './replies.js';
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

const STATUSES: Readonly<Record<number, string>> = {
  400: 'INVALID_ARGUMENT',
  401: 'UNAUTHENTICATED',
  403: 'PERMISSION_DENIED',
  404: 'NOT_FOUND',
  405: 'INVALID_ARGUMENT',
  413: 'INVALID_ARGUMENT',
  429: 'RESOURCE_EXHAUSTED',
  500: 'INTERNAL',
  503: 'UNAVAILABLE',
  504: 'DEADLINE_EXCEEDED',
};

/** Google's error object; a quota error's details as the Gemini API sends them (QuotaFailure, Help, then RetryInfo). */
function errorJson(code: number, status: string | undefined, message: string, retryDelay?: string): string {
  const error: Record<string, unknown> = { code, message, status: status ?? STATUSES[code] ?? 'UNKNOWN' };
  if (retryDelay !== undefined) {
    error.details = [
      {
        '@type': 'type.googleapis.com/google.rpc.QuotaFailure',
        violations: [
          {
            quotaMetric: 'generativelanguage.googleapis.com/generate_content_free_tier_requests',
            quotaId: 'GenerateRequestsPerMinutePerProjectPerModel-FreeTier',
          },
        ],
      },
      {
        '@type': 'type.googleapis.com/google.rpc.Help',
        links: [{ description: 'Learn more about Gemini API quotas', url: 'https://ai.google.dev/gemini-api/docs/rate-limits' }],
      },
      { '@type': 'type.googleapis.com/google.rpc.RetryInfo', retryDelay },
    ];
  }
  return JSON.stringify({ error });
}

/**
 * Thinking models (Gemini 3) refuse history whose model turns make function calls without the
 * thought signature on the first call: the 400 Google documents.
 */
function unsignedCall(body: Record<string, unknown>): string | undefined {
  const contents = Array.isArray(body.contents) ? (body.contents as unknown[]) : [];
  for (const [position, content] of contents.entries()) {
    if (typeof content !== 'object' || content === null || (content as { role?: unknown }).role !== 'model') continue;
    const parts = (content as { parts?: unknown }).parts;
    const first = (Array.isArray(parts) ? (parts as Array<Record<string, unknown> | null>) : []).find((part) => typeof part?.functionCall === 'object');
    if (first !== undefined && typeof first?.thoughtSignature !== 'string') {
      const name = (first?.functionCall as { name?: unknown } | undefined)?.name;
      return `Function call \`${String(name)}\` in the ${position + 1}. content block is missing a \`thought_signature\`.`;
    }
  }
  return undefined;
}

function lastUserText(body: Record<string, unknown>): string {
  const contents = Array.isArray(body.contents) ? (body.contents as Array<Record<string, unknown>>) : [];
  const parts = [...contents]
    .reverse()
    .find(
      (content) =>
        content?.role === 'user' &&
        Array.isArray(content.parts) &&
        (content.parts as Array<Record<string, unknown>>).some((part) => typeof part?.text === 'string'),
    )?.parts;
  return Array.isArray(parts)
    ? (parts as Array<Record<string, unknown>>).flatMap((part) => (typeof part?.text === 'string' ? [part.text] : [])).join('\n')
    : '';
}

const METHOD = /^\/v1beta\/models\/([^/:]+):(generateContent|streamGenerateContent)$/;

function script(plan: NativePlan, request: ChatContext, answer: NativeAnswer): NativeScript {
  const finishReason = plan.finishReason ?? 'STOP';
  // As Google counts: thoughts apart from the candidates (the answer's text and calls), both in the total.
  const thoughts = answer.usage === undefined || answer.reasoning.length === 0 ? 0 : Math.min(answer.usage.output, countWords(answer.reasoning.join(' ')));
  const usageMetadata =
    answer.usage === undefined
      ? undefined
      : {
          promptTokenCount: answer.usage.input,
          candidatesTokenCount: answer.usage.output - thoughts,
          totalTokenCount: answer.usage.input + answer.usage.output,
          ...(thoughts > 0 ? { thoughtsTokenCount: thoughts } : {}),
        };
  const signature = plan.thoughtSignature === undefined ? {} : { thoughtSignature: plan.thoughtSignature };
  const calls = answer.calls.map((call, position) => ({
    functionCall: { ...(plan.toolCalls?.[position]?.id === undefined ? {} : { id: call.id }), name: call.name, args: JSON.parse(call.arguments) as unknown },
    ...(position === 0 ? signature : {}),
  }));
  // Without calls, the signature is on the answer's last part.
  const lastPart = (part: Record<string, unknown>): Record<string, unknown> => (calls.length === 0 ? { ...part, ...signature } : part);
  const response = (parts: unknown[], last: boolean): Record<string, unknown> => ({
    candidates: [{ content: { parts, role: 'model' }, ...(last ? { finishReason } : {}), index: 0 }],
    ...(usageMetadata === undefined ? {} : { usageMetadata }),
    modelVersion: answer.model,
    responseId: `emu-${request.index}`,
  });
  if (!request.stream) {
    const parts: unknown[] = [];
    if (answer.reasoning.length > 0) parts.push({ text: answer.reasoning.join(''), thought: true });
    if (answer.text.length > 0) parts.push({ text: answer.text.join('') });
    parts.push(...calls);
    if (parts.length === 0 && plan.thoughtSignature !== undefined) parts.push({ text: '' });
    if (parts.length > 0) parts.push(lastPart(parts.pop() as Record<string, unknown>));
    return wholeScript(plan.status ?? 200, 'application/json; charset=UTF-8', JSON.stringify(response(parts, true)), plan);
  }
  // Without alt=sse the stream is one JSON array.
  const sse = request.query.alt === 'sse';
  const frame = (value: Record<string, unknown>): string => (sse ? `data: ${JSON.stringify(value)}\r\n\r\n` : `${JSON.stringify(value)},\n`);
  const events: StreamEvent[] = [
    ...answer.reasoning.map((text) => ({ text: frame(response([{ text, thought: true }], false)), content: true })),
    ...answer.text.map((text) => ({ text: frame(response([{ text }], false)), content: true })),
  ];
  if (calls.length > 0) events.push({ text: frame(response(calls, false)), content: true });
  const last = JSON.stringify(response([lastPart({ text: '' })], true));
  const tail = sse ? `data: ${last}\r\n\r\n` : `${last}\n]`;
  return streamScript(
    plan,
    sse ? 'text/event-stream' : 'application/json; charset=UTF-8',
    { head: sse ? '' : '[', ...groupEvents(events, tail) },
    {
      malformed: sse ? 'data: {"candidates":[{"content":\r\n\r\n' : '{"candidates":[{"content":',
      errorEvent: `data: ${errorJson(503, 'UNAVAILABLE', plan.errorMessage ?? 'The model is overloaded. Please try again later.')}\r\n\r\n`,
    },
  );
}

export const geminiModule: NativeProtocolModule = {
  chatRoute: (method, path) => {
    const match = METHOD.exec(path);
    if (match === null) return undefined;
    if (method !== 'POST') return 'wrong-method';
    const model = decodeURIComponent(match[1] as string);
    if (match[2] === 'generateContent') return { stream: false, model };
    return { stream: true, model };
  },
  // Google's documented list shape (GET /v1beta/models): embedding models generate no content.
  otherRoute: (method, path, models) =>
    method === 'GET' && path === '/v1beta/models'
      ? {
          models: models.map((name) => ({
            name: `models/${name}`,
            displayName: name,
            supportedGenerationMethods: /embedding/.test(name) ? ['embedContent', 'countTextTokens'] : ['generateContent', 'countTokens'],
          })),
        }
      : undefined,
  errors: (plan, request) => ({
    errorJson: (status, type, message) => errorJson(status, type, message ?? `Emulated error ${status}.`, plan.retryDelay),
    modelNotFound: () =>
      errorJson(
        404,
        'NOT_FOUND',
        `models/${request.model} is not found for API version v1beta, or is not supported for generateContent. Call ListModels to see the list of available models and their supported methods.`,
      ),
  }),
  answerContext: (request) => ({
    model: request.model,
    lastUserText: lastUserText(request.body),
    promptText: allText([request.body.systemInstruction, request.body.contents]),
    callIdPrefix: '',
  }),
  script,
  refuse: (_headers, body) => {
    if (!Array.isArray(body.contents) || body.contents.length === 0) return [400, '* GenerateContentRequest.contents: contents is not specified'];
    const unsigned = unsignedCall(body);
    return unsigned === undefined ? undefined : [400, unsigned];
  },
  errorBody: (status, message) => errorJson(status, undefined, message),
  hasKey: (headers, query, key) => headers['x-goog-api-key'] === key || query.key === key,
};
