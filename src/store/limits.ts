/**
 * What a conversation may hold: one set of limits for every way in (the page's API when a
 * conversation is created, changed, sent to or imported; the store itself; the page, which checks
 * a message before sending it). Characters are string lengths (UTF-16 code units).
 *
 * Pure data and pure functions, no imports: the page bundles this file.
 *
 * The import limits are sized so that the largest allowed import, read back by the page right
 * after, fits the heap `g4f serve` runs with (bench/import-memory.ts measures it).
 */
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
  /** The text of one import (a JSON or Markdown export). */
  importChars: 10_000_000,
  /**
   * The request body of an import (its text inside JSON, in UTF-8). Twice `importChars`: room
   * for escapes and non-ASCII text, yet a body at this size is refused by `importChars` before
   * it can exhaust the heap.
   */
  importBodyBytes: 20_000_000,
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
  messages: ReadonlyArray<{ content: string; model?: string | undefined; provider?: string | undefined }>;
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

/** The text of an import, before it is parsed. */
export function importTextProblem(length: number): LimitProblem | undefined {
  const limit = CONVERSATION_LIMITS.importChars;
  return length > limit ? { param: 'content', message: `The import is ${count(length)} characters long; the limit is ${count(limit)} characters.` } : undefined;
}

/** The first limit a parsed import passes: its fields, its number of messages, each message. */
export function importProblem(data: LimitedImport): LimitProblem | undefined {
  const fields = fieldsProblem(data, 'conversation.');
  if (fields !== undefined) return fields;
  const { importMessages, messageChars, modelChars, providerChars } = CONVERSATION_LIMITS;
  if (data.messages.length > importMessages) {
    return { param: 'messages', message: `The import has ${count(data.messages.length)} messages; the limit is ${count(importMessages)} messages.` };
  }
  for (const [index, message] of data.messages.entries()) {
    if (message.content.length > messageChars) return tooLong(`messages.${index}.content`, message.content.length, messageChars);
    if (message.model !== undefined && message.model.length > modelChars) return tooLong(`messages.${index}.model`, message.model.length, modelChars);
    if (message.provider !== undefined && message.provider.length > providerChars) {
      return tooLong(`messages.${index}.provider`, message.provider.length, providerChars);
    }
  }
  return undefined;
}
