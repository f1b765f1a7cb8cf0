/** Validation of a conversation before any request is sent (the library's callers; the server checks its own). */
import { InvalidRequestError } from '../core/errors.js';
import type { ChatMessage } from '../core/spec.js';

const ROLES = new Set(['system', 'developer', 'user', 'assistant', 'tool']);

function fail(message: string, param: string): never {
  throw new InvalidRequestError(message, param);
}

export function validateMessages(messages: unknown): asserts messages is ChatMessage[] {
  if (!Array.isArray(messages)) fail('messages must be a list of {role, content}', 'messages');
  if (messages.length === 0) fail('messages must not be empty', 'messages');
  for (let index = 0; index < messages.length; index++) {
    const message: unknown = messages[index];
    const at = `messages[${index}]`;
    if (typeof message !== 'object' || message === null) fail(`${at} must be an object with role and content`, at);
    const { role, content } = message as { role?: unknown; content?: unknown };
    if (typeof role !== 'string' || !ROLES.has(role)) {
      fail(`${at}.role must be one of system, developer, user, assistant, tool (got ${JSON.stringify(role)})`, `${at}.role`);
    }
    if (role === 'user') {
      if (typeof content === 'string') continue;
      if (!Array.isArray(content)) fail(`${at}.content must be a string or a list of parts`, `${at}.content`);
      (content as unknown[]).forEach((part, partIndex) => {
        const type = typeof part === 'object' && part !== null ? (part as { type?: unknown }).type : undefined;
        const text = type === 'text' && typeof (part as { text?: unknown }).text === 'string';
        const image = type === 'image' && typeof (part as { url?: unknown }).url === 'string';
        if (!text && !image) fail(`${at}.content[${partIndex}] must be {type: "text", text} or {type: "image", url}`, `${at}.content[${partIndex}]`);
      });
    } else if (role === 'assistant') {
      const toolCalls = (message as { toolCalls?: unknown }).toolCalls;
      if (content !== null && content !== undefined && typeof content !== 'string') fail(`${at}.content must be a string or null`, `${at}.content`);
      if (toolCalls !== undefined && !Array.isArray(toolCalls)) fail(`${at}.toolCalls must be a list`, `${at}.toolCalls`);
      if ((content === null || content === undefined) && (toolCalls === undefined || (toolCalls as unknown[]).length === 0)) {
        fail(`${at} must have content or tool calls`, `${at}.content`);
      }
    } else if (role === 'tool') {
      const toolCallId = (message as { toolCallId?: unknown }).toolCallId;
      if (typeof toolCallId !== 'string' || toolCallId === '') fail(`${at}.toolCallId must name the tool call it answers`, `${at}.toolCallId`);
      if (typeof content !== 'string') fail(`${at}.content must be a string`, `${at}.content`);
    } else if (typeof content !== 'string') {
      fail(`${at}.content must be a string`, `${at}.content`);
    }
  }
}
