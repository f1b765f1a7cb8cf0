/** The Responses API's objects: output items, usage, and the response object itself, in OpenAI's shapes. */
import { randomBytes } from 'node:crypto';
import type { FinishReason, ToolCall, Usage } from '../../core/spec.js';
import type { RequestEcho } from './request.js';

export interface OutputText {
  type: 'output_text';
  text: string;
  annotations: never[];
  logprobs: never[];
}

export type ItemStatus = 'in_progress' | 'completed' | 'incomplete';

export interface MessageItem {
  id: string;
  type: 'message';
  status: ItemStatus;
  role: 'assistant';
  content: OutputText[];
}

export interface FunctionCallItem {
  id: string;
  type: 'function_call';
  status: ItemStatus;
  arguments: string;
  call_id: string;
  name: string;
}

export interface ReasoningItem {
  id: string;
  type: 'reasoning';
  summary: Array<{ type: 'summary_text'; text: string }>;
}

export type OutputItem = MessageItem | FunctionCallItem | ReasoningItem;

export type ResponseStatus = 'in_progress' | 'completed' | 'incomplete' | 'failed';

/** An id with OpenAI's prefix (`resp`, `msg`, `fc`, `rs`, `call`) and 24 random bytes. */
export function newId(prefix: string): string {
  return `${prefix}_${randomBytes(24).toString('hex')}`;
}

/**
 * The ids of a response's output items: `msg_`, `fc_` or `rs_`, then the response's own random
 * part and the item's number. An `item_reference` to one is found again from its id alone, in
 * the stored response it names (see {@link responseOfItem}).
 */
export function itemIdsOf(responseId: string): (prefix: 'msg' | 'fc' | 'rs') => string {
  const own = responseId.slice(responseId.indexOf('_') + 1);
  let count = 0;
  return (prefix) => `${prefix}_${own}_${count++}`;
}

/** The id of the response an output item id belongs to (see {@link itemIdsOf}), or undefined. */
export function responseOfItem(itemId: string): string | undefined {
  const match = /^(?:msg|fc|rs)_([0-9a-f]{48})_\d{1,6}$/.exec(itemId);
  return match === null ? undefined : `resp_${match[1]}`;
}

export function outputText(text: string): OutputText {
  return { type: 'output_text', text, annotations: [], logprobs: [] };
}

export function messageItem(text: string, status: ItemStatus, id = newId('msg')): MessageItem {
  return { id, type: 'message', status, role: 'assistant', content: [outputText(text)] };
}

export function functionCallItem(call: ToolCall, status: ItemStatus, id = newId('fc')): FunctionCallItem {
  return { id, type: 'function_call', status, arguments: call.arguments, call_id: call.id || newId('call'), name: call.name };
}

export function reasoningItem(text: string, id = newId('rs')): ReasoningItem {
  return { id, type: 'reasoning', summary: [{ type: 'summary_text', text }] };
}

/** The items of a whole answer: its reasoning, its text, then its calls. */
export function outputItems(
  answer: { text: string; reasoning?: string | undefined; toolCalls?: readonly ToolCall[] | undefined },
  status: ItemStatus,
  itemId: (prefix: 'msg' | 'fc' | 'rs') => string = newId,
): OutputItem[] {
  const items: OutputItem[] = [];
  if (answer.reasoning !== undefined && answer.reasoning !== '') items.push(reasoningItem(answer.reasoning, itemId('rs')));
  const calls = answer.toolCalls ?? [];
  if (answer.text !== '' || calls.length === 0) items.push(messageItem(answer.text, status, itemId('msg')));
  for (const call of calls) items.push(functionCallItem(call, status, itemId('fc')));
  return items;
}

/** How a response ends, by the finish reason of its answer. */
export function endOf(reason: FinishReason): { status: 'completed' | 'incomplete'; incompleteDetails: { reason: string } | null } {
  if (reason === 'length') return { status: 'incomplete', incompleteDetails: { reason: 'max_output_tokens' } };
  if (reason === 'content_filter') return { status: 'incomplete', incompleteDetails: { reason: 'content_filter' } };
  return { status: 'completed', incompleteDetails: null };
}

export function wireUsage(usage: Usage): Record<string, unknown> {
  return {
    input_tokens: usage.promptTokens,
    input_tokens_details: { cached_tokens: 0 },
    output_tokens: usage.completionTokens,
    output_tokens_details: { reasoning_tokens: 0 },
    total_tokens: usage.totalTokens,
  };
}

/** What the answer's usage counts when the upstream gave none: text, reasoning and calls. */
export function countedText(items: readonly OutputItem[]): string {
  let text = '';
  for (const item of items) {
    if (item.type === 'message') for (const part of item.content) text += part.text;
    else if (item.type === 'reasoning') for (const part of item.summary) text += part.text;
    else text += item.name + item.arguments;
  }
  return text;
}

export interface ResponseState {
  id: string;
  /** Unix seconds. */
  createdAt: number;
  model: string;
  status: ResponseStatus;
  output: OutputItem[];
  usage?: Usage | undefined;
  error?: { code: string; message: string } | null;
  incompleteDetails?: { reason: string } | null;
}

/** The response object, every field the SDKs read, in OpenAI's order. */
export function responseObject(state: ResponseState, echo: RequestEcho): Record<string, unknown> {
  const done = state.status !== 'in_progress';
  return {
    id: state.id,
    object: 'response',
    created_at: state.createdAt,
    status: state.status,
    background: false,
    completed_at: state.status === 'completed' ? Math.floor(Date.now() / 1000) : null,
    error: state.error ?? null,
    incomplete_details: state.incompleteDetails ?? null,
    instructions: echo.instructions,
    max_output_tokens: echo.max_output_tokens,
    max_tool_calls: null,
    model: state.model,
    output: state.output,
    parallel_tool_calls: echo.parallel_tool_calls,
    previous_response_id: echo.previous_response_id,
    reasoning: echo.reasoning,
    service_tier: 'default',
    store: echo.store,
    temperature: echo.temperature,
    text: echo.text,
    tool_choice: echo.tool_choice,
    tools: echo.tools,
    top_logprobs: 0,
    top_p: echo.top_p,
    truncation: echo.truncation,
    usage: done && state.usage !== undefined ? wireUsage(state.usage) : null,
    user: echo.user,
    metadata: echo.metadata,
  };
}
