/** The body of `POST /v1/chat/completions`: checked with zod, then turned into a routed request. */
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

const optionalNumber = (min: number, max: number) => z.number().min(min).max(max).nullish();

const chatBody = z.object({
  model: z.string().min(1, 'must be a non-empty string'),
  messages: z.array(message).min(1, 'must contain at least one message'),
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
});

export type ChatBody = z.infer<typeof chatBody>;

/** Options passed through to the upstream when the client sets them. */
const PASSED_OPTIONS = ['top_p', 'presence_penalty', 'frequency_penalty', 'max_tokens', 'max_completion_tokens', 'stop', 'seed', 'user'] as const;

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

function contentText(content: ChatBody['messages'][number]['content']): string {
  if (content === null) return '';
  if (typeof content === 'string') return content;
  let text = '';
  for (const part of content) text += part.text;
  return text;
}

/** Validates a parsed JSON body; throws InvalidRequestError naming the field at fault. */
export function parseChatRequest(body: unknown): ParsedChatRequest {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new InvalidRequestError('The request body must be a JSON object.');
  }
  const result = chatBody.safeParse(body);
  if (!result.success) {
    const issue = result.error.issues[0];
    const param = issue === undefined ? undefined : formatPath(issue.path);
    const detail = issue?.message ?? 'invalid request';
    throw new InvalidRequestError(param ? `Invalid value for '${param}': ${detail}` : detail, param || undefined);
  }
  const parsed = result.data;
  const messages: ChatMessage[] = parsed.messages.map((item) => ({
    role: item.role === 'developer' ? 'system' : item.role,
    content: contentText(item.content),
  }));
  const stream = parsed.stream === true;
  const request: RouteRequest = { model: parsed.model, messages, stream };
  if (parsed.temperature !== undefined && parsed.temperature !== null) request.temperature = parsed.temperature;
  if (parsed.provider !== undefined && parsed.provider !== null) request.provider = parsed.provider;
  for (const option of PASSED_OPTIONS) {
    const value = parsed[option];
    if (value !== undefined && value !== null) request[option] = value;
  }
  const includeUsage = stream && parsed.stream_options?.include_usage === true;
  // Asking the upstream for its usage too: counted locally only when it gives none.
  if (includeUsage) request.stream_options = { include_usage: true };
  return { request, stream, includeUsage, model: parsed.model };
}
