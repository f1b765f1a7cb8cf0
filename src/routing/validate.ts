/** Validation of a conversation before any request is sent. */
import { InvalidRequestError } from '../core/errors.js';
import type { ChatMessage } from '../core/spec.js';

const ROLES = new Set(['system', 'user', 'assistant']);

export function validateMessages(messages: unknown): asserts messages is ChatMessage[] {
  if (!Array.isArray(messages)) throw new InvalidRequestError('messages must be a list of {role, content}', 'messages');
  if (messages.length === 0) throw new InvalidRequestError('messages must not be empty', 'messages');
  for (let index = 0; index < messages.length; index++) {
    const message: unknown = messages[index];
    if (typeof message !== 'object' || message === null) {
      throw new InvalidRequestError(`messages[${index}] must be an object with role and content`, `messages[${index}]`);
    }
    const { role, content } = message as { role?: unknown; content?: unknown };
    if (typeof role !== 'string' || !ROLES.has(role)) {
      throw new InvalidRequestError(
        `messages[${index}].role must be one of system, user, assistant (got ${JSON.stringify(role)})`,
        `messages[${index}].role`,
      );
    }
    if (typeof content !== 'string') {
      throw new InvalidRequestError(`messages[${index}].content must be a string`, `messages[${index}].content`);
    }
  }
}
