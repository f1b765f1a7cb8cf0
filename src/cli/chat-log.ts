/**
 * Keeping a chat session in the conversation store (the one the web page uses), and
 * reading a stored conversation back for `--resume`. A store that fails while chatting
 * costs a warning, never the session.
 */
import type { Role } from '../store/index.js';

/** One turn of a `g4f chat` conversation, as shown and stored: text only. */
export interface ChatTurn {
  role: Role;
  content: string;
}
import type { ConversationStore, MessageStatus, NewMessage } from '../store/types.js';
import type { ChatSession } from './chat-commands.js';
import { UsageError } from './usage-error.js';

export interface AppendMeta {
  status?: MessageStatus;
  model?: string;
  provider?: string;
}

export interface ConversationLog {
  /** The stored conversation's id, once there is one. */
  readonly id: string | undefined;
  /** The id of the stored conversation when it still exists (read from the store), else undefined. */
  savedId(): Promise<string | undefined>;
  append(message: ChatTurn, meta?: AppendMeta): Promise<void>;
  /** Removes the last appended message (a question that got no answer). */
  dropLast(): Promise<void>;
  /** `/clear`: later messages go to a new conversation. */
  restart(): Promise<void>;
  /** The model, provider or system prompt of the session changed. */
  settingsChanged(): Promise<void>;
  close(): Promise<void>;
}

export interface ConversationLogOptions {
  resume?: string;
  dataDir?: string;
  /** False: nothing is written (a resumed conversation is still read). */
  save: boolean;
  /** Given on the command line: they win over the stored conversation's. */
  model?: string;
  provider?: string;
  system?: string;
}

export const nullLog: ConversationLog = {
  id: undefined,
  async savedId() {
    return undefined;
  },
  async append() {},
  async dropLast() {},
  async restart() {},
  async settingsChanged() {},
  async close() {},
};

const TITLE_LENGTH = 80;

export async function openConversationLog(options: ConversationLogOptions, session: ChatSession): Promise<ConversationLog> {
  if (options.resume === undefined && !options.save) return nullLog;
  let store: ConversationStore;
  try {
    const { openStore, databaseFrom } = await import('../store/index.js');
    // G4F_DATABASE_URL: the database of the servers (PostgreSQL, or a SQLite file).
    const database = databaseFrom({});
    store = openStore(database !== undefined ? { database } : options.dataDir === undefined ? {} : { dataDir: options.dataDir });
  } catch (error) {
    if (options.resume !== undefined) throw new UsageError(`cannot open the conversation store: ${messageOf(error)}`);
    warn(`conversations will not be saved: cannot open the store: ${messageOf(error)}`);
    return nullLog;
  }

  let conversationId: string | undefined;
  let messageIds: string[] = [];
  if (options.resume !== undefined) {
    const conversation = await store.get(options.resume);
    if (conversation === undefined) {
      await store.close();
      throw new UsageError(`no stored conversation with id ${options.resume}`);
    }
    conversationId = conversation.id;
    const kept = conversation.messages.filter((message) => message.role !== 'system' && message.content !== '');
    session.history = kept.map((message) => ({ role: message.role, content: message.content }));
    messageIds = kept.map((message) => message.id);
    if (options.system === undefined) session.system = conversation.systemPrompt;
    if (options.model === undefined && conversation.model !== '') session.model = conversation.model;
    if (options.provider === undefined && conversation.provider !== '') session.provider = conversation.provider;
  }

  /**
   * True while the stored conversation is one this session created (not a resumed one): a
   * conversation of this session that is left without messages is deleted, so that the store
   * never keeps an empty conversation (listed, offered to `--resume`, shown by the web page).
   */
  let created = false;
  let broken = !options.save;
  /** Runs a store operation; the first failure disables saving, with one warning. */
  const attempt = async (operation: () => Promise<void>): Promise<void> => {
    if (broken) return;
    try {
      await operation();
    } catch (error) {
      broken = true;
      warn(`the conversation is no longer saved: ${messageOf(error)}`);
    }
  };

  return {
    get id() {
      return conversationId;
    },
    savedId: async () => {
      if (conversationId === undefined) return undefined;
      try {
        return (await store.get(conversationId)) === undefined ? undefined : conversationId;
      } catch {
        return undefined;
      }
    },
    append: (message, meta = {}) =>
      attempt(async () => {
        const fields: NewMessage = {
          role: message.role,
          content: message.content,
          ...(meta.status === undefined ? {} : { status: meta.status }),
          ...(meta.model === undefined || meta.model === '' ? {} : { model: meta.model }),
          ...(meta.provider === undefined || meta.provider === '' ? {} : { provider: meta.provider }),
        };
        if (conversationId === undefined) {
          // The conversation and its first message in one transaction: it never exists empty.
          const now = new Date().toISOString();
          const imported = await store.importConversation({
            title: message.content.replace(/\s+/g, ' ').trim().slice(0, TITLE_LENGTH),
            systemPrompt: session.system,
            model: session.model,
            provider: session.provider ?? '',
            createdAt: now,
            updatedAt: now,
            messages: [fields],
          });
          conversationId = imported.id;
          created = true;
          messageIds = imported.messages.map((stored) => stored.id);
          return;
        }
        const stored = await store.appendMessage(conversationId, fields);
        if (stored === undefined) {
          // Deleted meanwhile (from the web page): nothing left to name or to continue.
          const gone = conversationId;
          conversationId = undefined;
          created = false;
          messageIds = [];
          throw new Error(`conversation ${gone} no longer exists`);
        }
        messageIds.push(stored.id);
      }),
    dropLast: () =>
      attempt(async () => {
        const last = messageIds.pop();
        if (conversationId === undefined || last === undefined) return;
        if (created && messageIds.length === 0) {
          // Nothing of this session is left in it: the conversation goes too.
          await store.delete(conversationId);
          conversationId = undefined;
          created = false;
          return;
        }
        await store.deleteMessagesFrom(conversationId, last);
      }),
    restart: async () => {
      conversationId = undefined;
      created = false;
      messageIds = [];
    },
    settingsChanged: () =>
      attempt(async () => {
        if (conversationId === undefined) return;
        await store.update(conversationId, { systemPrompt: session.system, model: session.model, provider: session.provider ?? '' });
      }),
    close: () => store.close(),
  };
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function warn(text: string): void {
  process.stderr.write(`g4f: warning: ${text}\n`);
}
