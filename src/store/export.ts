/**
 * Export and import of one conversation, as JSON and as Markdown.
 *
 * JSON: `{ format: "g4f-conversation", version: 2, conversation: {...}, messages: [...] }`; a
 * message carries its images as base64 data URLs (`images: [{url}]`) and an answer its
 * `reasoning` (version 1, without them, imports too).
 * Markdown: a `# Title`, then each message under a `## User` / `## Assistant` / `## System`
 * heading preceded by an HTML comment carrying its metadata, so that an export imports back
 * exactly; hand-written Markdown with only the headings imports too. Its text only: a message's
 * images are noted `[image]` in its heading, and are not imported back.
 */
import { z } from 'zod';
import { InvalidRequestError } from '../core/errors.js';
import { decodeImageDataUrl, imageDataUrl, imagePayloadChars } from './images.js';
import { CONVERSATION_LIMITS, importProblem, importTextProblem } from './limits.js';
import type { ConversationData, ConversationWithMessages, MessageStatus, NewMessage, Role } from './types.js';

export const EXPORT_FORMAT = 'g4f-conversation';
export const EXPORT_VERSION = 2;

const roleSchema = z.enum(['system', 'user', 'assistant']);
const statusSchema = z.enum(['complete', 'streaming', 'stopped', 'interrupted']);

const importSchema = z.object({
  format: z.literal(EXPORT_FORMAT).optional(),
  version: z.number().int().min(1).max(EXPORT_VERSION).optional(),
  conversation: z
    .object({
      title: z.string().optional(),
      systemPrompt: z.string().optional(),
      model: z.string().optional(),
      provider: z.string().optional(),
      createdAt: z.string().optional(),
      updatedAt: z.string().optional(),
    })
    .optional(),
  messages: z.array(
    z.object({
      role: roleSchema,
      content: z.string(),
      reasoning: z.string().optional(),
      images: z.array(z.object({ url: z.string() })).optional(),
      status: statusSchema.optional(),
      model: z.string().optional(),
      provider: z.string().optional(),
      createdAt: z.string().optional(),
    }),
  ),
});

/**
 * The JSON export. `images`: the bytes of the conversation's images by id (ConversationStore's
 * `imageData`); an image whose bytes are not given is left out.
 */
export function exportJson(conversation: ConversationWithMessages, images: ReadonlyMap<string, Uint8Array> = new Map()): string {
  const document = {
    format: EXPORT_FORMAT,
    version: EXPORT_VERSION,
    conversation: {
      title: conversation.title,
      systemPrompt: conversation.systemPrompt,
      model: conversation.model,
      provider: conversation.provider,
      createdAt: conversation.createdAt,
      updatedAt: conversation.updatedAt,
    },
    messages: conversation.messages.map((message) => ({
      role: message.role,
      content: message.content,
      ...(message.reasoning === undefined || message.reasoning === '' ? {} : { reasoning: message.reasoning }),
      ...imagesOf(message.images, images),
      status: message.status,
      ...(message.model === undefined ? {} : { model: message.model }),
      ...(message.provider === undefined ? {} : { provider: message.provider }),
      createdAt: message.createdAt,
    })),
  };
  return `${JSON.stringify(document, null, 2)}\n`;
}

function imagesOf(stored: ConversationWithMessages['messages'][number]['images'], data: ReadonlyMap<string, Uint8Array>): { images?: Array<{ url: string }> } {
  const urls: Array<{ url: string }> = [];
  for (const image of stored ?? []) {
    const bytes = data.get(image.id);
    if (bytes !== undefined) urls.push({ url: imageDataUrl(image.mediaType, bytes) });
  }
  return urls.length === 0 ? {} : { images: urls };
}

export function importJson(text: string): ConversationData {
  checkSize(text, imagePayloadChars(text));
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new InvalidRequestError(`The import is not valid JSON: ${(error as Error).message}`);
  }
  const result = importSchema.safeParse(parsed);
  if (!result.success) {
    const issue = result.error.issues[0];
    const where = issue === undefined ? '' : issue.path.join('.');
    throw new InvalidRequestError(`The import is not a g4f conversation: ${issue?.message ?? 'invalid'}${where ? ` at ${where}` : ''}`, where || undefined);
  }
  const { conversation = {}, messages } = result.data;
  return checkLimits({
    title: conversation.title ?? 'Imported conversation',
    systemPrompt: conversation.systemPrompt ?? '',
    model: conversation.model ?? '',
    provider: conversation.provider ?? '',
    createdAt: conversation.createdAt ?? '',
    updatedAt: conversation.updatedAt ?? '',
    messages: messages.map((message, index) => {
      const imported: NewMessage = { role: message.role, content: message.content, status: importedStatus(message.status) };
      if (message.reasoning !== undefined && message.reasoning !== '') imported.reasoning = message.reasoning;
      if (message.images !== undefined && message.images.length > 0) {
        const param = `messages.${index}.images`;
        const limit = CONVERSATION_LIMITS.messageImages;
        if (message.images.length > limit) {
          throw new InvalidRequestError(`The message has ${message.images.length} images; the limit is ${limit} images per message.`, param);
        }
        imported.images = message.images.map((image, position) => decodeImageDataUrl(image.url, `${param}.${position}.url`));
      }
      if (message.model !== undefined) imported.model = message.model;
      if (message.provider !== undefined) imported.provider = message.provider;
      if (message.createdAt !== undefined) imported.createdAt = message.createdAt;
      return imported;
    }),
  });
}

const HEADINGS: Record<Role, string> = { system: 'System', user: 'User', assistant: 'Assistant' };
const MARKER = '<!-- g4f:';

/** Escapes `<!-- g4f:` inside a text by adding one backslash (`<!-- g4f\:`); reversible. */
function escapeMarkers(text: string): string {
  return text.replace(/<!-- g4f(\\*):/g, '<!-- g4f\\$1:');
}

function unescapeMarkers(text: string): string {
  return text.replace(/<!-- g4f\\(\\*):/g, '<!-- g4f$1:');
}

export function exportMarkdown(conversation: ConversationWithMessages): string {
  const head = {
    version: EXPORT_VERSION,
    systemPrompt: conversation.systemPrompt,
    model: conversation.model,
    provider: conversation.provider,
    createdAt: conversation.createdAt,
    updatedAt: conversation.updatedAt,
  };
  const parts = [`# ${conversation.title.replace(/\n/g, ' ')}`, '', `${MARKER}conversation ${commentJson(head)} -->`, ''];
  for (const message of conversation.messages) {
    const content = escapeMarkers(message.content);
    const meta = {
      role: message.role,
      status: message.status,
      ...(message.model === undefined ? {} : { model: message.model }),
      ...(message.provider === undefined ? {} : { provider: message.provider }),
      createdAt: message.createdAt,
      length: content.length,
    };
    const status = message.status === 'complete' ? '' : ` (${message.status})`;
    const note = `${status}${' [image]'.repeat(message.images?.length ?? 0)}`;
    parts.push(`${MARKER}message ${commentJson(meta)} -->`, `## ${HEADINGS[message.role]}${note}`, '', content, '');
  }
  return `${parts.join('\n')}\n`;
}

/** JSON that cannot close an HTML comment. */
function commentJson(value: unknown): string {
  return JSON.stringify(value).replace(/--/g, '-\\u002d');
}

const markerLine = /^<!-- g4f:(conversation|message) (\{.*\}) -->$/;
const headingLine = /^#{1,3}\s+(system|user|assistant)\b.*$/i;

export function importMarkdown(text: string): ConversationData {
  checkSize(text);
  const normalised = text.replace(/\r\n/g, '\n');
  const titleMatch = /^#\s+(.+)$/m.exec(normalised);
  const data: ConversationData = {
    title: titleMatch?.[1]?.trim() ?? 'Imported conversation',
    systemPrompt: '',
    model: '',
    provider: '',
    createdAt: '',
    updatedAt: '',
    messages: [],
  };
  const lines = normalised.split('\n');
  const hasMarkers = lines.some((line) => markerLine.test(line) && line.startsWith(`${MARKER}message `));
  return checkLimits(hasMarkers ? parseMarked(normalised, data) : parseHeadings(lines, data));
}

/** An export of this module: split on the message markers, take `length` characters of each body. */
function parseMarked(text: string, data: ConversationData): ConversationData {
  const pattern = /^<!-- g4f:(conversation|message) (\{.*\}) -->$/gm;
  const marks = [...text.matchAll(pattern)];
  for (const [index, mark] of marks.entries()) {
    const meta = parseMeta(mark[2] ?? '{}');
    if (mark[1] === 'conversation') {
      data.systemPrompt = stringField(meta, 'systemPrompt');
      data.model = stringField(meta, 'model');
      data.provider = stringField(meta, 'provider');
      data.createdAt = stringField(meta, 'createdAt');
      data.updatedAt = stringField(meta, 'updatedAt');
      continue;
    }
    const role = roleSchema.safeParse(meta.role);
    if (!role.success) throw new InvalidRequestError('A message of the Markdown import has no valid role');
    const end = marks[index + 1]?.index ?? text.length;
    const afterMarker = (mark.index ?? 0) + mark[0].length + 1;
    const section = text.slice(afterMarker, end);
    const headingEnd = section.indexOf('\n');
    const body = headingEnd < 0 ? '' : section.slice(headingEnd + 1);
    const length = typeof meta.length === 'number' ? meta.length : -1;
    // Exact when the body was not edited: a blank line, `length` characters, a blank line.
    const exact = length >= 0 && body.startsWith('\n') && /^\n*$/.test(body.slice(1 + length)) ? body.slice(1, 1 + length) : undefined;
    const status = statusSchema.safeParse(meta.status);
    const message: NewMessage = {
      role: role.data,
      content: unescapeMarkers(exact ?? body.trim()),
      status: importedStatus(status.success ? status.data : undefined),
    };
    const model = stringField(meta, 'model');
    const provider = stringField(meta, 'provider');
    const createdAt = stringField(meta, 'createdAt');
    if (model) message.model = model;
    if (provider) message.provider = provider;
    if (createdAt) message.createdAt = createdAt;
    data.messages.push(message);
  }
  return data;
}

/** Hand-written Markdown: a message starts at each `## User` / `## Assistant` / `## System` heading. */
function parseHeadings(lines: string[], data: ConversationData): ConversationData {
  let current: { role: Role; lines: string[] } | undefined;
  let fence: string | undefined;
  const flush = (): void => {
    if (current === undefined) return;
    data.messages.push({ role: current.role, content: current.lines.join('\n').trim(), status: 'complete' });
  };
  for (const line of lines) {
    const fenceMatch = /^\s*(```+|~~~+)/.exec(line);
    if (fenceMatch?.[1] !== undefined) {
      if (fence === undefined) fence = fenceMatch[1];
      else if (fenceMatch[1].startsWith(fence)) fence = undefined;
    }
    const heading = fence === undefined ? headingLine.exec(line) : null;
    if (heading?.[1] !== undefined) {
      flush();
      current = { role: heading[1].toLowerCase() as Role, lines: [] };
      continue;
    }
    current?.lines.push(line);
  }
  flush();
  if (data.messages.length === 0) {
    throw new InvalidRequestError('The Markdown import has no "## User" or "## Assistant" section');
  }
  return data;
}

function parseMeta(json: string): Record<string, unknown> {
  try {
    const value: unknown = JSON.parse(json);
    return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}

function stringField(record: Record<string, unknown>, key: string): string {
  const value = record[key];
  return typeof value === 'string' ? value : '';
}

/** An answer exported while still streaming is imported as interrupted. */
function importedStatus(status: MessageStatus | undefined): MessageStatus {
  return status === undefined ? 'complete' : status === 'streaming' ? 'interrupted' : status;
}

function checkSize(text: string, imageChars = 0): void {
  const problem = importTextProblem(text.length, imageChars);
  if (problem !== undefined) throw new InvalidRequestError(problem.message, problem.param);
}

/** The limits every way in shares (limits.ts): a long system prompt is refused here as by PATCH. */
function checkLimits(data: ConversationData): ConversationData {
  const problem = importProblem(data);
  if (problem !== undefined) throw new InvalidRequestError(problem.message, problem.param);
  return data;
}
