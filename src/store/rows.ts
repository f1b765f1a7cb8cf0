/**
 * What the SQLite and PostgreSQL stores share: their row shapes (the same schema), the checks
 * of what is written, and the conversions from rows to the store's types.
 */
import { InvalidRequestError } from '../core/errors.js';
import { imagesProblem, type ImageMediaType, type LimitProblem } from './limits.js';
import type {
  Conversation,
  ConversationData,
  ConversationPatch,
  ConversationSummary,
  ListOptions,
  Message,
  MessagePatch,
  MessageStatus,
  NewConversation,
  NewImage,
  NewMessage,
  Role,
  StoredImage,
} from './types.js';
import { randomUUID } from 'node:crypto';

export const DEFAULT_TITLE = 'New conversation';
export const ROLES: ReadonlySet<string> = new Set<Role>(['system', 'user', 'assistant']);
export const STATUSES: ReadonlySet<string> = new Set<MessageStatus>(['complete', 'streaming', 'stopped', 'interrupted']);

export interface ConversationRow {
  id: string;
  title: string;
  system_prompt: string;
  model: string;
  provider: string;
  created_at: string;
  updated_at: string;
  message_count?: number;
}

export interface MessageRow {
  seq: number;
  id: string;
  conversation_id: string;
  role: string;
  content: string;
  status: string;
  model: string | null;
  provider: string | null;
  created_at: string;
  reasoning: string | null;
}

export interface ImageRow {
  id: string;
  message_id: string;
  media_type: string;
  bytes: number;
}

export function newConversationRow(input: NewConversation, now: string): ConversationRow {
  return {
    id: randomUUID(),
    title: cleanTitle(input.title ?? DEFAULT_TITLE),
    system_prompt: input.systemPrompt ?? '',
    model: input.model ?? '',
    provider: input.provider ?? '',
    created_at: now,
    updated_at: now,
  };
}

/** The row of an imported conversation: its times kept where they are ISO dates and not in the future. */
export function importedConversationRow(data: ConversationData, now: string): ConversationRow {
  const row = newConversationRow(
    { title: data.title, systemPrompt: data.systemPrompt, model: data.model, provider: data.provider },
    importedTime(data.createdAt, now),
  );
  row.updated_at = importedTime(data.updatedAt, now);
  return row;
}

/** A conversation's row with a patch applied (a new title is cleaned), touched at `now`. */
export function patchedConversationRow(row: ConversationRow, patch: ConversationPatch, now: string): ConversationRow {
  return {
    ...row,
    title: patch.title === undefined ? row.title : cleanTitle(patch.title),
    system_prompt: patch.systemPrompt ?? row.system_prompt,
    model: patch.model ?? row.model,
    provider: patch.provider ?? row.provider,
    updated_at: now,
  };
}

/** Strictly increasing ISO times, so "newest activity first" has no ties within a process. */
export function createClock(): () => string {
  let lastTime = 0;
  return () => {
    lastTime = Math.max(Date.now(), lastTime + 1);
    return new Date(lastTime).toISOString();
  };
}

/** One line, at most 200 characters; an empty title becomes the default. */
export function cleanTitle(title: string): string {
  const line = title.replace(/\s+/g, ' ').trim();
  const cut = Array.from(line).slice(0, 200).join('');
  return cut === '' ? DEFAULT_TITLE : cut;
}

const ISO_TIME = /^\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?(?:Z|[+-]\d{2}:?\d{2})?)?$/;

/**
 * A time from an import, as the store writes times (`toISOString`): anything that is not an ISO
 * date, or lies in the future (it would pin the conversation to the top of the list), is `now`.
 */
export function importedTime(value: string | undefined, now: string): string {
  if (value === undefined || !ISO_TIME.test(value.trim())) return now;
  const time = Date.parse(value.trim());
  if (!Number.isFinite(time) || time > Date.parse(now)) return now;
  return new Date(time).toISOString();
}

/** A value over the limits shared by every way in (limits.ts). */
export function refuse(problem: LimitProblem | undefined): void {
  if (problem !== undefined) throw new InvalidRequestError(problem.message, problem.param);
}

export function checkMessage(message: NewMessage): void {
  if (!ROLES.has(message.role)) throw new InvalidRequestError(`Unknown message role: ${String(message.role)}`, 'role');
  if (typeof message.content !== 'string') throw new InvalidRequestError('Message content must be a string', 'content');
  if (message.reasoning !== undefined && typeof message.reasoning !== 'string') throw new InvalidRequestError('reasoning must be a string', 'reasoning');
  if (message.status !== undefined && !STATUSES.has(message.status)) {
    throw new InvalidRequestError(`Unknown message status: ${String(message.status)}`, 'status');
  }
}

/**
 * The row of a new message (its `seq` is the database's) after its checks: its role, status and
 * text, and its images with `imageBytes`, the conversation's images before it, against their limits.
 */
export function newMessageRow(conversationId: string, message: NewMessage, now: string, imageBytes: number): MessageRow {
  checkMessage(message);
  const images = message.images ?? [];
  if (images.length > 0) refuse(imagesProblem(images.map(imageLimits), 'images', imageBytes));
  return {
    seq: 0,
    id: randomUUID(),
    conversation_id: conversationId,
    role: message.role,
    content: message.content,
    status: message.status ?? 'complete',
    model: message.model ?? null,
    provider: message.provider ?? null,
    created_at: message.createdAt ?? now,
    reasoning: message.reasoning === undefined || message.reasoning === '' ? null : message.reasoning,
  };
}

export function checkMessagePatch(patch: MessagePatch): void {
  if (patch.status !== undefined && !STATUSES.has(patch.status)) throw new InvalidRequestError(`Unknown message status: ${patch.status}`, 'status');
  if (patch.content !== undefined && typeof patch.content !== 'string') throw new InvalidRequestError('content must be a string', 'content');
  if (patch.reasoning !== undefined && typeof patch.reasoning !== 'string') throw new InvalidRequestError('reasoning must be a string', 'reasoning');
}

/** A message's row with a patch applied (empty reasoning is none). */
export function patchedMessageRow(row: MessageRow, patch: MessagePatch): MessageRow {
  return {
    ...row,
    content: patch.content ?? row.content,
    reasoning: patch.reasoning === undefined ? row.reasoning : patch.reasoning === '' ? null : patch.reasoning,
    status: patch.status ?? row.status,
    model: patch.model ?? row.model,
    provider: patch.provider ?? row.provider,
  };
}

/** Gives each message the images of `rows` (a conversation's, in order) that belong to it. */
export function attachImages(messages: Message[], rows: Iterable<ImageRow>): void {
  const images = new Map<string, StoredImage[]>();
  for (const image of rows) {
    const list = images.get(image.message_id);
    if (list === undefined) images.set(image.message_id, [toStoredImage(image)]);
    else list.push(toStoredImage(image));
  }
  for (const message of messages) {
    const own = images.get(message.id);
    if (own !== undefined) message.images = own;
  }
}

/** A list's search (lower-cased, null for none) and its page, clamped. */
export function listWindow(options: ListOptions): { needle: string | null; limit: number; offset: number } {
  const search = options.search?.trim().toLowerCase() ?? '';
  return {
    needle: search === '' ? null : search,
    limit: clampInteger(options.limit, 200, 1, 1000),
    offset: clampInteger(options.offset, 0, 0, Number.MAX_SAFE_INTEGER),
  };
}

/** Whether a listed conversation matched by its messages, not its title: it then shows a snippet of the first match. */
export function wantsSnippet(row: ConversationRow, needle: string | null): needle is string {
  return needle !== null && !row.title.toLowerCase().includes(needle);
}

/** A listed conversation; `match`: the first message text holding the search, when {@link wantsSnippet}. */
export function toSummary(row: ConversationRow, needle: string | null, match: string | undefined): ConversationSummary {
  const summary: ConversationSummary = { ...toConversation(row), messageCount: row.message_count ?? 0 };
  if (needle !== null && match !== undefined) summary.snippet = excerpt(match, needle);
  return summary;
}

/** An image read back to be written again (kept when a message is replaced). */
export function toNewImage(row: { media_type: string; data: Buffer }): NewImage {
  return { mediaType: row.media_type as ImageMediaType, data: row.data };
}

export function toConversation(row: ConversationRow): Conversation {
  return {
    id: row.id,
    title: row.title,
    systemPrompt: row.system_prompt,
    model: row.model,
    provider: row.provider,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

export function toMessage(row: MessageRow): Message {
  const message: Message = {
    id: row.id,
    conversationId: row.conversation_id,
    role: row.role as Role,
    content: row.content,
    status: row.status as MessageStatus,
    createdAt: row.created_at,
  };
  if (row.model !== null) message.model = row.model;
  if (row.provider !== null) message.provider = row.provider;
  if (row.reasoning !== null && row.reasoning !== undefined) message.reasoning = row.reasoning;
  return message;
}

export function toStoredImage(row: Pick<ImageRow, 'id' | 'media_type' | 'bytes'>): StoredImage {
  return { id: row.id, mediaType: row.media_type as ImageMediaType, bytes: row.bytes };
}

export function imageLimits(image: NewImage): { mediaType: string; bytes: number } {
  return { mediaType: image.mediaType, bytes: image.data.byteLength };
}

export function toBuffer(data: Uint8Array): Buffer {
  return Buffer.isBuffer(data) ? data : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
}

export function clampInteger(value: number | undefined, fallback: number, min: number, max: number): number {
  if (value === undefined || !Number.isFinite(value)) return fallback;
  return Math.min(max, Math.max(min, Math.floor(value)));
}

/** About 120 characters around the first match of `needle` (already lower-cased). */
export function excerpt(text: string, needle: string): string {
  const position = text.toLowerCase().indexOf(needle);
  if (position < 0) return text.slice(0, 120);
  const start = Math.max(0, position - 40);
  const end = Math.min(text.length, position + needle.length + 80);
  return `${start > 0 ? '…' : ''}${text.slice(start, end).replace(/\s+/g, ' ')}${end < text.length ? '…' : ''}`;
}
