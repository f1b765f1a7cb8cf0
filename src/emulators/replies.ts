/**
 * Reply texts of the emulators: the echo answer tests can predict, the demo answer, the huge
 * benchmark answer, and how a text is cut into chunks.
 */
import type { Plan } from './plan.js';

/** Default number of content chunks of an answer. */
export const DEFAULT_CHUNK_COUNT = 5;

/** The model written in answers when the request names none. */
export const DEFAULT_MODEL = 'gpt-3.5-turbo';

/** The text of a message `content`: a string, or the `text` parts of an array of parts. */
export function messageText(content: unknown): string {
  if (typeof content === 'string') return content;
  if (Array.isArray(content)) {
    return content.map((part: unknown) => (isRecord(part) && typeof part.text === 'string' ? part.text : typeof part === 'string' ? part : '')).join('');
  }
  return '';
}

/** The `messages` of a request body, or an empty list. */
export function requestMessages(body: unknown): readonly Record<string, unknown>[] {
  if (!isRecord(body) || !Array.isArray(body.messages)) return [];
  return body.messages.filter(isRecord);
}

/** The text of the last `user` message of a request body ("" when there is none). */
export function lastUserText(body: unknown): string {
  const messages = requestMessages(body);
  for (let position = messages.length - 1; position >= 0; position -= 1) {
    const message = messages[position];
    if (message?.role === 'user') return messageText(message.content);
  }
  return '';
}

/** The requested model, or {@link DEFAULT_MODEL}. */
export function requestedModel(body: unknown): string {
  return isRecord(body) && typeof body.model === 'string' && body.model !== '' ? body.model : DEFAULT_MODEL;
}

/** The number of `image_url` parts of the last `user` message of a request body. */
export function lastUserImageCount(body: unknown): number {
  const messages = requestMessages(body);
  for (let position = messages.length - 1; position >= 0; position -= 1) {
    const message = messages[position];
    if (message?.role !== 'user') continue;
    return Array.isArray(message.content) ? message.content.filter((part: unknown) => isRecord(part) && part.type === 'image_url').length : 0;
  }
  return 0;
}

/**
 * The default reply: `Echo: <content of the last user message>`, and the number of images that
 * message carried (`Echo: look [2 images]`), so a test sees whether images reached the upstream.
 */
export function echoText(body: unknown): string {
  const images = lastUserImageCount(body);
  const note = images === 0 ? '' : images === 1 ? ' [1 image]' : ` [${images} images]`;
  return `Echo: ${lastUserText(body)}${note}`;
}

/** Deterministic friendly Markdown answer of the demo mode. */
export function demoText(body: unknown): string {
  const question = lastUserText(body).replace(/\s+/g, ' ').trim();
  const shown = question.length > 120 ? `${question.slice(0, 117)}...` : question;
  const model = requestedModel(body);
  return [
    `Hello! This is an **emulated answer** from the g4f-ts demo upstream (model \`${model}\`); no real model was called.`,
    '',
    shown === '' ? 'You sent an empty message.' : `You asked: *${shown.replace(/[*_`]/g, '')}*`,
    '',
    'Here is what a real answer could contain, a short code block:',
    '',
    '```ts',
    // biome-ignore lint/suspicious/noTemplateCurlyInString: the demo answer shows a template literal as code
    'const greeting = (name: string): string => `Hello, ${name}!`;',
    "console.log(greeting('world'));",
    '```',
    '',
    '- Streaming works: this text arrived in small chunks.',
    '- Set up real providers to get real answers.',
  ].join('\n');
}

/**
 * Cut `text` into at most `count` non-empty pieces of nearly equal length (in code points, so a
 * surrogate pair is never cut; the first pieces get the extra code points). Joining the pieces
 * gives `text` back. An empty text gives no piece.
 */
export function splitText(text: string, count: number = DEFAULT_CHUNK_COUNT): string[] {
  const codePoints = Array.from(text);
  const pieceCount = Math.max(1, Math.min(Math.floor(count), codePoints.length));
  if (codePoints.length === 0) return [];
  const base = Math.floor(codePoints.length / pieceCount);
  const extra = codePoints.length % pieceCount;
  const pieces: string[] = [];
  let start = 0;
  for (let piece = 0; piece < pieceCount; piece += 1) {
    const length = base + (piece < extra ? 1 : 0);
    pieces.push(codePoints.slice(start, start + length).join(''));
    start += length;
  }
  return pieces;
}

/** Cut `text` after each run of whitespace: `"a b\nc"` → `["a ", "b\n", "c"]`. */
export function splitWords(text: string): string[] {
  return text.match(/\S+\s*|\s+/g) ?? [];
}

/** Deterministic token count used for `usage`: the number of whitespace-separated words. */
export function countWords(text: string): number {
  let count = 0;
  for (const word of text.split(/\s+/)) if (word !== '') count += 1;
  return count;
}

/** Prompt "tokens" of a request body: the words of every message. */
export function countPromptWords(body: unknown): number {
  let count = 0;
  for (const message of requestMessages(body)) count += countWords(messageText(message.content));
  return count;
}

const BENCHMARK_WORDS = [
  'lorem',
  'ipsum',
  'dolor',
  'sit',
  'amet',
  'consectetur',
  'adipiscing',
  'elit',
  'sed',
  'do',
  'eiusmod',
  'tempor',
  'incididunt',
  'ut',
  'labore',
  'et',
];

/** Precomputed chunks of a benchmark reply (see {@link Plan.tokens}); cached, never mutate. */
export interface ChunkSet {
  readonly pieces: readonly string[];
  /** `JSON.stringify` of each piece. */
  readonly encoded: readonly string[];
  readonly text: string;
}

const tokenCache = new Map<number, ChunkSet>();

/** `count` small word chunks (`"lorem "`, ...; every 16th ends with a newline), cached. */
export function tokenChunks(count: number): ChunkSet {
  const size = Math.max(0, Math.floor(count));
  const cached = tokenCache.get(size);
  if (cached !== undefined) return cached;
  const pieces: string[] = [];
  for (let position = 0; position < size; position += 1) {
    const word = BENCHMARK_WORDS[position % BENCHMARK_WORDS.length] ?? 'lorem';
    pieces.push(position % 16 === 15 ? `${word}\n` : `${word} `);
  }
  const set: ChunkSet = { pieces, encoded: pieces.map((piece) => JSON.stringify(piece)), text: pieces.join('') };
  if (tokenCache.size > 16) tokenCache.clear();
  tokenCache.set(size, set);
  return set;
}

/** The content chunks a plan gives for a request body. */
export function replyChunks(plan: Plan, body: unknown): ChunkSet {
  if (plan.chunks !== undefined) return chunkSet([...plan.chunks]);
  if (plan.text !== undefined) return chunkSet(splitText(plan.text, plan.chunkCount ?? DEFAULT_CHUNK_COUNT));
  if (plan.tokens !== undefined) return tokenChunks(plan.tokens);
  if (plan.reply === 'demo') {
    const text = demoText(body);
    return chunkSet(plan.chunkCount === undefined ? splitWords(text) : splitText(text, plan.chunkCount));
  }
  return chunkSet(splitText(echoText(body), plan.chunkCount ?? DEFAULT_CHUNK_COUNT));
}

function chunkSet(pieces: string[]): ChunkSet {
  return { pieces, encoded: pieces.map((piece) => JSON.stringify(piece)), text: pieces.join('') };
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
