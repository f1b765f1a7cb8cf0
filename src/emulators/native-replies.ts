/**
 * What the native emulators answer, before any protocol's framing: the answer's content from a
 * plan and the request (reasoning, text pieces, tool calls with their streamed fragments, token
 * counts), and the script of a reply (status, headers, body pieces, how it ends) with the plan's
 * faults applied. The protocol modules only frame events: `nativeScript` asks a module for its
 * error bodies and what the request's answer is made from, and hands it the answer to frame.
 */
import type { NativePlan } from './native-plan.js';
import { countWords, splitText } from './replies.js';

export const NATIVE_CHUNK_COUNT = 3;

export interface NativeCall {
  id: string;
  name: string;
  arguments: string;
  /** The arguments text cut at the plan's cuts (one piece when none). */
  fragments: string[];
}

export interface NativeAnswer {
  model: string;
  reasoning: string[];
  text: string[];
  calls: NativeCall[];
  usage: { input: number; output: number } | undefined;
}

export interface AnswerContext {
  /** The model the request named. */
  model: string;
  /** The text of the last user message (what an answer echoes). */
  lastUserText: string;
  /** All the prompt's text, for the default token counts. */
  promptText: string;
  /** Ids of calls the plan gives none for (`toolu_emu_0`…). */
  callIdPrefix: string;
}

function cut(text: string, cuts: readonly number[] | undefined): string[] {
  if (cuts === undefined || cuts.length === 0) return [text];
  const pieces: string[] = [];
  let start = 0;
  for (const at of [...new Set(cuts)].filter((position) => position > 0 && position < text.length).sort((a, b) => a - b)) {
    pieces.push(text.slice(start, at));
    start = at;
  }
  pieces.push(text.slice(start));
  return pieces;
}

export function answerOf(plan: NativePlan, context: AnswerContext): NativeAnswer {
  const calls = (plan.toolCalls ?? []).map((call, index) => ({
    id: call.id ?? `${context.callIdPrefix}${index}`,
    name: call.name,
    arguments: call.arguments,
    fragments: cut(call.arguments, call.cuts),
  }));
  const reasoning = [...(plan.reasoning ?? [])];
  const text =
    plan.chunks !== undefined
      ? [...plan.chunks]
      : plan.text !== undefined
        ? splitText(plan.text, plan.chunkCount ?? NATIVE_CHUNK_COUNT)
        : calls.length > 0
          ? []
          : splitText(`Echo: ${context.lastUserText}`, plan.chunkCount ?? NATIVE_CHUNK_COUNT);
  const output = countWords([...reasoning, ...text, ...calls.map((call) => call.arguments)].join(' '));
  const usage = plan.usage === false ? undefined : (plan.usage ?? { input: countWords(context.promptText), output });
  return { model: plan.model ?? context.model, reasoning, text, calls, usage };
}

/** How a scripted reply ends once its pieces are written. */
export type NativeEnding = 'end' | 'disconnect' | 'stall';

/** What to write for one request. */
export interface NativeScript {
  status: number;
  headers: Record<string, string>;
  /** Written right after the headers. */
  head: string;
  /** One piece per content event; delays go between them. */
  units: string[];
  /** Written after the last unit. */
  tail: string;
  ending: NativeEnding;
}

export function baseHeaders(plan: NativePlan): Record<string, string> {
  const headers: Record<string, string> = {};
  if (plan.retryAfter !== undefined) headers['retry-after'] = String(plan.retryAfter);
  if (plan.headers !== undefined) for (const [name, value] of Object.entries(plan.headers)) headers[name.toLowerCase()] = value;
  return headers;
}

/** A whole body with a content-length. */
export function wholeScript(status: number, contentType: string, body: string, plan: NativePlan): NativeScript {
  const headers = baseHeaders(plan);
  headers['content-type'] = plan.contentType ?? contentType;
  const half = body.slice(0, Math.floor(body.length / 2));
  if (plan.stallAfterChunks !== undefined) return { status, headers, head: '', units: [], tail: '', ending: 'stall' };
  headers['content-length'] = String(Buffer.byteLength(plan.malformedAfterChunks === undefined ? body : half));
  if (plan.disconnectAfterChunks !== undefined) return { status, headers, head: '', units: [half], tail: '', ending: 'disconnect' };
  if (plan.malformedAfterChunks !== undefined) return { status, headers, head: '', units: [half], tail: '', ending: 'end' };
  return { status, headers, head: '', units: [body], tail: '', ending: 'end' };
}

/** An error reply: the plan's headers (Retry-After…), no faults. */
export function errorScript(status: number, contentType: string, body: string, plan: NativePlan): NativeScript {
  const headers = baseHeaders(plan);
  headers['content-type'] = plan.contentType ?? contentType;
  headers['content-length'] = String(Buffer.byteLength(body));
  return { status, headers, head: '', units: [body], tail: '', ending: 'end' };
}

/** A protocol's error bodies: for a status (with the plan's error type and message, if any), and for model-not-found. */
export interface ProtocolErrors {
  errorJson(status: number, type: string | undefined, message: string | undefined): string;
  modelNotFound(): string;
}

/**
 * The plan's error reply, if it asks for one: model-not-found (404), a raw error body, or a
 * status >= 400 with the protocol's error body.
 */
function planErrorScript(plan: NativePlan, protocol: ProtocolErrors): NativeScript | undefined {
  if (plan.modelNotFound === true) return errorScript(404, 'application/json', protocol.modelNotFound(), plan);
  if (plan.errorBody !== undefined) return errorScript(plan.status ?? 500, 'text/plain; charset=utf-8', plan.errorBody, plan);
  if (plan.status !== undefined && plan.status >= 400)
    return errorScript(plan.status, 'application/json', protocol.errorJson(plan.status, plan.errorType, plan.errorMessage), plan);
  return undefined;
}

/** The protocol's broken pieces, for the plan's faults. */
export interface BrokenPieces {
  /** A broken event or line (invalid JSON). */
  malformed: string;
  /** The protocol's in-stream error. */
  errorEvent: string;
}

/** A streamed body, with the plan's faults applied after its content events. */
export function streamScript(plan: NativePlan, contentType: string, body: { head: string; units: string[]; tail: string }, broken: BrokenPieces): NativeScript {
  const headers = baseHeaders(plan);
  headers['content-type'] = plan.contentType ?? contentType;
  headers['cache-control'] = 'no-cache';
  const script: NativeScript = { status: plan.status ?? 200, headers, head: body.head, units: body.units, tail: body.tail, ending: 'end' };
  const keep = (count: number): string[] => body.units.slice(0, Math.max(0, count));
  if (plan.disconnectAfterChunks !== undefined) return { ...script, units: keep(plan.disconnectAfterChunks), tail: '', ending: 'disconnect' };
  if (plan.stallAfterChunks !== undefined) return { ...script, units: keep(plan.stallAfterChunks), tail: '', ending: 'stall' };
  if (plan.malformedAfterChunks !== undefined) return { ...script, units: keep(plan.malformedAfterChunks), tail: broken.malformed };
  if (plan.errorEventAfterChunks !== undefined) return { ...script, units: keep(plan.errorEventAfterChunks), tail: broken.errorEvent };
  if (plan.truncateAfterChunks !== undefined) return { ...script, units: keep(plan.truncateAfterChunks), tail: '' };
  return script;
}

/** The text of a value made of strings, arrays and objects: every string's words, for token counts. */
export function allText(value: unknown): string {
  if (typeof value === 'string') return value;
  if (Array.isArray(value)) return value.map(allText).join(' ');
  if (typeof value === 'object' && value !== null) return Object.values(value).map(allText).join(' ');
  return '';
}

/** One event of a stream: content events (text, reasoning, a call's fragment) are what fault counts count. */
export interface StreamEvent {
  text: string;
  content: boolean;
}

/** Events as units: each content event with the other events before it; the rest after the last one go to the tail. */
export function groupEvents(events: readonly StreamEvent[], tail: string): { units: string[]; tail: string } {
  const units: string[] = [];
  let pending = '';
  for (const event of events) {
    pending += event.text;
    if (event.content) {
      units.push(pending);
      pending = '';
    }
  }
  return { units, tail: pending + tail };
}

/** What every protocol module of the native emulator provides. */
export interface NativeProtocolModule {
  /** Where chat requests go: whether they stream (fixed by the path, or read from the body) and their model. */
  chatRoute(
    method: string,
    path: string,
    query: Readonly<Record<string, string>>,
  ): { stream: boolean | ((body: Record<string, unknown>) => boolean); model?: string } | 'wrong-method' | undefined;
  /** Other routes (model lists), answered as JSON. */
  otherRoute?(method: string, path: string, models: readonly string[]): unknown;
  /** The protocol's error bodies for the plan's error replies. */
  errors(plan: NativePlan, request: ChatContext): ProtocolErrors;
  /** What the request's answer is made from: its model, its last user text, all its prompt's text, the prefix of call ids. */
  answerContext(request: ChatContext): AnswerContext;
  /** The answer framed as the protocol sends it, whole or streamed. */
  script(plan: NativePlan, request: ChatContext, answer: NativeAnswer): NativeScript;
  /** The protocol's error body for a status. */
  errorBody(status: number, message: string): string;
  /** What the upstream refuses before answering (a missing required header or field): status and message. */
  refuse?(headers: Readonly<Record<string, string>>, body: Record<string, unknown>): [number, string] | undefined;
  /** Whether the request carries `key` where the protocol sends it. */
  hasKey(headers: Readonly<Record<string, string>>, query: Readonly<Record<string, string>>, key: string): boolean;
}

export interface ChatContext {
  body: Record<string, unknown>;
  stream: boolean;
  /** The model from the path (Gemini) or the body. */
  model: string;
  /** The request's query parameters. */
  query: Readonly<Record<string, string>>;
  /** The request's ordinal among chat requests. */
  index: number;
  receivedAt: number;
}

/** The reply to a chat request: the plan's error reply, else the answer the plan and the request make, framed by the module. */
export function nativeScript(module: NativeProtocolModule, plan: NativePlan, request: ChatContext): NativeScript {
  return planErrorScript(plan, module.errors(plan, request)) ?? module.script(plan, request, answerOf(plan, module.answerContext(request)));
}
