/**
 * Pieces of an answer in Anthropic's shapes, shared by the whole answer and the stream: the stop
 * reason, tool_use blocks and usage.
 */
import { randomBytes } from 'node:crypto';
import type { FinishReason, ToolCall } from '../../core/spec.js';
import { RAW_ARGUMENTS_FIELD } from './content.js';

/**
 * The stop reason of a finish reason: a turn with tool calls is `tool_use`; `length` is
 * `max_tokens`; a content filter is `refusal`; a stop sequence the upstream named is
 * `stop_sequence`; anything else `end_turn`. Most OpenAI-compatible upstreams do not say whether
 * a stop sequence ended the answer (vLLM and SGLang do); without that it is `end_turn`.
 */
export function stopReason(finish: FinishReason, hasCalls: boolean, stopSequence?: string): string {
  if (finish === 'length') return 'max_tokens';
  if (finish === 'content_filter') return 'refusal';
  if (hasCalls || finish === 'tool_calls') return 'tool_use';
  if (finish === 'stop' && stopSequence !== undefined) return 'stop_sequence';
  return 'end_turn';
}

/** An id for a tool call whose upstream gave none (the client needs one to answer it). */
function newToolUseId(): string {
  return `toolu_${randomBytes(12).toString('hex')}`;
}

/** A call's arguments as the input object's JSON text, or undefined when they are not a JSON object. */
export function objectArguments(text: string): string | undefined {
  if (text.trim() === '') return '{}';
  try {
    const value: unknown = JSON.parse(text);
    return typeof value === 'object' && value !== null && !Array.isArray(value) ? text : undefined;
  } catch {
    return undefined;
  }
}

export interface ToolUseBlock {
  /** The block as `content_block_start` carries it (input `{}`), or whole with `input` set. */
  block: Record<string, unknown>;
  /** The input's JSON text: the model's arguments, or `{}` when they were not a JSON object. */
  inputJson: string;
}

/**
 * A tool call as a tool_use block. Arguments that are not a JSON object (the model wrote broken
 * JSON) give `input: {}`, and the block keeps the model's text in `g4f_raw_arguments`; sent back
 * in the history, that text is what the upstream sees again.
 */
export function toolUseBlock(call: ToolCall): ToolUseBlock {
  const json = objectArguments(call.arguments);
  const block: Record<string, unknown> = { type: 'tool_use', id: call.id || newToolUseId(), name: call.name, input: {} };
  if (json === undefined) block[RAW_ARGUMENTS_FIELD] = call.arguments;
  return { block, inputJson: json ?? '{}' };
}

export function wireUsage(inputTokens: number, outputTokens: number): Record<string, number> {
  return { input_tokens: inputTokens, output_tokens: outputTokens, cache_creation_input_tokens: 0, cache_read_input_tokens: 0 };
}
