/**
 * Ollama's native chat wire format (`POST /api/chat`): the request (messages with base64
 * `images`, `tool_calls` with argument objects, tool results by `tool_name`, `think`, `format`,
 * `options`), and its answer lines (newline-delimited JSON when streamed, one object when not)
 * turned into stream parts. Tool calls arrive whole and without ids: each gets `call_<n>`, its
 * position in the answer.
 */
import { ModelNotFoundError, ProviderHttpError, StreamParseError, UnsupportedError, truncate, type G4FError } from '../core/errors.js';
import { errorFromResponse } from '../core/http.js';
import type { ReplyHeaders } from '../core/reply.js';
import type { ChatMessage, Chunk, CompletionRequest, FinishReason } from '../core/spec.js';
import { argumentsObject, contentParts, inlineImageOnly, isObject, ownProviderOptions, parseJsonBody, toolCallOf, usageOf } from './native-wire.js';
import { parseJsonLine } from './ndjson.js';

type WireMessage = Record<string, unknown>;

export function ollamaMessages(provider: string, messages: readonly ChatMessage[]): WireMessage[] {
  // biome-ignore lint/suspicious/useIterableCallbackReturn: the switch covers every role (TypeScript checks it)
  return messages.map((message, position): WireMessage => {
    switch (message.role) {
      case 'system':
      case 'developer':
        return { role: 'system', content: message.content };
      case 'user': {
        if (typeof message.content === 'string') return { role: 'user', content: message.content };
        const parts = contentParts(message.content);
        const text = parts.flatMap((part) => (part.type === 'text' ? [part.text] : [])).join('\n');
        const images = parts.flatMap((part) => (part.type === 'image' ? [inlineImageOnly(provider, part.url).data] : []));
        return images.length === 0 ? { role: 'user', content: text } : { role: 'user', content: text, images };
      }
      case 'assistant': {
        const wire: WireMessage = { role: 'assistant', content: message.content ?? '' };
        if (message.reasoning !== undefined && message.reasoning !== '') wire.thinking = message.reasoning;
        if (message.toolCalls !== undefined && message.toolCalls.length > 0) {
          wire.tool_calls = message.toolCalls.map((call) => ({ function: { name: call.name, arguments: argumentsObject(call) } }));
        }
        return wire;
      }
      case 'tool':
        return { role: 'tool', content: message.content, tool_name: toolCallOf(messages, position, message.toolCallId).name };
    }
  });
}

/** The body of `POST /api/chat`. */
export function ollamaBody(provider: string, request: CompletionRequest): Record<string, unknown> {
  const body: Record<string, unknown> = { model: request.model, messages: ollamaMessages(provider, request.messages), stream: request.stream };
  const choice = request.toolChoice;
  if (choice === 'required' || typeof choice === 'object') {
    throw new UnsupportedError(`${provider}: Ollama's API has no tool_choice, so a required or named tool call cannot be enforced`, {
      provider,
      param: 'tool_choice',
    });
  }
  if (request.tools !== undefined && request.tools.length > 0 && choice !== 'none') {
    body.tools = request.tools.map((tool) => {
      const definition: Record<string, unknown> = { name: tool.name };
      if (tool.description !== undefined) definition.description = tool.description;
      definition.parameters = tool.parameters ?? { type: 'object', properties: {} };
      return { type: 'function', function: definition };
    });
  }
  if (request.reasoningEffort !== undefined) {
    const effort = request.reasoningEffort.toLowerCase();
    body.think = effort === 'low' || effort === 'medium' || effort === 'high' ? effort : effort !== 'none';
  }
  const format = request.responseFormat;
  if (format?.type === 'json_object') body.format = 'json';
  else if (format?.type === 'json_schema') body.format = format.schema;
  const options: Record<string, unknown> = {};
  if (request.temperature !== undefined) options.temperature = request.temperature;
  if (request.topP !== undefined) options.top_p = request.topP;
  if (request.maxTokens !== undefined) options.num_predict = request.maxTokens;
  if (request.stop !== undefined && request.stop.length > 0) options.stop = request.stop;
  if (request.seed !== undefined) options.seed = request.seed;
  if (request.presencePenalty !== undefined) options.presence_penalty = request.presencePenalty;
  if (request.frequencyPenalty !== undefined) options.frequency_penalty = request.frequencyPenalty;
  const own = ownProviderOptions(request, provider);
  if (isObject(own?.options)) Object.assign(options, own.options);
  if (Object.keys(options).length > 0) body.options = options;
  if (own !== undefined) for (const [key, value] of Object.entries(own)) if (key !== 'options') body[key] = value;
  return body;
}

/** `model 'llama3' not found`, `model "x" not found, try pulling it first`, and the bare `model not found`. */
const MODEL_NOT_FOUND = /model (?:['"]?[^'"]*['"]? )?not found/i;

/** Ollama's `{"error": "..."}` as a typed error. */
export function ollamaError(provider: string, message: string, status: number): G4FError {
  if (MODEL_NOT_FOUND.test(message)) return new ModelNotFoundError(`${provider}: ${truncate(message)}`, 1, { provider });
  return new ProviderHttpError(status, truncate(message), { provider, message: `${provider} reported an error: ${truncate(message)}` });
}

export function ollamaReplyError(provider: string, status: number, headers: ReplyHeaders, text: string): G4FError {
  const body = parseJsonBody(text);
  if (isObject(body) && typeof body.error === 'string' && MODEL_NOT_FOUND.test(body.error)) return ollamaError(provider, body.error, status);
  return errorFromResponse(provider, status, headers, text);
}

const DONE_REASONS: Readonly<Record<string, FinishReason>> = { stop: 'stop', length: 'length', load: 'stop', unload: 'stop' };

/** A reader of the answer's lines (one object when not streamed); `done: true` ends it. */
export function createOllamaLineReader(provider: string): { read(line: string, into: Chunk[]): 'more' | 'done'; end(into: Chunk[], done: boolean): void } {
  let calls = 0;
  return {
    read(line, into) {
      const value = parseJsonLine(provider, line);
      if (!isObject(value)) throw new StreamParseError(`${provider} sent a line that is not a JSON object: ${truncate(line, 200)}`, { provider });
      if (typeof value.error === 'string') throw ollamaError(provider, value.error, 500);
      const message = isObject(value.message) ? value.message : {};
      if (typeof message.thinking === 'string' && message.thinking !== '') into.push({ type: 'reasoning-delta', text: message.thinking });
      if (typeof message.content === 'string' && message.content !== '') into.push({ type: 'text-delta', text: message.content });
      if (Array.isArray(message.tool_calls)) {
        for (const call of message.tool_calls as unknown[]) {
          const fn = isObject(call) && isObject(call.function) ? call.function : undefined;
          if (fn === undefined || typeof fn.name !== 'string') throw new StreamParseError(`${provider} sent a tool call without a function name`, { provider });
          const argumentsText = typeof fn.arguments === 'string' ? fn.arguments : JSON.stringify(fn.arguments ?? {});
          const index = calls++;
          into.push({ type: 'tool-call-delta', index, id: `call_${index}`, name: fn.name, argumentsDelta: argumentsText });
        }
      }
      if (value.done !== true) return 'more';
      const reason = typeof value.done_reason === 'string' ? (DONE_REASONS[value.done_reason] ?? value.done_reason) : 'stop';
      into.push({ type: 'finish', reason: calls > 0 && reason === 'stop' ? 'tool_calls' : reason });
      const usage = usageOf(value.prompt_eval_count, value.eval_count);
      if (usage !== undefined) into.push({ type: 'usage', usage });
      return 'done';
    },
    end(_into, done) {
      if (!done) throw new StreamParseError(`${provider}'s stream ended before its last line (done: true): the answer is incomplete`, { provider });
    },
  };
}
