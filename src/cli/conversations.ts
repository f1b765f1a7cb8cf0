/**
 * `g4f conversations`: the stored conversations (those of `g4f chat` and of the web page),
 * newest first: id, title, last update and message count. `g4f chat --resume ID` continues one.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { ConversationStore, ConversationSummary } from '../store/types.js';
import type { GlobalOptions } from './context.js';
import { writeOut } from './stdout.js';
import { createStyle } from './style.js';
import { formatTable } from './table.js';
import { EXIT, UsageError } from './usage-error.js';

export interface ConversationsOptions {
  json?: boolean;
  /** Case-insensitive text searched in titles and messages. */
  search?: string;
  limit: number;
  dataDir?: string;
}

const TITLE_WIDTH = 60;

export async function runConversations(options: ConversationsOptions, _globals: GlobalOptions): Promise<number> {
  const conversations = await listConversations(options);
  if (options.json === true) {
    await writeOut(`${JSON.stringify(conversations, null, 2)}\n`);
    return EXIT.ok;
  }
  const style = createStyle(process.stdout);
  if (conversations.length === 0) {
    await writeOut(`${style.dim(options.search === undefined ? 'No stored conversations.' : 'No stored conversation matches.')}\n`);
    return EXIT.ok;
  }
  const rows = conversations.map((conversation) => [
    style.bold(conversation.id),
    shorten(conversation.title, TITLE_WIDTH),
    formatTime(conversation.updatedAt),
    String(conversation.messageCount),
  ]);
  await writeOut(`${formatTable(['ID', 'TITLE', 'UPDATED', 'MESSAGES'], rows, style.dim)}\n`);
  if (style.enabled) await writeOut(`${style.dim('Continue one with g4f chat --resume ID')}\n`);
  return EXIT.ok;
}

async function listConversations(options: ConversationsOptions): Promise<ConversationSummary[]> {
  const { openStore, defaultDataDir, databaseFrom, DATABASE_FILE } = await import('../store/index.js');
  // G4F_DATABASE_URL: the database of the servers (PostgreSQL, or a SQLite file).
  const database = databaseFrom({});
  const dataDir = options.dataDir ?? defaultDataDir();
  // Nothing stored yet: say so without creating a database for a listing.
  if (database === undefined && !existsSync(join(dataDir, DATABASE_FILE))) return [];
  let store: ConversationStore;
  try {
    store = openStore(database === undefined ? { dataDir } : { database });
  } catch (error) {
    throw new UsageError(`cannot open the conversation store: ${error instanceof Error ? error.message : String(error)}`);
  }
  try {
    return await store.list({ limit: options.limit, ...(options.search === undefined ? {} : { search: options.search }) });
  } finally {
    await store.close();
  }
}

function shorten(text: string, width: number): string {
  const line = text.replace(/\s+/g, ' ').trim();
  return line.length <= width ? line : `${line.slice(0, width - 1)}…`;
}

/** `2025-01-31 14:05` in local time: enough to tell conversations apart. */
function formatTime(iso: string): string {
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return iso;
  const two = (value: number): string => String(value).padStart(2, '0');
  return `${date.getFullYear()}-${two(date.getMonth() + 1)}-${two(date.getDate())} ${two(date.getHours())}:${two(date.getMinutes())}`;
}
