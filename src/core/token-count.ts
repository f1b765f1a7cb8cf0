/**
 * The one token counter: the server's usage when an upstream gives none, `g4f ask --json`, and the
 * chat page's context fitting all count with it, so they agree. The tokenizer (cl100k, as
 * gpt-3.5/gpt-4) is loaded on first use only ({@link loadTokenizer}): most answers carry the
 * upstream's usage, and its tables cost start-up time.
 *
 * Counting in time linear in the text. A BPE tokenizer (cl100k) first splits text into
 * pre-tokens with a regular expression, then merges the bytes of each pre-token; the merging is
 * quadratic in the pre-token's length, and one character repeated with no break (or a paragraph
 * of Chinese, all letters) is a single pre-token: 32k such characters take about a second,
 * 150k several minutes.
 *
 * So the text is counted in pieces of at most {@link MAX_PIECE_CHARS}, cut where the
 * tokenizer's own pre-tokens are cut ({@link isPieceBoundary}): the sum of the pieces' counts is
 * then exactly the count of the whole. Only a stretch of more than {@link MAX_PIECE_CHARS} with no
 * such place is cut anyway; merges across that cut are lost, which changes the count by a token
 * or so per cut (measured: under 0.2 % on base64, random letters or one repeated letter, 0 on
 * Chinese).
 */
import { setImmediate as nextTurn } from 'node:timers/promises';
import { messageText } from './messages.js';
import type { ChatMessage, Usage } from './spec.js';

/** Longest piece handed to the tokenizer: a few ms of merging at worst (Chinese with no break). */
export const MAX_PIECE_CHARS = 256;
/** Characters counted between two turns of the event loop by {@link countInSlices} (about 15 ms at worst). */
export const SLICE_CHARS = 2_048;

/** Counts the tokens of one piece of text, e.g. gpt-tokenizer's `countTokens`. */
export type CountPiece = (piece: string) => number;

const LETTER = /^\p{L}$/u;
const WHITESPACE = /^\s$/u;

function isWhitespace(code: number): boolean {
  if (code < 128) return code === 32 || (code >= 9 && code <= 13);
  return WHITESPACE.test(String.fromCharCode(code));
}

function isLetter(codePoint: number): boolean {
  if (codePoint < 128) return (codePoint >= 65 && codePoint <= 90) || (codePoint >= 97 && codePoint <= 122);
  return LETTER.test(String.fromCodePoint(codePoint));
}

/**
 * True when cl100k's pre-tokenizer always ends a pre-token just before `index`, whatever the text
 * around, so counting `text.slice(0, index)` and `text.slice(index)` apart gives the count of
 * `text`. Two such places, both read from its pattern
 * (`'s|…|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s+$|\s*[\r\n]|\s+(?!\S)|\s`):
 * - before whitespace other than CR and LF that follows a non-space: no pre-token has whitespace
 *   after a non-space but CR and LF after punctuation;
 * - after a letter, before anything that is not a letter: a letter ends its pre-token there.
 * Neither cuts a surrogate pair.
 */
export function isPieceBoundary(text: string, index: number): boolean {
  if (index <= 0 || index >= text.length) return false;
  const previous = text.charCodeAt(index - 1);
  const next = text.charCodeAt(index);
  if (next !== 10 && next !== 13 && isWhitespace(next) && !isWhitespace(previous)) return true;
  const previousPoint = previous >= 0xdc00 && previous <= 0xdfff && index >= 2 ? (text.codePointAt(index - 2) ?? previous) : previous;
  // A lone or leading surrogate is not a letter, so a pair is never cut here.
  return isLetter(previousPoint) && !isLetter(text.codePointAt(index) ?? next);
}

/**
 * The text in pieces of at most `maxChars`, each ending at the last {@link isPieceBoundary} that
 * fits, else cut at `maxChars` (next to a surrogate pair rather than inside it).
 */
export function* tokenPieces(text: string, maxChars: number = MAX_PIECE_CHARS): Generator<string> {
  let start = 0;
  while (text.length - start > maxChars) {
    let cut = start + maxChars;
    while (cut > start && !isPieceBoundary(text, cut)) cut -= 1;
    if (cut === start) {
      cut = start + maxChars;
      const before = text.charCodeAt(cut - 1);
      if (before >= 0xd800 && before <= 0xdbff) cut += cut - 1 > start ? -1 : 1;
    }
    yield text.slice(start, cut);
    start = cut;
  }
  if (start < text.length) yield start === 0 ? text : text.slice(start);
}

/** The token count of `text`, piece by piece: linear time, one call of `count` per piece. */
export function countByPieces(text: string, count: CountPiece): number {
  let total = 0;
  for (const piece of tokenPieces(text)) total += count(piece);
  return total;
}

/**
 * The token counts of several texts, piece by piece, letting the event loop turn (setImmediate)
 * after every {@link SLICE_CHARS} characters: other requests, timers and signals are served
 * between slices, however long the texts are.
 */
export async function countInSlices(texts: readonly string[], count: CountPiece, sliceChars: number = SLICE_CHARS): Promise<number[]> {
  const totals: number[] = [];
  let sinceTurn = 0;
  for (const text of texts) {
    let total = 0;
    for (const piece of tokenPieces(text)) {
      total += count(piece);
      sinceTurn += piece.length;
      if (sinceTurn >= sliceChars) {
        sinceTurn = 0;
        await nextTurn();
      }
    }
    totals.push(total);
  }
  return totals;
}

/** Tokens of framing each message costs besides its role and text (OpenAI's chat accounting). */
export const MESSAGE_FRAMING_TOKENS = 3;
/** Tokens priming the answer. */
export const REPLY_PRIMING_TOKENS = 3;

let loading: Promise<CountPiece> | undefined;
let loaded: CountPiece | undefined;

/** The tokenizer's count of one piece, loaded on first use (once per process: the same tables for everyone). */
export function loadTokenizer(): Promise<CountPiece> {
  loading ??= import('gpt-tokenizer/model/gpt-3.5-turbo').then((tokenizer) => {
    // Special-token text in a message is counted as plain text, never refused.
    const options = { disallowedSpecial: new Set<string>() };
    loaded = (piece: string) => tokenizer.countTokens(piece, options);
    return loaded;
  });
  return loading;
}

/** The tokenizer if {@link loadTokenizer} has loaded it, for synchronous callers; else undefined. */
export function loadedTokenizer(): CountPiece | undefined {
  return loaded;
}

/** The texts one message is counted by: its role and its text. */
function messageTexts(message: ChatMessage): [string, string] {
  return [message.role, messageText(message)];
}

/** Tokens of one message, framing included: role and text counted piece by piece. */
export function countMessageTokens(message: ChatMessage, count: CountPiece): number {
  const [role, text] = messageTexts(message);
  return MESSAGE_FRAMING_TOKENS + countByPieces(role, count) + countByPieces(text, count);
}

/**
 * The usage of an exchange when the upstream gave none: framing per message, each message's role
 * and text, the priming of the answer, and the answer. Counted in slices: linear in the text, and
 * the event loop turns between slices, so a 1 MB message never holds up other requests.
 */
export async function countUsage(messages: readonly ChatMessage[], completion: string): Promise<Usage> {
  const count = await loadTokenizer();
  const counts = await countInSlices([...messages.flatMap(messageTexts), completion], count);
  const completionTokens = counts.pop() ?? 0;
  const promptTokens = REPLY_PRIMING_TOKENS + MESSAGE_FRAMING_TOKENS * messages.length + counts.reduce((sum, tokens) => sum + tokens, 0);
  return { promptTokens, completionTokens, totalTokens: promptTokens + completionTokens };
}

/** The tokens of some texts (the inputs of an embeddings request), with the same tokenizer. */
export async function countTexts(texts: readonly string[]): Promise<number> {
  const count = await loadTokenizer();
  const counts = await countInSlices(texts, count);
  return counts.reduce((sum, tokens) => sum + tokens, 0);
}
