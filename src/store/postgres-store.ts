/**
 * The ConversationStore on PostgreSQL (`G4F_DATABASE_URL=postgres://...`), for several server
 * replicas sharing one database. The same schema and behaviour as the SQLite store, every write
 * in a transaction. An answer left `streaming` by a replica that died is marked `interrupted`
 * when a replica opens the store, once its conversation has been still for two minutes (an answer
 * that another replica is writing now is left alone).
 */
import { randomUUID } from 'node:crypto';
import type pg from 'pg';
import { InvalidRequestError } from '../core/errors.js';
import { fieldsProblem, importProblem } from './limits.js';
import { inTransaction, sharedPool } from './postgres.js';
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
import type { ConversationStore, ConversationSummary, Message, MessagePatch, NewImage, NewMessage, StoredImage } from './types.js';

/** How long a conversation must have been still before its `streaming` answers count as cut. */
const STALE_STREAM_MS = 2 * 60_000;

type Queryable = pg.Pool | pg.PoolClient;

const CONVERSATION_COLUMNS = 'id, title, system_prompt, model, provider, created_at, updated_at';

export function createPostgresStore(url: string): ConversationStore {
  const shared = sharedPool(url);
  const { pool } = shared;
  let closed = false;
  let opened: Promise<void> | undefined;
  const open = (): Promise<void> => {
    if (closed) return Promise.reject(new InvalidRequestError('The conversation store is closed'));
    opened ??= shared
      .ready()
      .then(async () => {
        const stale = new Date(Date.now() - STALE_STREAM_MS).toISOString();
        await pool.query(
          `UPDATE messages SET status = 'interrupted' WHERE status = 'streaming'
             AND conversation_id IN (SELECT id FROM conversations WHERE updated_at < $1)`,
          [stale],
        );
      })
      .catch((error: unknown) => {
        opened = undefined;
        throw error;
      });
    return opened;
  };

  const clock = createClock();

  const conversationRow = async (db: Queryable, id: string, lock = false): Promise<ConversationRow | undefined> =>
    (await db.query<ConversationRow>(`SELECT ${CONVERSATION_COLUMNS} FROM conversations WHERE id = $1${lock ? ' FOR UPDATE' : ''}`, [id])).rows[0];

  const messageRow = async (db: Queryable, messageId: string, conversationId: string): Promise<MessageRow | undefined> => {
    const row = (await db.query<MessageRow>('SELECT * FROM messages WHERE id = $1 AND conversation_id = $2', [messageId, conversationId])).rows[0];
    return row === undefined ? undefined : { ...row, seq: Number(row.seq) };
  };

  const touch = (db: Queryable, conversationId: string, now: string): Promise<unknown> =>
    db.query('UPDATE conversations SET updated_at = $1 WHERE id = $2', [now, conversationId]);

  const imageBytesOf = async (db: Queryable, conversationId: string): Promise<number> =>
    Number(
      (await db.query<{ total: string }>('SELECT COALESCE(SUM(bytes), 0) AS total FROM attachments WHERE conversation_id = $1', [conversationId])).rows[0]
        ?.total ?? 0,
    );

  const insertMessage = async (db: Queryable, conversationId: string, message: NewMessage, now: string, imageBytes: number): Promise<Message> => {
    const row = newMessageRow(conversationId, message, now, imageBytes);
    const images = message.images ?? [];
    await db.query(
      `INSERT INTO messages (id, conversation_id, role, content, status, model, provider, created_at, reasoning)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
      [row.id, row.conversation_id, row.role, row.content, row.status, row.model, row.provider, row.created_at, row.reasoning],
    );
    const saved = toMessage(row);
    if (images.length > 0) {
      saved.images = [];
      for (const image of images) {
        const id = randomUUID();
        await db.query(`INSERT INTO attachments (id, message_id, conversation_id, kind, media_type, bytes, data) VALUES ($1, $2, $3, 'image', $4, $5, $6)`, [
          id,
          row.id,
          conversationId,
          image.mediaType,
          image.data.byteLength,
          toBuffer(image.data),
        ]);
        saved.images.push({ id, mediaType: image.mediaType, bytes: image.data.byteLength });
      }
    }
    return saved;
  };

  const imagesOfMessage = async (db: Queryable, messageId: string): Promise<StoredImage[]> =>
    (await db.query<ImageRow>('SELECT id, media_type, bytes FROM attachments WHERE message_id = $1 ORDER BY seq', [messageId])).rows.map(toStoredImage);

  return {
    async list(options = {}) {
      await open();
      const { needle, limit, offset } = listWindow(options);
      const rows = (
        await pool.query<ConversationRow & { message_count: number }>(
          `SELECT c.id, c.title, c.system_prompt, c.model, c.provider, c.created_at, c.updated_at,
                  (SELECT COUNT(*) FROM messages m WHERE m.conversation_id = c.id)::int AS message_count
           FROM conversations c
           WHERE $1::text IS NULL
              OR strpos(lower(c.title), $1) > 0
              OR EXISTS (SELECT 1 FROM messages m WHERE m.conversation_id = c.id AND strpos(lower(m.content), $1) > 0)
           ORDER BY c.updated_at DESC, c.id DESC
           LIMIT $2 OFFSET $3`,
          [needle, limit, offset],
        )
      ).rows;
      const summaries: ConversationSummary[] = [];
      for (const row of rows) {
        const match = wantsSnippet(row, needle)
          ? (
              await pool.query<{ content: string }>(
                'SELECT content FROM messages WHERE conversation_id = $1 AND strpos(lower(content), $2) > 0 ORDER BY seq LIMIT 1',
                [row.id, needle],
              )
            ).rows[0]
          : undefined;
        summaries.push(toSummary(row, needle, match?.content));
      }
      return summaries;
    },

    async create(input = {}) {
      await open();
      refuse(fieldsProblem(input));
      const row = newConversationRow(input, clock());
      await pool.query(`INSERT INTO conversations (${CONVERSATION_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7)`, [
        row.id,
        row.title,
        row.system_prompt,
        row.model,
        row.provider,
        row.created_at,
        row.updated_at,
      ]);
      return toConversation(row);
    },

    async get(id) {
      await open();
      return inTransaction(pool, async (client) => {
        const row = await conversationRow(client, id);
        if (row === undefined) return undefined;
        const messages = (await client.query<MessageRow>('SELECT * FROM messages WHERE conversation_id = $1 ORDER BY seq', [id])).rows.map(toMessage);
        const imageRows = await client.query<ImageRow>('SELECT id, message_id, media_type, bytes FROM attachments WHERE conversation_id = $1 ORDER BY seq', [
          id,
        ]);
        attachImages(messages, imageRows.rows);
        return { ...toConversation(row), messages };
      });
    },

    async update(id, patch) {
      await open();
      refuse(fieldsProblem(patch));
      return inTransaction(pool, async (client) => {
        const row = await conversationRow(client, id, true);
        if (row === undefined) return undefined;
        const next = patchedConversationRow(row, patch, clock());
        await client.query('UPDATE conversations SET title = $1, system_prompt = $2, model = $3, provider = $4, updated_at = $5 WHERE id = $6', [
          next.title,
          next.system_prompt,
          next.model,
          next.provider,
          next.updated_at,
          id,
        ]);
        return toConversation(next);
      });
    },

    async delete(id) {
      await open();
      return ((await pool.query('DELETE FROM conversations WHERE id = $1', [id])).rowCount ?? 0) > 0;
    },

    async clear() {
      await open();
      return (await pool.query('DELETE FROM conversations')).rowCount ?? 0;
    },

    async appendMessage(conversationId, message, options = {}) {
      await open();
      return inTransaction(pool, async (client) => {
        // The row lock orders concurrent appends to one conversation (replicas included).
        if ((await conversationRow(client, conversationId, true)) === undefined) return undefined;
        let kept: NewImage[] = [];
        if (options.replaceFrom !== undefined) {
          const from = await messageRow(client, options.replaceFrom, conversationId);
          if (from === undefined) return undefined;
          if (options.keepImages === true) {
            const rows = await client.query<{ media_type: string; data: Buffer }>(
              'SELECT media_type, data FROM attachments WHERE message_id = $1 ORDER BY seq',
              [from.id],
            );
            kept = rows.rows.map(toNewImage);
          }
          await client.query('DELETE FROM messages WHERE conversation_id = $1 AND seq >= $2', [conversationId, from.seq]);
        }
        const now = clock();
        const images = [...kept, ...(message.images ?? [])];
        const saved = await insertMessage(
          client,
          conversationId,
          images.length === 0 ? message : { ...message, images },
          now,
          await imageBytesOf(client, conversationId),
        );
        await touch(client, conversationId, now);
        return saved;
      });
    },

    async updateMessage(conversationId, messageId, patch: MessagePatch) {
      await open();
      checkMessagePatch(patch);
      return inTransaction(pool, async (client) => {
        const row = await messageRow(client, messageId, conversationId);
        if (row === undefined) return undefined;
        const next = patchedMessageRow(row, patch);
        await client.query('UPDATE messages SET content = $1, reasoning = $2, status = $3, model = $4, provider = $5 WHERE seq = $6', [
          next.content,
          next.reasoning,
          next.status,
          next.model,
          next.provider,
          row.seq,
        ]);
        await touch(client, conversationId, clock());
        const updated = toMessage(next);
        const images = await imagesOfMessage(client, row.id);
        if (images.length > 0) updated.images = images;
        return updated;
      });
    },

    async deleteMessagesFrom(conversationId, messageId) {
      await open();
      return inTransaction(pool, async (client) => {
        const row = await messageRow(client, messageId, conversationId);
        if (row === undefined) return 0;
        const deleted = (await client.query('DELETE FROM messages WHERE conversation_id = $1 AND seq >= $2', [conversationId, row.seq])).rowCount ?? 0;
        await touch(client, conversationId, clock());
        return deleted;
      });
    },

    async getImage(conversationId, imageId) {
      await open();
      const row = (
        await pool.query<ImageRow & { data: Buffer }>('SELECT id, media_type, bytes, data FROM attachments WHERE id = $1 AND conversation_id = $2', [
          imageId,
          conversationId,
        ])
      ).rows[0];
      return row === undefined ? undefined : { ...toStoredImage(row), data: row.data };
    },

    async imageData(conversationId, ids) {
      await open();
      const found = new Map<string, Uint8Array>();
      if (ids !== undefined && ids.length === 0) return found;
      const rows =
        ids === undefined
          ? await pool.query<{ id: string; data: Buffer }>('SELECT id, data FROM attachments WHERE conversation_id = $1 ORDER BY seq', [conversationId])
          : await pool.query<{ id: string; data: Buffer }>('SELECT id, data FROM attachments WHERE conversation_id = $1 AND id = ANY($2) ORDER BY seq', [
              conversationId,
              [...new Set(ids)],
            ]);
      for (const row of rows.rows) found.set(row.id, row.data);
      return found;
    },

    async importConversation(data) {
      await open();
      refuse(importProblem(data));
      return inTransaction(pool, async (client) => {
        const now = clock();
        const conversation = importedConversationRow(data, now);
        await client.query(`INSERT INTO conversations (${CONVERSATION_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7)`, [
          conversation.id,
          conversation.title,
          conversation.system_prompt,
          conversation.model,
          conversation.provider,
          conversation.created_at,
          conversation.updated_at,
        ]);
        let imageBytes = 0;
        const messages: Message[] = [];
        for (const message of data.messages) {
          const { createdAt: messageTime, ...rest } = message;
          const saved = await insertMessage(client, conversation.id, { ...rest, createdAt: importedTime(messageTime, now) }, now, imageBytes);
          for (const image of saved.images ?? []) imageBytes += image.bytes;
          messages.push(saved);
        }
        return { ...toConversation(conversation), messages };
      });
    },

    async close() {
      if (closed) return;
      closed = true;
      await shared.release();
    },
  };
}
