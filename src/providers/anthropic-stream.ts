/**
 * Anthropic's streamed answer: server-sent events read one at a time, content blocks kept by
 * their index (thinking, text, tool_use), tool calls numbered in the order they start, usage from
 * message_start and message_delta, the stop reason from message_delta; an `error` event is a
 * typed error (overloaded_error retryable).
 */
import { StreamParseError, truncate } from '../core/errors.js';
import type { ServerSentEvent } from '../core/sse.js';
import type { Chunk } from '../core/spec.js';
import { anthropicError, finishOf, promptTokens } from './anthropic-wire.js';
import { isObject, parseJsonBody, usageOf } from './native-wire.js';

interface OpenBlock {
  kind: 'text' | 'thinking' | 'tool' | 'other';
  toolIndex: number;
  gotArguments: boolean;
}

/** A reader of one streamed answer's events: content blocks by index, tool calls numbered in order. */
export function createAnthropicEventReader(provider: string): {
  read(item: ServerSentEvent | { stray: string }, into: Chunk[]): 'more' | 'done';
  end(into: Chunk[], done: boolean): void;
} {
  const open = new Map<number, OpenBlock>();
  let tools = 0;
  let prompt: number | undefined;
  let output: unknown;
  let finished = false;
  const parse = (data: string): Record<string, unknown> => {
    const value = parseJsonBody(data);
    if (!isObject(value)) throw new StreamParseError(`${provider} sent an event that is not a JSON object: ${truncate(data, 200)}`, { provider });
    return value;
  };
  return {
    read(item, into) {
      if ('stray' in item) return 'more';
      const event = parse(item.data);
      const index = typeof event.index === 'number' ? event.index : -1;
      switch (event.type ?? item.event) {
        case 'message_start': {
          const usage = isObject(event.message) && isObject(event.message.usage) ? event.message.usage : {};
          prompt = promptTokens(usage);
          output = usage.output_tokens;
          break;
        }
        case 'content_block_start': {
          const block = isObject(event.content_block) ? event.content_block : {};
          if (block.type === 'tool_use') {
            const toolIndex = tools++;
            const id = typeof block.id === 'string' ? block.id : `call_${toolIndex}`;
            const name = typeof block.name === 'string' ? block.name : '';
            const input = isObject(block.input) && Object.keys(block.input).length > 0 ? JSON.stringify(block.input) : '';
            open.set(index, { kind: 'tool', toolIndex, gotArguments: input !== '' });
            into.push({ type: 'tool-call-delta', index: toolIndex, id, name, argumentsDelta: input });
          } else {
            const kind = block.type === 'text' || block.type === 'thinking' ? block.type : 'other';
            open.set(index, { kind, toolIndex: -1, gotArguments: false });
            if (kind === 'text' && typeof block.text === 'string' && block.text !== '') into.push({ type: 'text-delta', text: block.text });
          }
          break;
        }
        case 'content_block_delta': {
          const delta = isObject(event.delta) ? event.delta : {};
          const block = open.get(index);
          if (delta.type === 'text_delta' && typeof delta.text === 'string' && delta.text !== '') into.push({ type: 'text-delta', text: delta.text });
          else if (delta.type === 'thinking_delta' && typeof delta.thinking === 'string' && delta.thinking !== '')
            into.push({ type: 'reasoning-delta', text: delta.thinking });
          // The thinking block's signature, kept so the block can be sent back on the next turn.
          else if (delta.type === 'signature_delta' && typeof delta.signature === 'string' && delta.signature !== '')
            into.push({ type: 'reasoning-delta', text: '', signature: delta.signature });
          else if (delta.type === 'input_json_delta' && typeof delta.partial_json === 'string') {
            if (block?.kind !== 'tool')
              throw new StreamParseError(`${provider} sent tool input for content block ${index}, which is not a tool call`, { provider });
            if (delta.partial_json !== '') {
              block.gotArguments = true;
              into.push({ type: 'tool-call-delta', index: block.toolIndex, argumentsDelta: delta.partial_json });
            }
          }
          break;
        }
        case 'content_block_stop': {
          const block = open.get(index);
          // A call without input: its arguments are still a JSON object.
          if (block?.kind === 'tool' && !block.gotArguments) into.push({ type: 'tool-call-delta', index: block.toolIndex, argumentsDelta: '{}' });
          open.delete(index);
          break;
        }
        case 'message_delta': {
          const delta = isObject(event.delta) ? event.delta : {};
          const usage = isObject(event.usage) ? event.usage : {};
          prompt = promptTokens(usage) ?? prompt;
          if (usage.output_tokens !== undefined) output = usage.output_tokens;
          const finish = finishOf(delta.stop_reason, delta.stop_sequence);
          if (finish !== undefined && !finished) {
            finished = true;
            into.push(finish);
          }
          break;
        }
        case 'message_stop': {
          if (!finished) into.push({ type: 'finish', reason: 'stop' });
          finished = true;
          const usage = usageOf(prompt, output);
          if (usage !== undefined) into.push({ type: 'usage', usage });
          return 'done';
        }
        case 'error':
          throw anthropicError(provider, event.error);
      }
      return 'more';
    },
    end(_into, done) {
      if (!done) throw new StreamParseError(`${provider}'s stream ended before message_stop: the answer is incomplete`, { provider });
    },
  };
}
