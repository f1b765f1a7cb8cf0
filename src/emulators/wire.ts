/**
 * The bytes of the emulators' answers, as a pure function of the plan and the request: a
 * {@link ResponseScript} says what to write (status, headers, body pieces) and how the answer
 * ends. `upstream.ts` only executes scripts.
 */
import { answerChoices, choiceJson, completionWords, isPlainAnswer, streamEvents, type AnswerChoice, type DeltaEvent } from './choices.js';
import type { EmulatorProtocol, Plan } from './plan.js';
import { countPromptWords, countWords, isRecord, replyChunks, requestedModel } from './replies.js';

/** How a scripted answer ends once its pieces are written. */
export type ScriptEnding = { kind: 'end' } | { kind: 'disconnect' } | { kind: 'stall'; keepAliveIntervalMs?: number; keepAliveFrame: string };

/** What to write for one request. */
export interface ResponseScript {
  status: number;
  headers: Record<string, string>;
  /** Written right after the headers (role chunk, noise). */
  head: string;
  /** One element per content chunk (with its keep-alive/noise prefix), delays go between them. */
  units: string[];
  /** Written after the last unit (finish chunk, usage chunk, `[DONE]`; or a broken event). */
  tail: string;
  ending: ScriptEnding;
}

/** What a script needs to know about the request. */
export interface ScriptContext {
  protocol: EmulatorProtocol;
  body: unknown;
  /** `chatcmpl-…` id of the answer. */
  id: string;
  /** Unix seconds. */
  created: number;
}

const SSE_TYPE = 'text/event-stream; charset=utf-8';
const JSON_TYPE = 'application/json';

/** Turn a plan into the script of the answer of a chat request. */
export function scriptResponse(plan: Plan, context: ScriptContext): ResponseScript {
  const eol = plan.crlf === true ? '\r\n' : '\n';
  const model = plan.model ?? requestedModel(context.body);
  const headers = baseHeaders(plan);

  if (plan.modelNotFound !== undefined) {
    const framing = plan.modelNotFound === true ? 'data' : plan.modelNotFound;
    const error = {
      message: `The model: \`${requestedModel(context.body)}\` does not exist`,
      type: 'invalid_request_error',
      param: null,
      code: 'model_not_found',
    };
    if (framing === 'json') return errorScript(404, JSON.stringify({ error }), JSON_TYPE, headers, plan);
    const body = framing === 'line' ? `${error.message}${eol}` : `data: ${JSON.stringify({ error })}${eol}${eol}`;
    return simpleScript(200, body, SSE_TYPE, headers, plan, true);
  }
  if (plan.errorBody !== undefined) {
    return errorScript(plan.status ?? 500, plan.errorBody, 'text/plain; charset=utf-8', headers, plan);
  }
  if (plan.status !== undefined && plan.status >= 400) {
    const body = JSON.stringify({ error: openAiError(plan.status, plan.errorMessage) });
    return errorScript(plan.status, body, JSON_TYPE, headers, plan);
  }

  const status = plan.status ?? 200;
  const chunks = replyChunks(plan, context.body);
  const plain = isPlainAnswer(plan, context.body);
  // Several choices, reasoning, tool calls or logprobs: every choice spelled out.
  const answer = plain ? undefined : answerChoices(plan, context.body, chunks, context.id.replace(/^chatcmpl-/, 'call_'));
  const usage =
    plan.usage === false
      ? undefined
      : (() => {
          const promptTokens = countPromptWords(context.body);
          const completionTokens = answer === undefined ? countWords(chunks.text) : completionWords(answer);
          return { prompt_tokens: promptTokens, completion_tokens: completionTokens, total_tokens: promptTokens + completionTokens };
        })();
  const wantsStream = context.protocol === 'lockchat' || (isRecord(context.body) && context.body.stream === true);

  if (plan.invalidJson === true || plan.forceJson === true || !wantsStream) {
    const full = JSON.stringify(completionJson(plan, context, model, answer ?? chunks.text, usage));
    const body = plan.invalidJson === true || plan.malformedAfterChunks !== undefined ? full.slice(0, Math.floor(full.length / 2)) : full;
    headers['content-type'] = plan.contentType ?? JSON_TYPE;
    headers['content-length'] = String(Buffer.byteLength(plan.disconnectAfterChunks !== undefined ? full : body));
    if (plan.stallAfterChunks !== undefined) {
      delete headers['content-length'];
      return { status, headers, head: '', units: [], tail: '', ending: stallEnding(plan, eol, false) };
    }
    if (plan.disconnectAfterChunks !== undefined) {
      return { status, headers, head: '', units: [full.slice(0, Math.floor(full.length / 2))], tail: '', ending: { kind: 'disconnect' } };
    }
    return { status, headers, head: '', units: [body], tail: '', ending: { kind: 'end' } };
  }

  // ---- a stream of chat.completion.chunk events ----
  headers['content-type'] = plan.contentType ?? SSE_TYPE;
  headers['cache-control'] = 'no-cache';
  headers['transfer-encoding'] = 'chunked';
  const noise = plan.noise === true;
  const noiseBlock = `: content-type note from the emulator${eol}event: ping${eol}${eol}retry: 1000${eol}${eol}`;
  const keepAliveFrame = `: keep-alive${eol}${eol}`;
  let eventId = 0;
  const event = (data: string): string => `${noise ? `id: ${(eventId += 1)}${eol}` : ''}data: ${data}${eol}${eol}`;

  const prefix = `{"id":${JSON.stringify(context.id)},"object":"chat.completion.chunk","created":${context.created},"model":${JSON.stringify(model)}`;
  const choices = (delta: string, finish: string, index = 0, logprobs?: string): string =>
    plan.emptyChoices === true
      ? ',"choices":[]'
      : plan.missingChoices === true
        ? ''
        : `,"choices":[{"index":${index},"delta":${delta},${logprobs === undefined ? '' : `"logprobs":${logprobs},`}"finish_reason":${finish}}]`;
  const merged = plan.roleInFirstChunk === true;
  const choiceCount = answer?.length ?? 1;

  let head = noise ? noiseBlock : '';
  if (!merged) {
    for (let index = 0; index < choiceCount; index += 1) head += event(`${prefix}${choices('{"role":"assistant","content":""}', 'null', index)}}`);
  }

  const units: string[] = [];
  const simpleBefore = `data: ${prefix},"choices":[{"index":0,"delta":{"content":`;
  const simpleAfter = `},"finish_reason":null}]}${eol}${eol}`;
  const simple = !noise && plan.emptyChoices !== true && plan.missingChoices !== true;
  const deltas: readonly DeltaEvent[] = answer === undefined ? plainEvents(chunks.encoded) : streamEvents(plan, answer);
  const roleSent = new Set<number>();
  for (let position = 0; position < deltas.length; position += 1) {
    const delta = deltas[position] as DeltaEvent;
    let unit = '';
    if (position > 0 && plan.keepAlive === true) unit += keepAliveFrame;
    if (position > 0 && noise) unit += noiseBlock;
    if (merged && !roleSent.has(delta.choice)) {
      roleSent.add(delta.choice);
      unit += event(`${prefix}${choices(`{"role":"assistant",${delta.delta.slice(1)}`, 'null', delta.choice, delta.logprobs)}}`);
    } else if (simple && delta.encoded !== undefined && delta.choice === 0) {
      unit += simpleBefore + delta.encoded + simpleAfter;
    } else {
      unit += event(`${prefix}${choices(delta.delta, 'null', delta.choice, delta.logprobs)}}`);
    }
    units.push(unit);
  }

  if (plan.errorEventAfterChunks !== undefined) {
    const error = { message: plan.errorMessage ?? 'The server had an error while processing your request.', type: 'server_error', param: null, code: null };
    return {
      status,
      headers,
      head,
      units: units.slice(0, Math.max(0, plan.errorEventAfterChunks)),
      tail: event(JSON.stringify({ error })),
      ending: { kind: 'end' },
    };
  }
  const cut = firstDefined(plan.disconnectAfterChunks, plan.stallAfterChunks, plan.malformedAfterChunks);
  if (cut !== undefined) {
    const kept = units.slice(0, Math.max(0, cut));
    if (plan.malformedAfterChunks !== undefined && plan.disconnectAfterChunks === undefined && plan.stallAfterChunks === undefined) {
      return { status, headers, head, units: kept, tail: `data: {"choices":[{"delta":${eol}${eol}`, ending: { kind: 'end' } };
    }
    const ending: ScriptEnding = plan.disconnectAfterChunks !== undefined ? { kind: 'disconnect' } : stallEnding(plan, eol, true);
    return { status, headers, head, units: kept, tail: '', ending };
  }

  let tail = '';
  for (let index = 0; index < choiceCount; index += 1) {
    const reason = answer?.[index]?.finishReason ?? plan.finishReason ?? 'stop';
    tail += event(`${prefix}${choices('{}', JSON.stringify(reason), index)}}`);
  }
  const includeUsage =
    context.protocol === 'openai' && isRecord(context.body) && isRecord(context.body.stream_options) && context.body.stream_options.include_usage === true;
  if (includeUsage && usage !== undefined) tail += event(`${prefix},"choices":[],"usage":${JSON.stringify(usage)}}`);
  tail += `data: [DONE]${eol}${eol}`;
  return { status, headers, head, units, tail, ending: { kind: 'end' } };
}

/** The plain content deltas of a one-choice text answer. */
function plainEvents(encoded: readonly string[]): DeltaEvent[] {
  return encoded.map((content) => ({ choice: 0, delta: `{"content":${content}}`, encoded: content }));
}

/** OpenAI's `chat.completion` object: one plain text choice, or every choice spelled out. */
function completionJson(
  plan: Plan,
  context: ScriptContext,
  model: string,
  answer: string | readonly AnswerChoice[],
  usage: Record<string, number> | undefined,
): Record<string, unknown> {
  const json: Record<string, unknown> = { id: context.id, object: 'chat.completion', created: context.created, model };
  if (plan.missingChoices !== true) {
    json.choices =
      plan.emptyChoices === true
        ? []
        : typeof answer === 'string'
          ? [{ index: 0, message: { role: 'assistant', content: answer }, finish_reason: plan.finishReason ?? 'stop' }]
          : answer.map((choice) => choiceJson(choice, plan));
  }
  if (usage !== undefined) json.usage = usage;
  return json;
}

/** The `{type, code, message}` OpenAI sends with an HTTP status. */
export function openAiError(status: number, message?: string): { message: string; type: string; param: null; code: string | null } {
  const shape = ((): { message: string; type: string; code: string | null } => {
    switch (status) {
      case 400:
        return { message: 'Invalid request.', type: 'invalid_request_error', code: null };
      case 401:
        return { message: 'Incorrect API key provided.', type: 'invalid_request_error', code: 'invalid_api_key' };
      case 403:
        return { message: 'You are not allowed to use this model.', type: 'permission_error', code: null };
      case 404:
        return { message: 'Not found.', type: 'invalid_request_error', code: 'not_found' };
      case 429:
        return { message: 'Rate limit reached for requests. Please try again later.', type: 'requests', code: 'rate_limit_exceeded' };
      case 500:
        return { message: 'The server had an error while processing your request. Sorry about that!', type: 'server_error', code: null };
      case 502:
        return { message: 'Bad gateway.', type: 'server_error', code: null };
      case 503:
        return { message: 'The engine is currently overloaded, please try again later.', type: 'server_error', code: null };
      case 504:
        return { message: 'Gateway timeout.', type: 'server_error', code: null };
      default:
        return { message: `Upstream error ${status}.`, type: status >= 500 ? 'server_error' : 'invalid_request_error', code: null };
    }
  })();
  return { message: message ?? shape.message, type: shape.type, param: null, code: shape.code };
}

function baseHeaders(plan: Plan): Record<string, string> {
  const headers: Record<string, string> = {};
  if (plan.retryAfter !== undefined) headers['retry-after'] = String(plan.retryAfter);
  if (plan.retryAfterMs !== undefined) headers['retry-after-ms'] = String(plan.retryAfterMs);
  if (plan.headers !== undefined) for (const [name, value] of Object.entries(plan.headers)) headers[name.toLowerCase()] = value;
  return headers;
}

function errorScript(status: number, body: string, type: string, headers: Record<string, string>, plan: Plan): ResponseScript {
  return simpleScript(status, body, type, headers, plan, false);
}

function simpleScript(status: number, body: string, type: string, headers: Record<string, string>, plan: Plan, stream: boolean): ResponseScript {
  headers['content-type'] = plan.contentType ?? type;
  if (stream) headers['transfer-encoding'] = 'chunked';
  else headers['content-length'] = String(Buffer.byteLength(body));
  return { status, headers, head: '', units: [body], tail: '', ending: { kind: 'end' } };
}

function stallEnding(plan: Plan, eol: string, stream: boolean): ScriptEnding {
  const keepAliveFrame = `: keep-alive${eol}${eol}`;
  return plan.keepAliveIntervalMs !== undefined && stream
    ? { kind: 'stall', keepAliveIntervalMs: plan.keepAliveIntervalMs, keepAliveFrame }
    : { kind: 'stall', keepAliveFrame };
}

function firstDefined(...values: (number | undefined)[]): number | undefined {
  for (const value of values) if (value !== undefined) return value;
  return undefined;
}
