/**
 * The end of a resumed conversation, shown (dimmed) when `g4f chat --resume` starts, so that
 * the user sees where it left off: the last few messages, long ones cut.
 */
import type { ChatTurn } from './chat-log.js';
import type { Style } from './style.js';

/** Messages shown: the last two turns. */
export const RECENT_MESSAGES = 4;
const MAX_LINES = 8;
const MAX_CHARACTERS = 600;

/** Lines to print: `… N earlier messages`, then `> question` and the answers, as they were typed and shown. */
export function recentTurns(history: readonly ChatTurn[], style: Style, count = RECENT_MESSAGES): string[] {
  const shown = history.slice(-count);
  const lines: string[] = [];
  const earlier = history.length - shown.length;
  if (earlier > 0) lines.push(style.dim(`… ${earlier} earlier message${earlier === 1 ? '' : 's'}`));
  for (const message of shown) {
    const text = cut(message.content.trimEnd());
    lines.push(style.dim(message.role === 'user' ? `> ${text}` : text));
  }
  return lines;
}

function cut(text: string): string {
  let result = text.length > MAX_CHARACTERS ? `${text.slice(0, MAX_CHARACTERS - 1)}…` : text;
  const lines = result.split('\n');
  if (lines.length > MAX_LINES) result = `${lines.slice(0, MAX_LINES).join('\n')}\n…`;
  return result;
}
