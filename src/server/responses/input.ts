/**
 * The Responses API's `input` (a string, or a list of items) turned into the contract's
 * messages. Items of one assistant turn (reasoning, a message, function calls) become one
 * assistant message; `function_call_output` items become tool messages. Output items of a
 * response are valid input too: a client may send a response's `output` back as it came.
 */
import type { AssistantMessage, ChatMessage, ContentPart, ToolCall } from '../../core/spec.js';
import { contentParts, imagePart, invalid, isRecord, typeName } from '../openai-request.js';

export interface InputLimits {
  /** Largest decoded size of one data-URL image, bytes. */
  imageBytes: number;
}

/** A `function_call_output` whose call is not among the input items before it (it must be in the history). */
export interface UnmatchedOutput {
  callId: string;
  param: string;
}

export interface ParsedInput {
  messages: ChatMessage[];
  /** Every function call id of the input's items. */
  callIds: Set<string>;
  unmatched: UnmatchedOutput[];
  hasImages: boolean;
}

function quoted(value: unknown): string {
  return typeof value === 'string' ? `'${value}'` : typeName(value);
}

/** Text from a string or a list of text parts of the given types (joined with a line break). */
function textOf(content: unknown, param: string, types: readonly string[]): string {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) throw invalid(param, `expected a string or a list of ${types.join(' / ')} parts, got ${typeName(content)}`);
  const texts: string[] = [];
  content.forEach((part: unknown, index) => {
    const at = `${param}[${index}]`;
    if (!isRecord(part)) throw invalid(at, `expected a content part object, got ${typeName(part)}`);
    if (typeof part.type !== 'string' || !types.includes(part.type)) {
      throw invalid(`${at}.type`, `only ${types.join(' and ')} parts are allowed here (got ${quoted(part.type)})`);
    }
    const field = part.type === 'refusal' ? 'refusal' : 'text';
    const text = part[field];
    if (typeof text !== 'string') throw invalid(`${at}.${field}`, 'expected a string');
    texts.push(text);
  });
  return texts.join('\n');
}

function userContent(content: unknown, param: string, limits: InputLimits, found: { images: boolean }): string | ContentPart[] {
  return contentParts(content, param, (part, at) => {
    if (part.type === 'input_text') {
      if (typeof part.text !== 'string') throw invalid(`${at}.text`, 'expected a string');
      return { type: 'text', text: part.text };
    }
    if (part.type === 'input_image') {
      if (part.file_id !== undefined && part.file_id !== null)
        throw invalid(`${at}.file_id`, 'files are not supported by this server: give the image as image_url (https or a data URL)');
      return imagePart(part.image_url, `${at}.image_url`, part.detail, `${at}.detail`, limits.imageBytes, found);
    }
    throw invalid(`${at}.type`, `content parts of type ${quoted(part.type)} are not supported by this server (input_text and input_image are)`);
  });
}

/** The text of a reasoning item: its summary texts, else its reasoning_text content. */
function reasoningText(item: Record<string, unknown>, param: string): string {
  const texts: string[] = [];
  for (const field of ['summary', 'content'] as const) {
    const parts = item[field];
    if (parts === undefined || parts === null) continue;
    if (!Array.isArray(parts)) throw invalid(`${param}.${field}`, `expected a list, got ${typeName(parts)}`);
    parts.forEach((part: unknown, index) => {
      const text = isRecord(part) ? part.text : undefined;
      if (typeof text !== 'string') throw invalid(`${param}.${field}[${index}].text`, 'expected a string');
      texts.push(text);
    });
    if (texts.length > 0) break;
  }
  return texts.join('\n\n');
}

/** `input`, a string or a list of items, as messages. */
export function parseInput(input: unknown, limits: InputLimits): ParsedInput {
  const found = { images: false };
  if (typeof input === 'string') return { messages: [{ role: 'user', content: input }], callIds: new Set(), unmatched: [], hasImages: false };
  if (input === undefined || input === null) throw invalid('input', 'is required: a string or a list of input items');
  if (!Array.isArray(input)) throw invalid('input', `expected a string or a list of input items, got ${typeName(input)}`);
  if (input.length === 0) throw invalid('input', 'must contain at least one item');
  const messages: ChatMessage[] = [];
  const callIds = new Set<string>();
  const unmatched: UnmatchedOutput[] = [];
  // The assistant turn being put together from its items.
  let turn: AssistantMessage | undefined;
  const flush = (): void => {
    if (turn !== undefined) messages.push(turn);
    turn = undefined;
  };
  input.forEach((item: unknown, index) => {
    const at = `input[${index}]`;
    if (!isRecord(item)) throw invalid(at, `expected an input item object, got ${typeName(item)}`);
    const type = item.type ?? (item.role !== undefined ? 'message' : undefined);
    switch (type) {
      case 'message': {
        const role = item.role;
        if (role === 'assistant') {
          const text = textOf(item.content, `${at}.content`, ['output_text', 'refusal', 'input_text']);
          if (turn !== undefined && (turn.content !== null || turn.toolCalls !== undefined)) flush();
          turn ??= { role: 'assistant', content: null };
          turn.content = text;
          return;
        }
        flush();
        if (role === 'user') messages.push({ role: 'user', content: userContent(item.content, `${at}.content`, limits, found) });
        else if (role === 'system' || role === 'developer') messages.push({ role, content: textOf(item.content, `${at}.content`, ['input_text']) });
        else throw invalid(`${at}.role`, `expected one of user, system, developer, assistant (got ${quoted(role)})`);
        return;
      }
      case 'function_call': {
        const callId = item.call_id;
        if (typeof callId !== 'string' || callId === '') throw invalid(`${at}.call_id`, 'is required');
        if (typeof item.name !== 'string' || item.name === '') throw invalid(`${at}.name`, 'is required');
        if (typeof item.arguments !== 'string') throw invalid(`${at}.arguments`, 'expected the arguments as a JSON string');
        const call: ToolCall = { id: callId, name: item.name, arguments: item.arguments };
        callIds.add(callId);
        turn ??= { role: 'assistant', content: null };
        (turn.toolCalls ??= []).push(call);
        return;
      }
      case 'function_call_output': {
        const callId = item.call_id;
        if (typeof callId !== 'string' || callId === '') throw invalid(`${at}.call_id`, 'is required: the call_id of the function call this output answers');
        const output = textOf(item.output, `${at}.output`, ['input_text']);
        flush();
        if (!callIds.has(callId)) unmatched.push({ callId, param: `${at}.call_id` });
        messages.push({ role: 'tool', toolCallId: callId, content: output });
        return;
      }
      case 'reasoning': {
        const text = reasoningText(item, at);
        if (turn !== undefined && (turn.content !== null || turn.toolCalls !== undefined)) flush();
        if (text === '') return;
        turn ??= { role: 'assistant', content: null };
        turn.reasoning = turn.reasoning === undefined ? text : `${turn.reasoning}\n\n${text}`;
        return;
      }
      default:
        throw invalid(
          `${at}.type`,
          `input items of type ${quoted(type)} are not supported by this server (message, function_call, function_call_output, reasoning and item_reference are)`,
        );
    }
  });
  flush();
  // A turn of reasoning alone carries nothing to send: an empty assistant message.
  for (const message of messages) if (message.role === 'assistant' && message.content === null && message.toolCalls === undefined) message.content = '';
  return { messages, callIds, unmatched, hasImages: found.images };
}

/** Every function call id in a list of messages. */
export function callIdsOf(messages: readonly ChatMessage[]): Set<string> {
  const ids = new Set<string>();
  for (const message of messages) if (message.role === 'assistant' && message.toolCalls !== undefined) for (const call of message.toolCalls) ids.add(call.id);
  return ids;
}
