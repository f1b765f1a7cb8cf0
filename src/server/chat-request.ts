/**
 * The body of `POST /v1/chat/completions`: checked with zod, then turned into a routed request.
 * Fields this server does not interpret are passed to the upstream as they came; only what cannot
 * be honoured faithfully is refused (more than one choice, tool calls, non-text content).
 */
import { z } from 'zod';
import { InvalidRequestError } from '../core/errors.js';
import type { ChatMessage } from '../core/spec.js';
import type { RouteRequest } from '../routing/types.js';

const textPart = z.object({ type: z.literal('text'), text: z.string() });

const message = z.object({
  role: z.enum(['system', 'developer', 'user', 'assistant']),
  content: z.union([z.string(), z.array(textPart), z.null()]),
  name: z.string().optional(),
});

const messageList = z.array(message).min(1, 'must contain at least one message');

const optionalNumber = (min: number, max: number) => z.number().min(min).max(max).nullish();

/** What the server checks. `messages` is checked apart (see plainMessages); the rest passes through. */
const chatBody = z.object({
  model: z.string().min(1, 'must be a non-empty string'),
  messages: z.unknown(),
  stream: z.boolean().nullish(),
  stream_options: z.object({ include_usage: z.boolean().nullish() }).nullish(),
  provider: z.string().min(1).nullish(),
  temperature: optionalNumber(0, 2),
  top_p: optionalNumber(0, 1),
  presence_penalty: optionalNumber(-2, 2),
  frequency_penalty: optionalNumber(-2, 2),
  max_tokens: z.int().positive().nullish(),
  max_completion_tokens: z.int().positive().nullish(),
  n: z.literal(1, 'only n=1 is supported').nullish(),
  stop: z.union([z.string(), z.array(z.string()).max(4)]).nullish(),
  seed: z.int().nullish(),
  user: z.string().nullish(),
  tools: z.array(z.unknown()).max(0, 'tool calls are not supported by this server').nullish(),
  functions: z.array(z.unknown()).max(0, 'function calls are not supported by this server').nullish(),
});

/** Fields read here, not passed on as they are. */
const INTERPRETED = new Set(['model', 'messages', 'stream', 'stream_options', 'provider', 'temperature', 'n', 'tools', 'functions']);

/** Fields the router and providers read for themselves: a client may not set them. */
const RESERVED = new Set(['signal', 'timeouts', 'limits', 'auth', 'apiKey', 'healthExempt', '__proto__']);

export interface ParsedChatRequest {
  request: RouteRequest;
  stream: boolean;
  includeUsage: boolean;
  /** The model as the client asked for it. */
  model: string;
}

function formatPath(path: readonly PropertyKey[]): string {
  let text = '';
  for (const key of path) text += typeof key === 'number' ? `[${key}]` : text === '' ? String(key) : `.${String(key)}`;
  return text;
}

function invalid(issues: readonly z.core.$ZodIssue[], prefix: readonly PropertyKey[] = []): InvalidRequestError {
  const issue = issues[0];
  const param = issue === undefined ? formatPath(prefix) : formatPath([...prefix, ...issue.path]);
  const detail = issue?.message ?? 'invalid request';
  return new InvalidRequestError(param ? `Invalid value for '${param}': ${detail}` : detail, param || undefined);
}

/**
 * The messages as they came when every one is exactly `{role, content}` with a plain role and
 * string content (the usual case: no copy), else undefined.
 */
function plainMessages(list: unknown): ChatMessage[] | undefined {
  if (!Array.isArray(list) || list.length === 0) return undefined;
  for (const item of list as unknown[]) {
    if (typeof item !== 'object' || item === null) return undefined;
    const { role, content } = item as { role?: unknown; content?: unknown };
    if (typeof content !== 'string' || (role !== 'user' && role !== 'system' && role !== 'assistant')) return undefined;
    let keys = 0;
    for (const key in item) if (Object.hasOwn(item, key)) keys += 1;
    if (keys !== 2) return undefined;
  }
  return list as ChatMessage[];
}

/** A content part other than text gets its own clear refusal, naming it. */
function refuseNonTextParts(list: unknown): void {
  if (!Array.isArray(list)) return;
  (list as unknown[]).forEach((item, index) => {
    const content = typeof item === 'object' && item !== null ? (item as { content?: unknown }).content : undefined;
    if (!Array.isArray(content)) return;
    (content as unknown[]).forEach((part, partIndex) => {
      const type = typeof part === 'object' && part !== null ? (part as { type?: unknown }).type : undefined;
      if (type === 'text' || typeof type !== 'string') return;
      const param = `messages[${index}].content[${partIndex}]`;
      throw new InvalidRequestError(
        `Invalid value for '${param}': only text content parts are supported by this server (got a part of type '${type}').`,
        param,
      );
    });
  });
}

/** Any accepted shape of messages, turned into `{role, content}` with text content. */
function normalizedMessages(list: unknown): ChatMessage[] {
  refuseNonTextParts(list);
  const result = messageList.safeParse(list);
  if (!result.success) throw invalid(result.error.issues, ['messages']);
  return result.data.map((item) => {
    let content = '';
    if (typeof item.content === 'string') content = item.content;
    // Text parts are separate passages: a line break between them, as text-only providers take one text.
    else if (item.content !== null) content = item.content.map((part) => part.text).join('\n');
    return { role: item.role === 'developer' ? 'system' : item.role, content };
  });
}

/** Validates a parsed JSON body; throws InvalidRequestError naming the field at fault. */
export function parseChatRequest(body: unknown): ParsedChatRequest {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new InvalidRequestError('The request body must be a JSON object.');
  }
  const fields = body as Record<string, unknown>;
  const result = chatBody.safeParse(body);
  if (!result.success) throw invalid(result.error.issues);
  if (fields.messages === undefined) throw new InvalidRequestError("Invalid value for 'messages': is required", 'messages');
  const parsed = result.data;
  const messages = plainMessages(fields.messages) ?? normalizedMessages(fields.messages);
  const stream = parsed.stream === true;
  const request: RouteRequest = { model: parsed.model, messages, stream };
  if (parsed.temperature !== undefined && parsed.temperature !== null) request.temperature = parsed.temperature;
  if (parsed.provider !== undefined && parsed.provider !== null) request.provider = parsed.provider;
  for (const key in fields) {
    if (INTERPRETED.has(key) || !Object.hasOwn(fields, key)) continue;
    if (RESERVED.has(key)) throw new InvalidRequestError(`Invalid value for '${key}': this field cannot be set in a request.`, key);
    const value = fields[key];
    // null is OpenAI's "not set".
    if (value !== null && value !== undefined) request[key] = value;
  }
  const includeUsage = stream && parsed.stream_options?.include_usage === true;
  // Asking the upstream for its usage too: counted locally only when it gives none.
  if (includeUsage) request.stream_options = { include_usage: true };
  return { request, stream, includeUsage, model: parsed.model };
}
