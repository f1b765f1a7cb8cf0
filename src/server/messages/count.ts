/**
 * Token counts of this door, with the one token counter (cl100k, src/core/token-count.ts):
 * `count_tokens`, and the usage of an answer when the upstream gives none. The input counts the
 * messages' text, the tool calls' names and arguments, and the tool definitions; images are not
 * counted. It is an estimate of what the upstream will count, never a promise.
 */
import type { ChatMessage } from '../../core/spec.js';
import type { RouteRequest } from '../../routing/types.js';
import { countUsage } from '../../core/token-count.js';

/** The request as text-only messages, for counting. */
function countedMessages(request: RouteRequest): ChatMessage[] {
  const messages: ChatMessage[] = [];
  if (request.tools !== undefined && request.tools.length > 0) messages.push({ role: 'system', content: JSON.stringify(request.tools) });
  for (const message of request.messages) {
    if (message.role === 'assistant' && message.toolCalls !== undefined) {
      let text = message.content ?? '';
      for (const call of message.toolCalls) text += call.name + call.arguments;
      messages.push({ role: 'assistant', content: text });
    } else messages.push(message);
  }
  return messages;
}

export async function countInputTokens(request: RouteRequest): Promise<number> {
  return (await countUsage(countedMessages(request), '')).promptTokens;
}

export async function countOutputTokens(text: string): Promise<number> {
  return text === '' ? 0 : (await countUsage([], text)).completionTokens;
}
