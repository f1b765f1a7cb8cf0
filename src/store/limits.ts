/**
 * What a conversation may hold: one set of limits for every way in (the page's API when a
 * conversation is created, changed, sent to or imported; the store itself; the page, which checks
 * a message before sending it). Characters are string lengths (UTF-16 code units); image sizes
 * are bytes, decoded.
 *
 * Pure data and pure functions, no imports: the page bundles this file.
 *
 * The import limits are sized so that the largest allowed import, read back by the page right
 * after, fits the heap `g4f serve` runs with (bench/import-memory.ts measures it).
 */
const MIB = 1024 * 1024;
/** The media types an attached image may have (those every vision upstream takes). */
export const IMAGE_MEDIA_TYPES = ['image/png', 'image/jpeg', 'image/gif', 'image/webp'] as const;
export type ImageMediaType = (typeof IMAGE_MEDIA_TYPES)[number];

/** Characters of the base64 text of `bytes` bytes (padded). */
export function base64Chars(bytes: number): number {
  return Math.ceil(bytes / 3) * 4;
}

const IMAGE_BYTES = 5 * MIB;
const CONVERSATION_IMAGE_BYTES = 10 * MIB;
/** The JSON of a sent message without its images (its text, with room for escapes). */
const SEND_TEXT_BYTES = 4 * MIB;

export const CONVERSATION_LIMITS = {
  /** A title as given (it is stored cut to one line of 200 characters). */
  titleChars: 2_000,
  systemPromptChars: 200_000,
  /** One message, whoever wrote it (sent from the page, or imported). */
  messageChars: 500_000,
  modelChars: 200,
  providerChars: 200,
  /** Messages in one import. */
  importMessages: 10_000,
  /** The text of one import (a JSON or Markdown export), without the base64 of its images. */
  importChars: 10_000_000,
  /**
   * The request body of an import (its text inside JSON, in UTF-8). Twice `importChars`: room
   * for escapes and non-ASCII text, yet a body at this size is refused by `importChars` before
   * it can exhaust the heap.
   */
  importBodyBytes: 20_000_000,
  /** One attached image, decoded (PNG, JPEG, GIF or WebP). */
  imageBytes: IMAGE_BYTES,
  /** Images attached to one message. */
  messageImages: 4,
  /**
   * The images of one conversation together, decoded (so of one message too). Every later turn
   * sends them upstream again and a JSON export carries them as base64 (4/3 of their size), which
   * must fit the import's body limit with the text.
   */
  conversationImageBytes: CONVERSATION_IMAGE_BYTES,
  /** The request body of one send from the page: its text and its images as base64 data URLs. */
  sendBodyBytes: SEND_TEXT_BYTES + base64Chars(CONVERSATION_IMAGE_BYTES) + 64 * 1024,
  /**
   * The base64 characters of the images of a JSON import, counted apart from `importChars` (the
   * text); the import's body limit holds for both together.
   */
  importImageChars: base64Chars(CONVERSATION_IMAGE_BYTES) + 64 * 1024,
} as const;

export type ConversationLimits = typeof CONVERSATION_LIMITS;

/** A value over its limit: the field (as the request names it) and a sentence naming the limit. */
export interface LimitProblem {
  param: string;
  message: string;
}

export interface LimitedFields {
  title?: string | undefined;
  systemPrompt?: string | undefined;
  model?: string | undefined;
  provider?: string | undefined;
}

export interface LimitedImport extends LimitedFields {
  messages: ReadonlyArray<{
    content: string;
    reasoning?: string | undefined;
    model?: string | undefined;
    provider?: string | undefined;
    images?: ReadonlyArray<{ mediaType: string; data: { byteLength: number } }> | undefined;
  }>;
}

const FIELDS = [
  ['title', 'titleChars'],
  ['systemPrompt', 'systemPromptChars'],
  ['model', 'modelChars'],
  ['provider', 'providerChars'],
] as const;

function count(value: number): string {
  return value.toLocaleString('en-US');
}

function tooLong(param: string, length: number, limit: number): LimitProblem {
  return { param, message: `${param} is ${count(length)} characters long; the limit is ${count(limit)} characters.` };
}

/** The first of a conversation's title, system prompt, model and provider that is over its limit. */
export function fieldsProblem(fields: LimitedFields, prefix = ''): LimitProblem | undefined {
  for (const [field, limit] of FIELDS) {
    const value = fields[field];
    if (value !== undefined && value.length > CONVERSATION_LIMITS[limit]) return tooLong(`${prefix}${field}`, value.length, CONVERSATION_LIMITS[limit]);
  }
  return undefined;
}

/**
 * The text of an import, before it is parsed. `imageChars`: how many of its characters are the
 * base64 data of images (a JSON export's), which have their own limit.
 */
export function importTextProblem(length: number, imageChars = 0): LimitProblem | undefined {
  const limit = CONVERSATION_LIMITS.importChars;
  const text = length - imageChars;
  if (text > limit) return { param: 'content', message: `The import is ${count(text)} characters long; the limit is ${count(limit)} characters.` };
  const imageLimit = CONVERSATION_LIMITS.importImageChars;
  if (imageChars > imageLimit) {
    return {
      param: 'content',
      message: `The images of the import are ${count(imageChars)} characters of base64; the limit is ${count(imageLimit)} characters.`,
    };
  }
  return undefined;
}

/** An image as the limits see it: its media type and its size in bytes (decoded). */
export interface LimitedImage {
  mediaType: string;
  bytes: number;
}

function mebibytes(bytes: number): string {
  return `${(bytes / MIB).toLocaleString('en-US', { maximumFractionDigits: 1 })} MiB`;
}

/**
 * The images of one message: how many, the media type and size of each, and their size together
 * with `conversationBytes` (the images the conversation holds already) against the conversation's limit.
 * `param` names the field of the message's images (`images`, `messages.3.images`).
 */
export function imagesProblem(images: readonly LimitedImage[], param = 'images', conversationBytes = 0): LimitProblem | undefined {
  const { imageBytes, messageImages, conversationImageBytes } = CONVERSATION_LIMITS;
  if (images.length > messageImages) {
    return { param, message: `The message has ${count(images.length)} images; the limit is ${count(messageImages)} images per message.` };
  }
  let total = 0;
  for (const [index, image] of images.entries()) {
    if (!(IMAGE_MEDIA_TYPES as readonly string[]).includes(image.mediaType)) {
      return { param: `${param}.${index}`, message: `The image's media type "${image.mediaType}" is not supported (${IMAGE_MEDIA_TYPES.join(', ')}).` };
    }
    if (!(image.bytes > 0)) return { param: `${param}.${index}`, message: 'The image is empty.' };
    if (image.bytes > imageBytes) {
      return {
        param: `${param}.${index}`,
        message: `The image is ${mebibytes(image.bytes)} (${count(image.bytes)} bytes); the limit is ${mebibytes(imageBytes)} per image.`,
      };
    }
    total += image.bytes;
  }
  if (conversationBytes + total > conversationImageBytes) {
    return {
      param,
      message: `The conversation would hold ${mebibytes(conversationBytes + total)} of images; the limit is ${mebibytes(conversationImageBytes)} per conversation. Start a new conversation for more images.`,
    };
  }
  return undefined;
}

/** The first limit a parsed import passes: its fields, its number of messages, each message. */
export function importProblem(data: LimitedImport): LimitProblem | undefined {
  const fields = fieldsProblem(data, 'conversation.');
  if (fields !== undefined) return fields;
  const { importMessages, messageChars, modelChars, providerChars } = CONVERSATION_LIMITS;
  if (data.messages.length > importMessages) {
    return { param: 'messages', message: `The import has ${count(data.messages.length)} messages; the limit is ${count(importMessages)} messages.` };
  }
  let imageBytes = 0;
  for (const [index, message] of data.messages.entries()) {
    if (message.content.length > messageChars) return tooLong(`messages.${index}.content`, message.content.length, messageChars);
    if (message.reasoning !== undefined && message.reasoning.length > messageChars)
      return tooLong(`messages.${index}.reasoning`, message.reasoning.length, messageChars);
    if (message.images !== undefined && message.images.length > 0) {
      const images = message.images.map((image) => ({ mediaType: image.mediaType, bytes: image.data.byteLength }));
      const problem = imagesProblem(images, `messages.${index}.images`, imageBytes);
      if (problem !== undefined) return problem;
      for (const image of images) imageBytes += image.bytes;
    }
    if (message.model !== undefined && message.model.length > modelChars) return tooLong(`messages.${index}.model`, message.model.length, modelChars);
    if (message.provider !== undefined && message.provider.length > providerChars) {
      return tooLong(`messages.${index}.provider`, message.provider.length, providerChars);
    }
  }
  return undefined;
}
