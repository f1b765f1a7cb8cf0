/**
 * Token counts when the upstream gives none, with a real tokenizer (cl100k, as gpt-3.5/gpt-4).
 * The tokenizer is loaded on first use only: most answers carry the upstream's usage.
 */
import { messageText } from '../core/messages.js';
import type { ChatMessage, Usage } from '../core/spec.js';

type CountTokens = (text: string) => number;

let loading: Promise<CountTokens> | undefined;

function loadCounter(): Promise<CountTokens> {
  loading ??= import('gpt-tokenizer/model/gpt-3.5-turbo').then((tokenizer) => {
    // Special-token text in a message is counted as plain text, never refused.
    const options = { disallowedSpecial: new Set<string>() };
    return (text: string) => tokenizer.countTokens(text, options);
  });
  return loading;
}

/** OpenAI's chat accounting: 3 tokens of framing per message, 3 to prime the answer. */
export async function countUsage(messages: readonly ChatMessage[], completion: string): Promise<Usage> {
  const count = await loadCounter();
  let promptTokens = 3;
  for (const message of messages) promptTokens += 3 + count(message.role) + count(messageText(message));
  const completionTokens = completion.length === 0 ? 0 : count(completion);
  return { promptTokens, completionTokens, totalTokens: promptTokens + completionTokens };
}
