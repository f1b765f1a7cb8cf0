/**
 * The choices of an answer as OpenAI's chat-completions wire format has them: each choice's
 * reasoning, content pieces, function calls and logprobs, the deltas they are streamed in and the
 * message they make whole. Pure functions of the plan and the request.
 */
import type { Plan, PlanToolCall } from './plan.js';
import { DEFAULT_CHUNK_COUNT, countWords, isRecord, splitText, type ChunkSet } from './replies.js';

/** Argument fragments per call when neither the call nor the plan says. */
export const DEFAULT_TOOL_CALL_CHUNK_COUNT = 3;

/** One function call of a choice, with the fragments its arguments are streamed in. */
export interface AnswerToolCall {
  id: string;
  name: string;
  arguments: string;
  fragments: readonly string[];
}

/** One entry of `logprobs.content`. */
export interface LogprobEntry {
  token: string;
  logprob: number;
  bytes: number[];
  top_logprobs: Array<{ token: string; logprob: number; bytes: number[] }>;
}

/** One choice of an answer. */
export interface AnswerChoice {
  index: number;
  reasoning: readonly string[];
  /** The content pieces (one per content delta). */
  content: readonly string[];
  toolCalls: readonly AnswerToolCall[];
  finishReason: string;
  /** One entry per content piece, when logprobs are sent. */
  logprobs: readonly LogprobEntry[] | undefined;
}

/** One streamed delta of a choice, as JSON text. */
export interface DeltaEvent {
  choice: number;
  /** The `delta` object's JSON (never `{}`). */
  delta: string;
  /** The `logprobs` object's JSON, when the delta carries any. */
  logprobs?: string;
  /** `JSON.stringify` of the content of a plain content delta (the fast path). */
  encoded?: string;
}

/** The number of choices a plan gives for a request: the plan's, else the request's `n`. */
export function choiceCountOf(plan: Plan, body: unknown): number {
  if (plan.choiceCount !== undefined) return Math.max(1, Math.floor(plan.choiceCount));
  const n = isRecord(body) ? body.n : undefined;
  return typeof n === 'number' && Number.isInteger(n) && n > 1 ? n : 1;
}

/** Whether logprobs are sent: the plan's word, else the request's `"logprobs": true`. */
export function logprobsWanted(plan: Plan, body: unknown): boolean {
  return plan.logprobs ?? (isRecord(body) && body.logprobs === true);
}

/** Whether the answer is one plain text choice (the common case, written by the fast path). */
export function isPlainAnswer(plan: Plan, body: unknown): boolean {
  return (
    (plan.toolCalls === undefined || plan.toolCalls.length === 0) &&
    (plan.reasoning === undefined || plan.reasoning === '') &&
    choiceCountOf(plan, body) === 1 &&
    plan.choiceTexts === undefined &&
    !logprobsWanted(plan, body)
  );
}

/**
 * The choices of the answer. `chunks` is the reply of the first choice; `callIdBase` prefixes
 * the default tool-call ids (`call_emu-3` gives `call_emu-3_0`, `call_emu-3_1`...).
 */
export function answerChoices(plan: Plan, body: unknown, chunks: ChunkSet, callIdBase: string): AnswerChoice[] {
  const calls = plan.toolCalls ?? [];
  // With tool calls, text only when the plan gives it.
  const ownText = calls.length === 0 || plan.text !== undefined || plan.chunks !== undefined;
  const firstPieces = ownText ? chunks.pieces : [];
  const firstText = ownText ? chunks.text : '';
  const pieceCount = plan.chunkCount ?? DEFAULT_CHUNK_COUNT;
  const reasoning = plan.reasoning === undefined ? [] : splitText(plan.reasoning, pieceCount);
  const top = topLogprobs(body);
  const withLogprobs = logprobsWanted(plan, body);
  const finishReason = plan.finishReason ?? (calls.length > 0 ? 'tool_calls' : 'stop');
  const choices: AnswerChoice[] = [];
  for (let index = 0; index < choiceCountOf(plan, body); index += 1) {
    const given = plan.choiceTexts?.[index];
    const content =
      given !== undefined
        ? splitText(given, pieceCount)
        : index === 0
          ? firstPieces
          : firstText === ''
            ? []
            : splitText(`${firstText} (choice ${index})`, pieceCount);
    choices.push({
      index,
      reasoning,
      content,
      toolCalls: calls.map((call, position) => answerToolCall(plan, call, call.id ?? defaultCallId(callIdBase, index, position))),
      finishReason,
      logprobs: withLogprobs ? content.map((token, position) => logprobEntry(token, position, top)) : undefined,
    });
  }
  return choices;
}

/** Words of everything the choices say (the emulators' deterministic completion "tokens"). */
export function completionWords(choices: readonly AnswerChoice[]): number {
  let count = 0;
  for (const choice of choices) {
    count += countWords(choice.reasoning.join('')) + countWords(choice.content.join(''));
    for (const call of choice.toolCalls) count += countWords(`${call.name} ${call.arguments}`);
  }
  return count;
}

/** The deltas of every choice, interleaved: each choice's first delta, then each one's second... */
export function streamEvents(plan: Plan, choices: readonly AnswerChoice[]): DeltaEvent[] {
  const lists = choices.map((choice) => choiceEvents(plan, choice));
  return roundRobin(lists);
}

/** OpenAI's `choices[i]` of a whole `chat.completion`. */
export function choiceJson(choice: AnswerChoice, plan: Plan): Record<string, unknown> {
  const text = choice.content.join('');
  const message: Record<string, unknown> = { role: 'assistant', content: text === '' && choice.toolCalls.length > 0 ? null : text };
  if (choice.reasoning.length > 0) message[plan.reasoningField ?? 'reasoning_content'] = choice.reasoning.join('');
  if (choice.toolCalls.length > 0) {
    message.tool_calls = choice.toolCalls.map((call) => ({ id: call.id, type: 'function', function: { name: call.name, arguments: call.arguments } }));
  }
  const json: Record<string, unknown> = { index: choice.index, message };
  if (choice.logprobs !== undefined) json.logprobs = { content: choice.logprobs, refusal: null };
  json.finish_reason = choice.finishReason;
  return json;
}

function choiceEvents(plan: Plan, choice: AnswerChoice): DeltaEvent[] {
  const events: DeltaEvent[] = [];
  const field = plan.reasoningField ?? 'reasoning_content';
  for (const piece of choice.reasoning) events.push({ choice: choice.index, delta: `{${JSON.stringify(field)}:${JSON.stringify(piece)}}` });
  choice.content.forEach((piece, position) => {
    const encoded = JSON.stringify(piece);
    const entry = choice.logprobs?.[position];
    events.push(
      entry === undefined
        ? { choice: choice.index, delta: `{"content":${encoded}}`, encoded }
        : { choice: choice.index, delta: `{"content":${encoded}}`, logprobs: JSON.stringify({ content: [entry], refusal: null }) },
    );
  });
  for (const delta of toolCallDeltas(plan, choice.toolCalls)) events.push({ choice: choice.index, delta: JSON.stringify({ tool_calls: delta }) });
  return events;
}

/** The `delta.tool_calls` lists of a choice's calls, in the order they are sent. */
function toolCallDeltas(plan: Plan, calls: readonly AnswerToolCall[]): unknown[][] {
  if (calls.length === 0) return [];
  const whole = (call: AnswerToolCall, index: number): Record<string, unknown> => ({
    index,
    id: call.id,
    type: 'function',
    function: { name: call.name, arguments: call.arguments },
  });
  const style = plan.toolCallStyle ?? 'fragments';
  if (style === 'together') return [calls.map(whole)];
  if (style === 'whole') return calls.map((call, index) => [whole(call, index)]);
  const continuation = plan.toolCallContinuation ?? 'arguments';
  const perCall = calls.map((call, index) => {
    const deltas: unknown[][] = [[{ index, id: call.id, type: 'function', function: { name: call.name, arguments: '' } }]];
    for (const fragment of call.fragments) {
      if (continuation === 'index-only') deltas.push([{ index }]);
      deltas.push([
        continuation === 'repeat'
          ? { index, id: call.id, type: 'function', function: { name: call.name, arguments: fragment } }
          : { index, function: { arguments: fragment } },
      ]);
    }
    return deltas;
  });
  return plan.interleaveToolCalls === true ? roundRobin(perCall) : perCall.flat();
}

function answerToolCall(plan: Plan, call: PlanToolCall, id: string): AnswerToolCall {
  const text = typeof call.arguments === 'string' ? call.arguments : JSON.stringify(call.arguments);
  const fragments = call.cuts !== undefined ? cutAt(text, call.cuts) : splitText(text, plan.toolCallChunkCount ?? DEFAULT_TOOL_CALL_CHUNK_COUNT);
  return { id, name: call.name, arguments: text, fragments };
}

function defaultCallId(base: string, choice: number, position: number): string {
  return choice === 0 ? `${base}_${position}` : `${base}_c${choice}_${position}`;
}

/** `text` cut at string offsets (a cut inside a surrogate pair moves one on); empty pieces are dropped. */
function cutAt(text: string, offsets: readonly number[]): string[] {
  const cuts = new Set<number>();
  for (const offset of offsets) {
    let at = Math.floor(offset);
    const code = text.charCodeAt(at);
    if (at > 0 && code >= 0xdc00 && code <= 0xdfff) at += 1;
    if (at > 0 && at < text.length) cuts.add(at);
  }
  const pieces: string[] = [];
  let start = 0;
  for (const cut of [...cuts].sort((a, b) => a - b)) {
    pieces.push(text.slice(start, cut));
    start = cut;
  }
  if (start < text.length) pieces.push(text.slice(start));
  return pieces;
}

function topLogprobs(body: unknown): number {
  const top = isRecord(body) ? body.top_logprobs : undefined;
  return typeof top === 'number' && Number.isInteger(top) && top > 0 ? Math.min(top, 20) : 0;
}

/** A deterministic entry: exact binary fractions, so the numbers survive any JSON round trip. */
function logprobEntry(token: string, position: number, top: number): LogprobEntry {
  const logprob = -0.125 * ((position % 8) + 1);
  const bytes = [...Buffer.from(token, 'utf8')];
  const alternatives: LogprobEntry['top_logprobs'] = [];
  for (let rank = 0; rank < top; rank += 1) {
    const alternative = rank === 0 ? token : `${token}~${rank}`;
    alternatives.push({ token: alternative, logprob: logprob - rank, bytes: [...Buffer.from(alternative, 'utf8')] });
  }
  return { token, logprob, bytes, top_logprobs: alternatives };
}

function roundRobin<T>(lists: readonly (readonly T[])[]): T[] {
  const out: T[] = [];
  const longest = lists.reduce((most, list) => Math.max(most, list.length), 0);
  for (let step = 0; step < longest; step += 1) {
    for (const list of lists) {
      const item = list[step];
      if (item !== undefined) out.push(item);
    }
  }
  return out;
}
