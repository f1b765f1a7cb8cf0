/**
 * Fitting a conversation into a model's context window. The whole history is sent when it fits;
 * when it does not, the oldest turns are left out (never the system prompt, never the newest
 * user message) and the caller is told how many messages were left out.
 */
import { countTokens } from 'gpt-tokenizer/encoding/cl100k_base';
import { messageText } from '../core/messages.js';
import type { ChatMessage } from '../core/spec.js';

/** Context sizes in tokens, by model id (lower case). */
export const MODEL_CONTEXT_TOKENS: Readonly<Record<string, number>> = Object.freeze({
  'gpt-3.5-turbo': 16_385,
  'gpt-3.5-turbo-0613': 4_096,
  'gpt-3.5-turbo-16k': 16_385,
  'gpt-3.5-turbo-16k-0613': 16_385,
  'gpt-4': 8_192,
  'gpt-4-0613': 8_192,
  'gpt-4-32k': 32_768,
  'gpt-4-turbo': 128_000,
  'gpt-4o': 128_000,
  'gpt-4o-mini': 128_000,
  'gpt-4.1': 1_047_576,
  'gpt-4.1-mini': 1_047_576,
  'llama3': 8_192,
  'llama3.1': 131_072,
  'mistral': 32_768,
});

/** Used for a model not in the table. */
export const DEFAULT_CONTEXT_TOKENS = 4_096;

/** Tokens each message costs beyond its text (role and separators, as in OpenAI's counting). */
const MESSAGE_OVERHEAD_TOKENS = 4;
/** Tokens priming the answer. */
const REPLY_PRIMING_TOKENS = 3;

/** The context size of a model: exact id, then without a `provider/` prefix, then the longest known prefix. */
export function contextTokensFor(model: string): number {
  const id = model.toLowerCase();
  const bare = id.includes('/') ? id.slice(id.lastIndexOf('/') + 1) : id;
  const exact = MODEL_CONTEXT_TOKENS[id] ?? MODEL_CONTEXT_TOKENS[bare];
  if (exact !== undefined) return exact;
  let best: string | undefined;
  for (const known of Object.keys(MODEL_CONTEXT_TOKENS)) {
    if (bare.startsWith(known) && (best === undefined || known.length > best.length)) best = known;
  }
  return best === undefined ? DEFAULT_CONTEXT_TOKENS : (MODEL_CONTEXT_TOKENS[best] ?? DEFAULT_CONTEXT_TOKENS);
}

export function countMessageTokens(message: ChatMessage): number {
  return countTokens(messageText(message)) + MESSAGE_OVERHEAD_TOKENS;
}

export interface FitOptions {
  model: string;
  /** Overrides the table. */
  contextTokens?: number;
  /** Tokens kept free for the answer; default a quarter of the context, at most 4,096. */
  reserveTokens?: number;
}

export interface FitResult {
  /** What to send: the system messages, then the newest messages that fit. */
  messages: ChatMessage[];
  /** How many messages of the history were left out (the oldest ones). */
  omitted: number;
  /** Tokens of what is sent (estimate). */
  promptTokens: number;
  contextTokens: number;
}

/**
 * Keeps the system messages and the newest messages whose tokens fit in the context minus the
 * reserve. Counts from the newest backwards and stops at the first that does not fit, so the cost
 * is bounded by the context size, not the history's length. The newest message is always sent,
 * even alone over the budget (the upstream then says so).
 */
export function fitToContext(history: readonly ChatMessage[], options: FitOptions): FitResult {
  const contextTokens = options.contextTokens ?? contextTokensFor(options.model);
  const reserve = options.reserveTokens ?? Math.min(4_096, Math.floor(contextTokens / 4));
  const budget = Math.max(0, contextTokens - reserve - REPLY_PRIMING_TOKENS);
  const system = history.filter((message) => message.role === 'system');
  const turns = history.filter((message) => message.role !== 'system');
  let used = system.reduce((sum, message) => sum + countMessageTokens(message), 0);
  let first = turns.length;
  while (first > 0) {
    const candidate = turns[first - 1];
    if (candidate === undefined) break;
    const cost = countMessageTokens(candidate);
    if (used + cost > budget && first < turns.length) break;
    used += cost;
    first -= 1;
  }
  // Do not start the sent history with an assistant message cut from its question.
  while (first > 0 && first < turns.length - 1 && turns[first]?.role === 'assistant') {
    used -= countMessageTokens(turns[first] as ChatMessage);
    first += 1;
  }
  return {
    messages: [...system, ...turns.slice(first)],
    omitted: first,
    promptTokens: used + REPLY_PRIMING_TOKENS,
    contextTokens,
  };
}
