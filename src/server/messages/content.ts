/**
 * Anthropic's messages and content blocks turned into the contract's messages: text and images
 * of a user turn, `tool_result` blocks as `tool` messages, `tool_use` blocks as the assistant's
 * tool calls, `thinking` blocks kept as the assistant's reasoning (never sent upstream). A block
 * the contract cannot carry is refused with a 400 naming it.
 */
import { InvalidRequestError } from '../../core/errors.js';
import type { ChatMessage, ContentPart, ToolCall } from '../../core/spec.js';
import { IMAGE_MEDIA_TYPES } from '../images.js';

/**
 * A tool_use block whose input was not a JSON object when this server answered carries the
 * model's text here (see answer-blocks.ts); sent back, that text is what goes upstream again.
 */
export const RAW_ARGUMENTS_FIELD = 'g4f_raw_arguments';

export interface ContentLimits {
  /** Largest decoded size of one base64 image, bytes. */
  imageBytes: number;
}

/** What parsing found, for the body limit (a request with images may be larger). */
export interface ContentFound {
  images: boolean;
}

export function invalid(param: string, detail: string): InvalidRequestError {
  return new InvalidRequestError(`${param}: ${detail}`, param);
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function typeName(value: unknown): string {
  return value === null ? 'null' : Array.isArray(value) ? 'array' : typeof value;
}

function blockType(block: Record<string, unknown>): string {
  return typeof block.type === 'string' ? `'${block.type}'` : typeName(block.type);
}

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

/** An image block's source as the URL the contract carries: a base64 source becomes a data URL, byte for byte. */
function imageUrl(source: unknown, param: string, limits: ContentLimits): string {
  if (!isRecord(source)) throw invalid(param, `expected an image source object, got ${typeName(source)}`);
  if (source.type === 'base64') {
    const mediaType = source.media_type;
    if (typeof mediaType !== 'string' || !IMAGE_MEDIA_TYPES.has(mediaType)) {
      throw invalid(`${param}.media_type`, `expected one of ${[...IMAGE_MEDIA_TYPES].join(', ')}`);
    }
    const data = source.data;
    if (typeof data !== 'string' || data.length === 0 || data.length % 4 !== 0 || !BASE64.test(data)) {
      throw invalid(`${param}.data`, 'the image data is not valid base64');
    }
    const bytes = (data.length / 4) * 3 - (data.endsWith('==') ? 2 : data.endsWith('=') ? 1 : 0);
    if (bytes > limits.imageBytes) throw invalid(`${param}.data`, `the image is ${bytes} bytes, over the limit of ${limits.imageBytes} bytes`);
    return `data:${mediaType};base64,${data}`;
  }
  if (source.type === 'url') {
    const url = source.url;
    let valid = false;
    if (typeof url === 'string' && (url.startsWith('https://') || url.startsWith('http://'))) {
      try {
        new URL(url);
        valid = true;
      } catch {
        valid = false;
      }
    }
    if (!valid) throw invalid(`${param}.url`, 'expected an http or https URL');
    return url as string;
  }
  const type = source.type;
  throw invalid(
    `${param}.type`,
    `image sources of type ${typeof type === 'string' ? `'${type}'` : typeName(type)} are not supported by this server (base64 and url are)`,
  );
}

function textOf(block: Record<string, unknown>, param: string): string {
  if (typeof block.text !== 'string') throw invalid(`${param}.text`, 'expected a string');
  return block.text;
}

/** `system`: a string or a list of text blocks (joined with a line break). */
export function parseSystem(value: unknown, param = 'system'): string | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value === 'string') return value;
  if (!Array.isArray(value)) throw invalid(param, `expected a string or a list of text blocks, got ${typeName(value)}`);
  return value
    .map((block: unknown, index) => {
      const at = `${param}.${index}`;
      if (!isRecord(block) || block.type !== 'text')
        throw invalid(at, `only text blocks are allowed here (got ${isRecord(block) ? `a block of type ${blockType(block)}` : typeName(block)})`);
      return textOf(block, at);
    })
    .join('\n');
}

/** A tool result's content: its text for the `tool` message, and its images (carried in a user message after it). */
function toolResultContent(value: unknown, param: string, limits: ContentLimits, found: ContentFound): { text: string; images: ContentPart[] } {
  if (value === undefined || value === null) return { text: '', images: [] };
  if (typeof value === 'string') return { text: value, images: [] };
  if (!Array.isArray(value)) throw invalid(param, `expected a string or a list of text and image blocks, got ${typeName(value)}`);
  const texts: string[] = [];
  const images: ContentPart[] = [];
  value.forEach((block: unknown, index) => {
    const at = `${param}.${index}`;
    if (!isRecord(block)) throw invalid(at, `expected a content block object, got ${typeName(block)}`);
    if (block.type === 'text') texts.push(textOf(block, at));
    else if (block.type === 'image') {
      images.push({ type: 'image', url: imageUrl(block.source, `${at}.source`, limits) });
      found.images = true;
    } else throw invalid(at, `blocks of type ${blockType(block)} are not supported in a tool result by this server (text and image are)`);
  });
  return { text: texts.join('\n'), images };
}

/**
 * A user turn: its `tool_result` blocks become `tool` messages (first, as OpenAI wants them right
 * after the assistant's calls); images inside tool results follow in a user message of their own;
 * then the turn's own text and images.
 */
function userMessages(content: unknown, param: string, limits: ContentLimits, found: ContentFound, callIds: ReadonlySet<string>): ChatMessage[] {
  if (typeof content === 'string') return [{ role: 'user', content }];
  if (!Array.isArray(content)) throw invalid(param, `expected a string or a list of content blocks, got ${typeName(content)}`);
  if (content.length === 0) throw invalid(param, 'must contain at least one content block');
  const tools: ChatMessage[] = [];
  const resultImages: ContentPart[] = [];
  const parts: ContentPart[] = [];
  content.forEach((block: unknown, index) => {
    const at = `${param}.${index}`;
    if (!isRecord(block)) throw invalid(at, `expected a content block object, got ${typeName(block)}`);
    switch (block.type) {
      case 'text':
        parts.push({ type: 'text', text: textOf(block, at) });
        return;
      case 'image':
        parts.push({ type: 'image', url: imageUrl(block.source, `${at}.source`, limits) });
        found.images = true;
        return;
      case 'tool_result': {
        const id = block.tool_use_id;
        if (typeof id !== 'string' || id === '') throw invalid(`${at}.tool_use_id`, 'is required: the id of the tool_use block this result answers');
        if (block.is_error !== undefined && block.is_error !== null && typeof block.is_error !== 'boolean')
          throw invalid(`${at}.is_error`, 'expected a boolean');
        const result = toolResultContent(block.content, `${at}.content`, limits, found);
        if (!callIds.has(id)) throw invalid(`${at}.tool_use_id`, `"${id}" answers no tool_use block of an earlier assistant message`);
        // OpenAI's tool messages have no error flag: the model reads it in the text.
        const text = block.is_error === true ? `Error: ${result.text}` : result.text;
        tools.push({ role: 'tool', toolCallId: id, content: text });
        if (result.images.length > 0) resultImages.push({ type: 'text', text: `Images from the result of tool call ${id}:` }, ...result.images);
        return;
      }
      default:
        throw invalid(at, `blocks of type ${blockType(block)} are not supported in a user message by this server (text, image and tool_result are)`);
    }
  });
  const messages = tools;
  if (resultImages.length > 0) messages.push({ role: 'user', content: resultImages });
  if (parts.length === 1 && parts[0]?.type === 'text') messages.push({ role: 'user', content: parts[0].text });
  else if (parts.length > 0) messages.push({ role: 'user', content: parts });
  return messages;
}

/** A tool_use block's input as the JSON text of the call's arguments. */
function callArguments(block: Record<string, unknown>, at: string): string {
  const raw = block[RAW_ARGUMENTS_FIELD];
  if (typeof raw === 'string') return raw;
  const input = block.input;
  if (input === undefined || input === null) return '{}';
  if (!isRecord(input)) throw invalid(`${at}.input`, `expected an object, got ${typeName(input)}`);
  return JSON.stringify(input);
}

/** An assistant turn: text blocks joined with a line break, tool_use blocks as calls, thinking kept as reasoning. */
function assistantMessage(content: unknown, param: string): ChatMessage {
  if (typeof content === 'string') return { role: 'assistant', content };
  if (!Array.isArray(content)) throw invalid(param, `expected a string or a list of content blocks, got ${typeName(content)}`);
  const texts: string[] = [];
  const calls: ToolCall[] = [];
  const thoughts: string[] = [];
  const signatures: string[] = [];
  content.forEach((block: unknown, index) => {
    const at = `${param}.${index}`;
    if (!isRecord(block)) throw invalid(at, `expected a content block object, got ${typeName(block)}`);
    switch (block.type) {
      case 'text':
        texts.push(textOf(block, at));
        return;
      case 'tool_use': {
        if (typeof block.id !== 'string' || block.id === '') throw invalid(`${at}.id`, 'is required');
        if (typeof block.name !== 'string' || block.name === '') throw invalid(`${at}.name`, 'is required');
        calls.push({ id: block.id, name: block.name, arguments: callArguments(block, at) });
        return;
      }
      case 'thinking':
        // Accepted as sent back; OpenAI-compatible upstreams take no reasoning in the history.
        if (typeof block.thinking !== 'string') throw invalid(`${at}.thinking`, 'expected a string');
        thoughts.push(block.thinking);
        if (typeof block.signature === 'string' && block.signature !== '') signatures.push(block.signature);
        return;
      case 'redacted_thinking':
        return;
      default:
        throw invalid(at, `blocks of type ${blockType(block)} are not supported in an assistant message by this server (text, tool_use and thinking are)`);
    }
  });
  const text = texts.join('\n');
  const message: ChatMessage = { role: 'assistant', content: text === '' && calls.length > 0 ? null : text };
  if (calls.length > 0) message.toolCalls = calls;
  if (thoughts.length > 0) message.reasoning = thoughts.join('\n');
  // One signed block can go back to Anthropic as it was; joined blocks would no longer match their signatures.
  if (thoughts.length === 1 && signatures.length === 1) message.reasoningSignature = signatures[0] as string;
  return message;
}

/** `messages`: the conversation in the contract's messages (one Anthropic turn may become several). */
export function parseMessages(list: unknown, limits: ContentLimits, found: ContentFound): ChatMessage[] {
  if (list === undefined || list === null) throw invalid('messages', 'Field required');
  if (!Array.isArray(list)) throw invalid('messages', `expected a list of messages, got ${typeName(list)}`);
  if (list.length === 0) throw invalid('messages', 'must contain at least one message');
  const messages: ChatMessage[] = [];
  // The ids of the tool_use blocks so far: a tool_result must answer one of them.
  const callIds = new Set<string>();
  list.forEach((item: unknown, index) => {
    const at = `messages.${index}`;
    if (!isRecord(item)) throw invalid(at, `expected a message object, got ${typeName(item)}`);
    const content = item.content;
    if (content === undefined || content === null) throw invalid(`${at}.content`, 'Field required');
    switch (item.role) {
      case 'user':
        messages.push(...userMessages(content, `${at}.content`, limits, found, callIds));
        return;
      case 'assistant': {
        const message = assistantMessage(content, `${at}.content`);
        if (message.role === 'assistant') for (const call of message.toolCalls ?? []) callIds.add(call.id);
        messages.push(message);
        return;
      }
      case 'system': {
        messages.push({ role: 'system', content: parseSystem(content, `${at}.content`) ?? '' });
        return;
      }
      default:
        throw invalid(`${at}.role`, `expected 'user' or 'assistant' (got ${JSON.stringify(item.role) ?? typeName(item.role)})`);
    }
  });
  return messages;
}
