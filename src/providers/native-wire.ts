/** Small helpers shared by the native wire formats (Anthropic, Ollama, Gemini). */
import { InvalidRequestError, UnsupportedError } from '../core/errors.js';
import type { ChatMessage, CompletionRequest, ContentPart, ToolCall, Usage } from '../core/spec.js';

export function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Gemini's thought signatures carry this tag in the contract's `reasoningSignature`, so that each
 * protocol sends back only its own: Gemini a tagged one, Anthropic an untagged one (each refuses
 * the other's).
 */
export const GEMINI_SIGNATURE_TAG = 'gemini:';

/** The provider's own options from `providerOptions` (its name matched case-insensitively). */
export function ownProviderOptions(request: CompletionRequest, provider: string): Record<string, unknown> | undefined {
  const all = request.providerOptions;
  if (all === undefined) return undefined;
  const lower = provider.toLowerCase();
  for (const key in all) if (key.toLowerCase() === lower) return all[key];
  return undefined;
}

/** The system and developer messages, joined as passages (each protocol carries them apart). */
export function systemText(messages: readonly ChatMessage[]): string | undefined {
  const texts = messages.filter((message) => message.role === 'system' || message.role === 'developer').map((message) => message.content as string);
  return texts.length === 0 ? undefined : texts.join('\n\n');
}

/** A user message's content as parts (a string is one text part). */
export function contentParts(content: string | ContentPart[]): ContentPart[] {
  return typeof content === 'string' ? [{ type: 'text', text: content }] : content;
}

export interface InlineImage {
  mediaType: string;
  /** The base64 data, exactly as the data URL carried it. */
  data: string;
}

/** A base64 `data:` URL's media type and data; undefined for any other URL. */
export function dataUrlImage(url: string): InlineImage | undefined {
  if (!url.startsWith('data:')) return undefined;
  const comma = url.indexOf(',');
  const [mediaType, ...parameters] = (comma === -1 ? '' : url.slice(5, comma)).split(';');
  if (comma === -1 || !parameters.some((parameter) => parameter.toLowerCase() === 'base64') || mediaType === undefined || mediaType === '') {
    throw new InvalidRequestError('An image data URL must name its media type and be base64 (data:image/png;base64,...)', 'messages');
  }
  return { mediaType: mediaType.toLowerCase(), data: url.slice(comma + 1) };
}

/** An image the protocol can only take inline: a data URL; an http(s) URL is refused, never fetched here. */
export function inlineImageOnly(provider: string, url: string): InlineImage {
  const image = dataUrlImage(url);
  if (image !== undefined) return image;
  throw new UnsupportedError(
    `${provider} takes images only as base64 data (data:image/png;base64,...); an image URL (${url.slice(0, 60)}) is not fetched on its behalf. Send the image as a data URL.`,
    { provider, param: 'messages' },
  );
}

/** The name of the call a tool message answers: the nearest assistant message before it that made the call. */
export function toolCallOf(messages: readonly ChatMessage[], position: number, id: string): ToolCall {
  for (let index = position - 1; index >= 0; index--) {
    const message = messages[index];
    if (message?.role !== 'assistant') continue;
    const call = message.toolCalls?.find((candidate) => candidate.id === id);
    if (call !== undefined) return call;
  }
  throw new InvalidRequestError(`messages[${position}].tool_call_id: no earlier assistant message made the call "${id}"`, `messages[${position}].tool_call_id`);
}

/** A call's arguments as an object (protocols that carry them as JSON, not as text). */
export function argumentsObject(call: ToolCall): Record<string, unknown> {
  if (call.arguments.trim() === '') return {};
  let value: unknown;
  try {
    value = JSON.parse(call.arguments);
  } catch {
    throw new InvalidRequestError(`The arguments of tool call "${call.id}" are not JSON: ${call.arguments.slice(0, 100)}`, 'messages');
  }
  if (!isObject(value)) throw new InvalidRequestError(`The arguments of tool call "${call.id}" are not a JSON object`, 'messages');
  return value;
}

/** A tool's result as an object for protocols that want one: a JSON object as it is, anything else as `{content}`. */
export function resultObject(content: string): Record<string, unknown> {
  try {
    const value: unknown = JSON.parse(content);
    if (isObject(value)) return value;
  } catch {
    // Plain text.
  }
  return { content };
}

/** A usage from counts that may be missing or not numbers. */
export function usageOf(prompt: unknown, completion: unknown, total?: unknown): Usage | undefined {
  const promptTokens = typeof prompt === 'number' && Number.isFinite(prompt) ? prompt : undefined;
  const completionTokens = typeof completion === 'number' && Number.isFinite(completion) ? completion : undefined;
  if (promptTokens === undefined && completionTokens === undefined) return undefined;
  const sum = (promptTokens ?? 0) + (completionTokens ?? 0);
  return {
    promptTokens: promptTokens ?? 0,
    completionTokens: completionTokens ?? 0,
    totalTokens: typeof total === 'number' && Number.isFinite(total) ? total : sum,
  };
}

/** A JSON body, or undefined when it is not one. */
export function parseJsonBody(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
