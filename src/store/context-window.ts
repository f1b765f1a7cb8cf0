/**
 * Fitting a conversation into a model's context window. The whole history is sent when it fits;
 * when it does not, the oldest turns are left out (never the system prompt, never the newest
 * user message) and the caller is told how many messages were left out.
 *
 * Fitting runs before every answer of the chat page, synchronously, so its cost is bounded:
 * text is counted with the one token counter, piece by piece (linear, src/core/token-count.ts;
 * the caller loads the tokenizer and passes it in), a message longer than
 * {@link EXACT_MESSAGE_CHARS} is estimated from samples, and one fitting hands at most
 * {@link FIT_TOKENIZER_CHARS} to the tokenizer; older messages are then estimated at the rate
 * measured on the newer ones. Ordinary conversations are counted exactly.
 */
import { messageText } from '../core/messages.js';
import type { ChatMessage } from '../core/spec.js';
import { countByPieces, loadedTokenizer, MESSAGE_FRAMING_TOKENS, REPLY_PRIMING_TOKENS, type CountPiece } from '../core/token-count.js';

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
  llama3: 8_192,
  'llama3.1': 131_072,
  mistral: 32_768,
});

/** Used for a model not in the table. */
export const DEFAULT_CONTEXT_TOKENS = 4_096;

/**
 * What one image counts, whatever its size: OpenAI's cost of a 1024×1024 image at high detail
 * (85 + 4 tiles × 170), a fair middle for the images a chat carries.
 */
export const IMAGE_TOKENS = 765;

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

/** A message longer than this (in UTF-16 units) is estimated from samples instead of counted. */
export const EXACT_MESSAGE_CHARS = 8_192;
/** The samples of a long message: this many, evenly spread, of {@link SAMPLE_CHARS} each. */
const SAMPLES = 8;
const SAMPLE_CHARS = 512;
/** At most this many characters go through the tokenizer in one fitting (some tens of ms at worst). */
export const FIT_TOKENIZER_CHARS = 12_288;

/** Tokens of a text: exact up to {@link EXACT_MESSAGE_CHARS}, else samples scaled to its length. */
function contentTokens(text: string, countPiece: CountPiece): number {
  if (text.length <= EXACT_MESSAGE_CHARS) return countByPieces(text, countPiece);
  const stride = (text.length - SAMPLE_CHARS) / (SAMPLES - 1);
  let sampled = 0;
  for (let index = 0; index < SAMPLES; index += 1) {
    let start = Math.round(index * stride);
    const code = text.charCodeAt(start);
    if (code >= 0xdc00 && code <= 0xdfff) start += 1; // not from inside a surrogate pair
    sampled += countByPieces(text.slice(start, start + SAMPLE_CHARS), countPiece);
  }
  return Math.round((sampled * text.length) / (SAMPLES * SAMPLE_CHARS));
}

/** Tokens of a message besides its text: the framing and its role (as the counter's `countMessageTokens`). */
function framingTokens(message: ChatMessage, countPiece: CountPiece): number {
  return MESSAGE_FRAMING_TOKENS + countByPieces(message.role, countPiece);
}

/**
 * The counting of one fitting: each message as the counter's `countMessageTokens` (exact up to
 * {@link EXACT_MESSAGE_CHARS}, sampled beyond) while the tokenizer budget lasts (the first message
 * always), then by the tokens per character of the messages counted so far.
 */
function createFitCounter(countPiece: CountPiece | undefined): { count(message: ChatMessage): number; readonly estimated: boolean } {
  let tokenized = 0;
  let countedChars = 0;
  let countedTokens = 0;
  let estimated = false;
  return {
    count(message) {
      const text = messageText(message);
      const length = text.length;
      if (countPiece === undefined) {
        estimated = true;
        return Math.ceil(length / 4) + MESSAGE_FRAMING_TOKENS + 1;
      }
      const cost = length <= EXACT_MESSAGE_CHARS ? length : SAMPLES * SAMPLE_CHARS;
      if (tokenized === 0 || tokenized + cost <= FIT_TOKENIZER_CHARS) {
        const tokens = contentTokens(text, countPiece);
        tokenized += cost;
        countedChars += length;
        countedTokens += tokens;
        if (length > EXACT_MESSAGE_CHARS) estimated = true;
        return tokens + framingTokens(message, countPiece);
      }
      estimated = true;
      const rate = countedChars === 0 ? 0.25 : countedTokens / countedChars;
      return Math.ceil(length * rate) + framingTokens(message, countPiece);
    },
    get estimated() {
      return estimated;
    },
  };
}

export interface FitOptions {
  model: string;
  /**
   * The tokenizer's count of one piece: `await loadTokenizer()` (src/core/token-count.ts). Default:
   * the tokenizer when it is loaded already; without it every message is estimated (4 characters a token).
   */
  count?: CountPiece;
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
  /** True when some message was not counted exactly (too long, or past what one fitting counts). */
  estimated: boolean;
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
  const counter = createFitCounter(options.count ?? loadedTokenizer());
  let used = system.reduce((sum, message) => sum + counter.count(message), 0);
  const costs: number[] = [];
  let first = turns.length;
  while (first > 0) {
    const candidate = turns[first - 1];
    if (candidate === undefined) break;
    const cost = counter.count(candidate);
    if (used + cost > budget && first < turns.length) break;
    costs[first - 1] = cost;
    used += cost;
    first -= 1;
  }
  // Do not start the sent history with an assistant message cut from its question.
  while (first > 0 && first < turns.length - 1 && turns[first]?.role === 'assistant') {
    used -= costs[first] ?? 0;
    first += 1;
  }
  return {
    messages: [...system, ...turns.slice(first)],
    omitted: first,
    promptTokens: used + REPLY_PRIMING_TOKENS,
    contextTokens,
    estimated: counter.estimated,
  };
}
