/**
 * The body of `POST /v1/chat/completions`, OpenAI's wire format, turned into the contract's
 * request: messages with images and tool calls, typed call settings, and every other field kept
 * in `extraBody` for the upstream. What cannot be carried faithfully is refused with a 400
 * naming the field; nothing is dropped.
 */
import { z } from 'zod';
import { InvalidRequestError } from '../core/errors.js';
import type { CallSettings, ChatMessage, ContentPart, ResponseFormat, ToolCall, ToolChoice, ToolDefinition } from '../core/spec.js';
import { OPENAI_MODELED_FIELDS, OPENAI_SCALAR_SETTINGS } from '../providers/openai-wire.js';
import type { RouteRequest } from '../routing/types.js';
import {
  chosenFunction,
  contentParts,
  functionTool,
  imagePart,
  invalid,
  isRecord,
  issueError,
  TOOL_NAME,
  TOOL_NAME_RULE,
  toolChoiceMode,
  typeName,
} from './openai-request.js';

const optionalNumber = (min: number, max: number) => z.number().min(min).max(max).nullish();

/** The top-level fields this server checks; `messages` and `tools` are read apart, by hand, to name the exact part at fault. */
const chatBody = z.object({
  model: z.string().min(1, 'must be a non-empty string'),
  stream: z.boolean().nullish(),
  stream_options: z.object({ include_usage: z.boolean().nullish() }).nullish(),
  provider: z.string().min(1).nullish(),
  temperature: optionalNumber(0, 2),
  top_p: optionalNumber(0, 1),
  presence_penalty: optionalNumber(-2, 2),
  frequency_penalty: optionalNumber(-2, 2),
  max_tokens: z.int().positive().nullish(),
  max_completion_tokens: z.int().positive().nullish(),
  n: z.int().min(1).max(128).nullish(),
  logprobs: z.boolean().nullish(),
  top_logprobs: z.int().min(0).max(20).nullish(),
  stop: z.union([z.string(), z.array(z.string()).max(4)]).nullish(),
  seed: z.int().nullish(),
  user: z.string().nullish(),
  parallel_tool_calls: z.boolean().nullish(),
  reasoning_effort: z.string().min(1).nullish(),
  response_format: z
    .discriminatedUnion('type', [
      z.object({ type: z.literal('text') }),
      z.object({ type: z.literal('json_object') }),
      z.object({
        type: z.literal('json_schema'),
        json_schema: z.object({
          name: z.string().regex(TOOL_NAME, TOOL_NAME_RULE),
          description: z.string().optional(),
          schema: z.record(z.string(), z.unknown()).optional(),
          strict: z.boolean().nullish(),
        }),
      }),
    ])
    .nullish(),
});

/** Fields the router and providers read for themselves: a client may not set them. */
const RESERVED = new Set(['signal', 'timeouts', 'limits', 'auth', 'apiKey', 'healthExempt', 'extraBody', 'providerOptions', '__proto__']);

/** Read here and not passed on as they are (besides the modeled ones). */
const OWN_FIELDS = new Set(['stream_options', 'provider']);

export interface ParsedChatRequest {
  request: RouteRequest;
  stream: boolean;
  includeUsage: boolean;
  /** The model as the client asked for it. */
  model: string;
  /** Whether a message carries an image (such a body may use the larger image body limit). */
  hasImages: boolean;
}

export interface ChatRequestLimits {
  /** Largest decoded size of one data-URL image, bytes. */
  imageBytes: number;
}

/** Text from a string or a list of text parts (system, developer, tool and assistant content). */
function textContent(content: unknown, param: string, allowNull: boolean): string | null {
  if (typeof content === 'string') return content;
  if ((content === null || content === undefined) && allowNull) return null;
  if (!Array.isArray(content)) throw invalid(param, `expected a string or a list of text parts, got ${typeName(content)}`);
  const texts: string[] = [];
  content.forEach((part: unknown, index) => {
    const type = isRecord(part) ? part.type : undefined;
    if ((type === 'text' || type === 'refusal') && typeof (part as { text?: unknown; refusal?: unknown })[type] === 'string') {
      texts.push((part as Record<string, string>)[type] as string);
      return;
    }
    throw invalid(`${param}[${index}]`, `only text parts are allowed here (got ${typeof type === 'string' ? `a part of type '${type}'` : typeName(part)})`);
  });
  // Separate passages: a line break between them.
  return texts.join('\n');
}

function userContent(content: unknown, param: string, limits: ChatRequestLimits, found: { images: boolean }): string | ContentPart[] {
  return contentParts(content, param, (part, at) => {
    if (part.type === 'text') {
      if (typeof part.text !== 'string') throw invalid(`${at}.text`, 'expected a string');
      return { type: 'text', text: part.text };
    }
    if (part.type === 'image_url') {
      const image = part.image_url;
      const url = typeof image === 'string' ? image : isRecord(image) ? image.url : undefined;
      const detail = isRecord(image) ? image.detail : undefined;
      return imagePart(url, `${at}.image_url.url`, detail, `${at}.image_url.detail`, limits.imageBytes, found);
    }
    const type = typeof part.type === 'string' ? `'${part.type}'` : typeName(part.type);
    throw invalid(at, `content parts of type ${type} are not supported by this server (text and image_url are)`);
  });
}

function toolCalls(value: unknown, param: string): ToolCall[] | undefined {
  if (value === undefined || value === null) return undefined;
  if (!Array.isArray(value)) throw invalid(param, `expected a list, got ${typeName(value)}`);
  return value.map((item: unknown, index): ToolCall => {
    const at = `${param}[${index}]`;
    if (!isRecord(item)) throw invalid(at, 'expected a tool call object');
    if (typeof item.id !== 'string' || item.id === '') throw invalid(`${at}.id`, 'is required');
    if (item.type !== undefined && item.type !== 'function') throw invalid(`${at}.type`, "only 'function' tool calls are supported");
    const fn = item.function;
    if (!isRecord(fn) || typeof fn.name !== 'string' || fn.name === '') throw invalid(`${at}.function.name`, 'is required');
    if (typeof fn.arguments !== 'string') throw invalid(`${at}.function.arguments`, 'expected the arguments as a JSON string');
    return { id: item.id, name: fn.name, arguments: fn.arguments };
  });
}

function parseMessages(list: unknown, limits: ChatRequestLimits, found: { images: boolean }): ChatMessage[] {
  if (list === undefined) throw invalid('messages', 'is required');
  if (!Array.isArray(list)) throw invalid('messages', `expected a list of messages, got ${typeName(list)}`);
  if (list.length === 0) throw invalid('messages', 'must contain at least one message');
  return list.map((item: unknown, index): ChatMessage => {
    const at = `messages[${index}]`;
    if (!isRecord(item)) throw invalid(at, `expected a message object, got ${typeName(item)}`);
    const role = item.role;
    const name = item.name;
    if (name !== undefined && name !== null && typeof name !== 'string') throw invalid(`${at}.name`, 'expected a string');
    switch (role) {
      case 'system':
      case 'developer':
        return { role, content: textContent(item.content, `${at}.content`, false) as string };
      case 'user': {
        const message: ChatMessage = { role: 'user', content: userContent(item.content, `${at}.content`, limits, found) };
        if (typeof name === 'string') message.name = name;
        return message;
      }
      case 'assistant': {
        const calls = toolCalls(item.tool_calls, `${at}.tool_calls`);
        const content = textContent(item.content, `${at}.content`, true);
        if (item.function_call !== undefined && item.function_call !== null) {
          throw invalid(`${at}.function_call`, 'the legacy function_call is not supported: use tool_calls');
        }
        // No text and no calls: an empty turn (OpenAI takes content: null there too).
        const message: ChatMessage = { role: 'assistant', content: content === null && (calls === undefined || calls.length === 0) ? '' : content };
        if (calls !== undefined && calls.length > 0) message.toolCalls = calls;
        if (typeof item.reasoning_content === 'string' && item.reasoning_content !== '') message.reasoning = item.reasoning_content;
        if (typeof name === 'string') message.name = name;
        return message;
      }
      case 'tool': {
        if (typeof item.tool_call_id !== 'string' || item.tool_call_id === '') {
          throw invalid(`${at}.tool_call_id`, 'is required: the id of the tool call this message answers');
        }
        return { role: 'tool', toolCallId: item.tool_call_id, content: textContent(item.content, `${at}.content`, false) as string };
      }
      case 'function':
        throw invalid(`${at}.role`, "the legacy 'function' role is not supported: use tool messages");
      default:
        throw invalid(`${at}.role`, `expected one of system, developer, user, assistant, tool (got ${JSON.stringify(role) ?? typeName(role)})`);
    }
  });
}

/** A tool message must answer a call an assistant turn before it made. */
function checkToolAnswers(messages: readonly ChatMessage[]): void {
  const calls = new Set<string>();
  messages.forEach((message, index) => {
    if (message.role === 'assistant') for (const call of message.toolCalls ?? []) calls.add(call.id);
    else if (message.role === 'tool' && !calls.has(message.toolCallId)) {
      throw invalid(`messages[${index}].tool_call_id`, `"${message.toolCallId}" answers no tool call of an earlier assistant message`);
    }
  });
}

function parseTools(value: unknown): ToolDefinition[] | undefined {
  if (value === undefined || value === null) return undefined;
  if (!Array.isArray(value)) throw invalid('tools', `expected a list, got ${typeName(value)}`);
  if (value.length === 0) throw invalid('tools', 'must contain at least one tool (leave the field out for none)');
  const names = new Set<string>();
  return value.map((item: unknown, index): ToolDefinition => {
    const at = `tools[${index}]`;
    if (!isRecord(item)) throw invalid(at, 'expected a tool object');
    if (item.type !== 'function') {
      throw invalid(`${at}.type`, `only function tools are supported (got ${JSON.stringify(item.type) ?? typeName(item.type)})`);
    }
    const fn = item.function;
    if (!isRecord(fn)) throw invalid(`${at}.function`, 'is required');
    return functionTool(fn, `${at}.function.`, names);
  });
}

function parseToolChoice(value: unknown, tools: readonly ToolDefinition[] | undefined): ToolChoice | undefined {
  if (value === undefined || value === null) return undefined;
  const mode = toolChoiceMode(value, tools);
  if (mode !== undefined) return mode;
  const name = isRecord(value) && value.type === 'function' && isRecord(value.function) ? value.function.name : undefined;
  if (typeof name !== 'string') throw invalid('tool_choice', "expected 'auto', 'none', 'required' or {type: 'function', function: {name}}");
  return chosenFunction(name, tools);
}

function responseFormat(value: z.infer<typeof chatBody>['response_format']): ResponseFormat | undefined {
  if (value === undefined || value === null) return undefined;
  if (value.type !== 'json_schema') return { type: value.type };
  const format: ResponseFormat = { type: 'json_schema', name: value.json_schema.name, schema: value.json_schema.schema ?? {} };
  if (value.json_schema.description !== undefined) format.description = value.json_schema.description;
  if (value.json_schema.strict !== undefined && value.json_schema.strict !== null) format.strict = value.json_schema.strict;
  return format;
}

/** Validates a parsed JSON body; throws InvalidRequestError naming the field at fault. */
export function parseChatRequest(body: unknown, limits: ChatRequestLimits = { imageBytes: 20 * 1024 * 1024 }): ParsedChatRequest {
  if (!isRecord(body)) throw new InvalidRequestError('The request body must be a JSON object.');
  const result = chatBody.safeParse(body);
  if (!result.success) throw issueError(result.error);
  const parsed = result.data;
  if (body.functions !== undefined && body.functions !== null) throw invalid('functions', 'the legacy functions field is not supported: use tools');
  if (body.function_call !== undefined && body.function_call !== null)
    throw invalid('function_call', 'the legacy function_call field is not supported: use tool_choice');
  const found = { images: false };
  const messages = parseMessages(body.messages, limits, found);
  checkToolAnswers(messages);
  if (parsed.top_logprobs != null && parsed.logprobs !== true) throw invalid('top_logprobs', 'needs "logprobs": true');
  const tools = parseTools(body.tools);
  const stream = parsed.stream === true;
  const request: RouteRequest = { model: parsed.model, messages, stream };
  const settings: CallSettings = request;
  for (const [wire, setting] of OPENAI_SCALAR_SETTINGS) {
    const value = parsed[wire];
    if (value !== undefined && value !== null) (settings as Record<string, unknown>)[setting] = value;
  }
  if (parsed.max_tokens == null && parsed.max_completion_tokens != null) request.maxTokens = parsed.max_completion_tokens;
  if (parsed.stop !== undefined && parsed.stop !== null) request.stop = typeof parsed.stop === 'string' ? [parsed.stop] : parsed.stop;
  if (tools !== undefined) request.tools = tools;
  const toolChoice = parseToolChoice(body.tool_choice, tools);
  if (toolChoice !== undefined) request.toolChoice = toolChoice;
  const format = responseFormat(parsed.response_format);
  if (format !== undefined) request.responseFormat = format;
  if (parsed.provider !== undefined && parsed.provider !== null) request.provider = parsed.provider;
  let extra: Record<string, unknown> | undefined;
  for (const key in body) {
    if (!Object.hasOwn(body, key) || OPENAI_MODELED_FIELDS.has(key) || OWN_FIELDS.has(key)) continue;
    if (RESERVED.has(key)) throw new InvalidRequestError(`Invalid value for '${key}': this field cannot be set in a request.`, key);
    const value = body[key];
    // null is OpenAI's "not set".
    if (value !== null && value !== undefined) (extra ??= {})[key] = value;
  }
  const includeUsage = stream && parsed.stream_options?.include_usage === true;
  // Asking the upstream for its usage too: counted locally only when it gives none.
  if (includeUsage) (extra ??= {}).stream_options = { include_usage: true };
  if (extra !== undefined) request.extraBody = extra;
  return { request, stream, includeUsage, model: parsed.model, hasImages: found.images };
}
