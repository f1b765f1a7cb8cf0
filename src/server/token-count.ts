/**
 * Token counts when the upstream gives none, with a real tokenizer (cl100k, as gpt-3.5/gpt-4).
 * The tokenizer is loaded on first use only: most answers carry the upstream's usage.
 * Counting is piece by piece in slices (src/core/token-pieces.ts): linear in the text, and the
 * event loop turns between slices, so a 1 MB message never holds up other requests.
 */
import { messageText } from '../core/messages.js';
import type { ChatMessage, Usage } from '../core/spec.js';
import { countInSlices, type CountPiece } from '../core/token-pieces.js';

let loading: Promise<CountPiece> | undefined;

function loadCounter(): Promise<CountPiece> {
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
  const texts = messages.flatMap((message) => [message.role, messageText(message)]);
  const counts = await countInSlices([...texts, completion], count);
  const completionTokens = counts.pop() ?? 0;
  const promptTokens = 3 + 3 * messages.length + counts.reduce((sum, tokens) => sum + tokens, 0);
  return { promptTokens, completionTokens, totalTokens: promptTokens + completionTokens };
}

/** The tokens of some texts (the inputs of an embeddings request), with the same tokenizer. */
export async function countTexts(texts: readonly string[]): Promise<number> {
  const count = await loadCounter();
  const counts = await countInSlices([...texts], count);
  return counts.reduce((sum, tokens) => sum + tokens, 0);
}
