/**
 * The embedded default ConversationStore: one SQLite file (WAL journal), every write in a
 * transaction. An answer that was still streaming when the process died is found with status
 * `streaming` on the next open and marked `interrupted`: its text up to the last save is kept.
 */
import { randomUUID } from 'node:crypto';
import BetterSqlite3 from 'better-sqlite3';
import type { Database } from 'better-sqlite3';
import { InvalidRequestError } from '../core/errors.js';
import { fieldsProblem, importProblem } from './limits.js';
import { migrate } from './migrations.js';
import {
  attachImages,
  checkMessagePatch,
  createClock,
  importedConversationRow,
  importedTime,
  listWindow,
  newConversationRow,
  newMessageRow,
  patchedConversationRow,
  patchedMessageRow,
  refuse,
  toBuffer,
  toConversation,
  toMessage,
  toNewImage,
  toStoredImage,
  toSummary,
  wantsSnippet,
  type ConversationRow,
  type ImageRow,
  type MessageRow,
} from './rows.js';

export { cleanTitle, DEFAULT_TITLE, importedTime } from './rows.js';
import type {
  AppendOptions,
  Conversation,
  ConversationData,
  ConversationPatch,
  ConversationStore,
  ConversationSummary,
  ConversationWithMessages,
  ListOptions,
  Message,
  MessagePatch,
  NewConversation,
  NewImage,
  NewMessage,
} from './types.js';

export interface SqliteStoreOptions {
  /** A file path, or `:memory:`. */
  filename: string;
}

export function createSqliteStore(options: SqliteStoreOptions): ConversationStore {
  const db: Database = new BetterSqlite3(options.filename);
  try {
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = NORMAL');
    db.pragma('foreign_keys = ON');
    db.pragma('busy_timeout = 5000');
    db.function('g4f_fold', { deterministic: true }, (text: unknown) => (typeof text === 'string' ? text.toLowerCase() : ''));
    migrate(db);
    db.prepare(`UPDATE messages SET status = 'interrupted' WHERE status = 'streaming'`).run();
  } catch (error) {
    db.close();
    throw error;
  }
  return storeOn(db);
}

function storeOn(db: Database): ConversationStore {
  const statements = {
    insertConversation: db.prepare(
      `INSERT INTO conversations (id, title, system_prompt, model, provider, created_at, updated_at)
       VALUES (@id, @title, @system_prompt, @model, @provider, @created_at, @updated_at)`,
    ),
    getConversation: db.prepare('SELECT * FROM conversations WHERE id = ?'),
    touchConversation: db.prepare('UPDATE conversations SET updated_at = ? WHERE id = ?'),
    deleteConversation: db.prepare('DELETE FROM conversations WHERE id = ?'),
    countConversations: db.prepare('SELECT COUNT(*) AS count FROM conversations'),
    messagesOf: db.prepare('SELECT * FROM messages WHERE conversation_id = ? ORDER BY seq'),
    getMessage: db.prepare('SELECT * FROM messages WHERE id = ? AND conversation_id = ?'),
    insertMessage: db.prepare(
      `INSERT INTO messages (id, conversation_id, role, content, status, model, provider, created_at, reasoning)
       VALUES (@id, @conversation_id, @role, @content, @status, @model, @provider, @created_at, @reasoning)`,
    ),
    insertImage: db.prepare(
      `INSERT INTO attachments (id, message_id, conversation_id, kind, media_type, bytes, data)
       VALUES (?, ?, ?, 'image', ?, ?, ?)`,
    ),
    imagesOf: db.prepare(`SELECT id, message_id, media_type, bytes FROM attachments WHERE conversation_id = ? ORDER BY seq`),
    imagesOfMessage: db.prepare(`SELECT id, media_type, bytes, data FROM attachments WHERE message_id = ? ORDER BY seq`),
    imageListOfMessage: db.prepare(`SELECT id, media_type, bytes FROM attachments WHERE message_id = ? ORDER BY seq`),
    imageBytesOf: db.prepare(`SELECT COALESCE(SUM(bytes), 0) AS total FROM attachments WHERE conversation_id = ?`),
    getImage: db.prepare(`SELECT id, media_type, bytes, data FROM attachments WHERE id = ? AND conversation_id = ?`),
    imageDataOf: db.prepare(`SELECT id, data FROM attachments WHERE conversation_id = ? ORDER BY seq`),
    deleteFrom: db.prepare('DELETE FROM messages WHERE conversation_id = ? AND seq >= ?'),
    firstMatch: db.prepare(`SELECT content FROM messages WHERE conversation_id = ? AND instr(g4f_fold(content), ?) > 0 ORDER BY seq LIMIT 1`),
    list: db.prepare(
      `SELECT c.*, (SELECT COUNT(*) FROM messages m WHERE m.conversation_id = c.id) AS message_count
       FROM conversations c
       WHERE @needle IS NULL
          OR instr(g4f_fold(c.title), @needle) > 0
          OR EXISTS (SELECT 1 FROM messages m WHERE m.conversation_id = c.id AND instr(g4f_fold(m.content), @needle) > 0)
       ORDER BY c.updated_at DESC, c.rowid DESC
       LIMIT @limit OFFSET @offset`,
    ),
  };

  const clock = createClock();

  let closed = false;
  const guard = (): void => {
    if (closed) throw new InvalidRequestError('The conversation store is closed');
  };

  /** Inserts a message and its images; `imageBytes`: the conversation's images before it (their limit is checked). */
  const insertMessage = (conversationId: string, message: NewMessage, now: string, imageBytes: number): Message => {
    const row = newMessageRow(conversationId, message, now, imageBytes);
    const images = message.images ?? [];
    const { seq: _seq, ...values } = row;
    statements.insertMessage.run(values);
    const saved = toMessage(row);
    if (images.length > 0) {
      saved.images = images.map((image) => {
        const id = randomUUID();
        statements.insertImage.run(id, row.id, conversationId, image.mediaType, image.data.byteLength, toBuffer(image.data));
        return { id, mediaType: image.mediaType, bytes: image.data.byteLength };
      });
    }
    return saved;
  };

  const conversationImageBytes = (conversationId: string): number => (statements.imageBytesOf.get(conversationId) as { total: number }).total;

  const append = db.transaction((conversationId: string, message: NewMessage, options: AppendOptions): Message | undefined => {
    if (statements.getConversation.get(conversationId) === undefined) return undefined;
    let kept: NewImage[] = [];
    if (options.replaceFrom !== undefined) {
      const from = statements.getMessage.get(options.replaceFrom, conversationId) as MessageRow | undefined;
      if (from === undefined) return undefined;
      if (options.keepImages === true) {
        kept = (statements.imagesOfMessage.all(from.id) as Array<ImageRow & { data: Buffer }>).map(toNewImage);
      }
      statements.deleteFrom.run(conversationId, from.seq);
    }
    const now = clock();
    const images = [...kept, ...(message.images ?? [])];
    const saved = insertMessage(conversationId, images.length === 0 ? message : { ...message, images }, now, conversationImageBytes(conversationId));
    statements.touchConversation.run(now, conversationId);
    return saved;
  });

  const updateMessage = db.transaction((conversationId: string, messageId: string, patch: MessagePatch): Message | undefined => {
    const row = statements.getMessage.get(messageId, conversationId) as MessageRow | undefined;
    if (row === undefined) return undefined;
    checkMessagePatch(patch);
    const next = patchedMessageRow(row, patch);
    db.prepare('UPDATE messages SET content = ?, reasoning = ?, status = ?, model = ?, provider = ? WHERE seq = ?').run(
      next.content,
      next.reasoning,
      next.status,
      next.model,
      next.provider,
      row.seq,
    );
    statements.touchConversation.run(clock(), conversationId);
    const updated = toMessage(next);
    const images = (statements.imageListOfMessage.all(row.id) as ImageRow[]).map(toStoredImage);
    if (images.length > 0) updated.images = images;
    return updated;
  });

  const deleteFrom = db.transaction((conversationId: string, messageId: string): number => {
    const row = statements.getMessage.get(messageId, conversationId) as MessageRow | undefined;
    if (row === undefined) return 0;
    const changes = statements.deleteFrom.run(conversationId, row.seq).changes;
    statements.touchConversation.run(clock(), conversationId);
    return changes;
  });

  const importConversation = db.transaction((data: ConversationData): ConversationWithMessages => {
    const now = clock();
    const conversation = importedConversationRow(data, now);
    statements.insertConversation.run(conversation);
    let imageBytes = 0;
    const messages = data.messages.map((message) => {
      const { createdAt: messageTime, ...rest } = message;
      const saved = insertMessage(conversation.id, { ...rest, createdAt: importedTime(messageTime, now) }, now, imageBytes);
      for (const image of saved.images ?? []) imageBytes += image.bytes;
      return saved;
    });
    return { ...toConversation(conversation), messages };
  });

  const clear = db.transaction((): number => {
    const { count } = statements.countConversations.get() as { count: number };
    db.prepare('DELETE FROM conversations').run();
    return count;
  });

  return {
    async list(options: ListOptions = {}): Promise<ConversationSummary[]> {
      guard();
      const { needle, limit, offset } = listWindow(options);
      const rows = statements.list.all({ needle, limit, offset }) as ConversationRow[];
      return rows.map((row) => {
        const match = wantsSnippet(row, needle) ? (statements.firstMatch.get(row.id, needle) as { content: string } | undefined) : undefined;
        return toSummary(row, needle, match?.content);
      });
    },

    async create(input: NewConversation = {}): Promise<Conversation> {
      guard();
      refuse(fieldsProblem(input));
      const row = newConversationRow(input, clock());
      db.transaction(() => statements.insertConversation.run(row))();
      return toConversation(row);
    },

    async get(id: string): Promise<ConversationWithMessages | undefined> {
      guard();
      const read = db.transaction(() => {
        const row = statements.getConversation.get(id) as ConversationRow | undefined;
        if (row === undefined) return undefined;
        const messages = (statements.messagesOf.all(id) as MessageRow[]).map(toMessage);
        attachImages(messages, statements.imagesOf.all(id) as ImageRow[]);
        return { ...toConversation(row), messages };
      });
      return read();
    },

    async update(id: string, patch: ConversationPatch): Promise<Conversation | undefined> {
      guard();
      refuse(fieldsProblem(patch));
      return db.transaction(() => {
        const row = statements.getConversation.get(id) as ConversationRow | undefined;
        if (row === undefined) return undefined;
        const next = patchedConversationRow(row, patch, clock());
        db.prepare('UPDATE conversations SET title = ?, system_prompt = ?, model = ?, provider = ?, updated_at = ? WHERE id = ?').run(
          next.title,
          next.system_prompt,
          next.model,
          next.provider,
          next.updated_at,
          id,
        );
        return toConversation(next);
      })();
    },

    async delete(id: string): Promise<boolean> {
      guard();
      return db.transaction(() => statements.deleteConversation.run(id).changes > 0)();
    },

    async clear(): Promise<number> {
      guard();
      return clear();
    },

    async appendMessage(conversationId, message, options = {}) {
      guard();
      return append(conversationId, message, options);
    },

    async updateMessage(conversationId, messageId, patch) {
      guard();
      return updateMessage(conversationId, messageId, patch);
    },

    async deleteMessagesFrom(conversationId, messageId) {
      guard();
      return deleteFrom(conversationId, messageId);
    },

    async getImage(conversationId, imageId) {
      guard();
      const row = statements.getImage.get(imageId, conversationId) as (ImageRow & { data: Buffer }) | undefined;
      return row === undefined ? undefined : { ...toStoredImage(row), data: row.data };
    },

    async imageData(conversationId, ids) {
      guard();
      const wanted = ids === undefined ? undefined : new Set(ids);
      const found = new Map<string, Uint8Array>();
      if (wanted?.size === 0) return found;
      if (wanted !== undefined && wanted.size <= 16) {
        for (const id of wanted) {
          const row = statements.getImage.get(id, conversationId) as { id: string; data: Buffer } | undefined;
          if (row !== undefined) found.set(row.id, row.data);
        }
        return found;
      }
      for (const row of statements.imageDataOf.iterate(conversationId) as IterableIterator<{ id: string; data: Buffer }>) {
        if (wanted === undefined || wanted.has(row.id)) found.set(row.id, row.data);
      }
      return found;
    },

    async importConversation(data) {
      guard();
      refuse(importProblem(data));
      return importConversation(data);
    },

    async close() {
      if (closed) return;
      closed = true;
      db.close();
    },
  };
}
