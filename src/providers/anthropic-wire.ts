/**
 * Anthropic's Messages API wire format: the request body (system apart, max_tokens always,
 * content blocks for images, tool_use and tool_result), the stream's events and the whole
 * message, each turned into stream parts; and Anthropic's error objects into typed errors.
 */
import {
  AuthError,
  ModelNotFoundError,
  ProviderHttpError,
  RateLimitError,
  StreamParseError,
  UnsupportedError,
  truncate,
  type G4FError,
} from '../core/errors.js';
import { parseRetryAfter } from '../core/retry.js';
import type { ReplyHeaders } from '../core/reply.js';
import type { ChatMessage, Chunk, CompletionRequest, FinishReason, ToolChoice } from '../core/spec.js';
import {
  argumentsObject,
  contentParts,
  dataUrlImage,
  GEMINI_SIGNATURE_TAG,
  isObject,
  ownProviderOptions,
  parseJsonBody,
  systemText,
  usageOf,
} from './native-wire.js';

export const ANTHROPIC_VERSION = '2023-06-01';
export const ANTHROPIC_DEFAULT_MAX_TOKENS = 4096;

/** Thinking budgets (tokens) for the reasoning efforts a caller may name. */
const THINKING_BUDGETS: Readonly<Record<string, number>> = { minimal: 1024, low: 1024, medium: 4096, high: 16384 };

type Block = Record<string, unknown>;
interface Turn {
  role: 'user' | 'assistant';
  content: string | Block[];
}

function blocks(content: string | Block[]): Block[] {
  return typeof content === 'string' ? [{ type: 'text', text: content }] : content;
}

/** The conversation as Anthropic's turns: tool results in user turns, adjacent turns of one role merged. */
export function anthropicMessages(messages: readonly ChatMessage[]): Turn[] {
  const turns: Turn[] = [];
  const add = (turn: Turn): void => {
    const last = turns.at(-1);
    if (last?.role === turn.role) last.content = [...blocks(last.content), ...blocks(turn.content)];
    else turns.push(turn);
  };
  for (const message of messages) {
    switch (message.role) {
      case 'system':
      case 'developer':
        break;
      case 'user':
        if (typeof message.content === 'string') add({ role: 'user', content: message.content });
        else add({ role: 'user', content: contentParts(message.content).map(userBlock) });
        break;
      case 'assistant': {
        const calls = message.toolCalls ?? [];
        // Signed reasoning goes back as the thinking block it was (unsigned reasoning, or reasoning
        // signed by Gemini, Anthropic would refuse).
        const signature = message.reasoningSignature ?? '';
        const thinking: Block[] =
          message.reasoning !== undefined && message.reasoning !== '' && signature !== '' && !signature.startsWith(GEMINI_SIGNATURE_TAG)
            ? [{ type: 'thinking', thinking: message.reasoning, signature: message.reasoningSignature }]
            : [];
        if (thinking.length > 0) {
          const content: Block[] = [...thinking, ...(message.content ? [{ type: 'text', text: message.content }] : [])];
          for (const call of calls) content.push({ type: 'tool_use', id: call.id, name: call.name, input: argumentsObject(call) });
          add({ role: 'assistant', content });
          break;
        }
        if (calls.length === 0) {
          add({ role: 'assistant', content: message.content ?? '' });
          break;
        }
        const content: Block[] = message.content ? [{ type: 'text', text: message.content }] : [];
        for (const call of calls) content.push({ type: 'tool_use', id: call.id, name: call.name, input: argumentsObject(call) });
        add({ role: 'assistant', content });
        break;
      }
      case 'tool':
        add({ role: 'user', content: [{ type: 'tool_result', tool_use_id: message.toolCallId, content: message.content }] });
        break;
    }
  }
  return turns;
}

function userBlock(part: ReturnType<typeof contentParts>[number]): Block {
  if (part.type === 'text') return { type: 'text', text: part.text };
  const inline = dataUrlImage(part.url);
  return inline === undefined
    ? { type: 'image', source: { type: 'url', url: part.url } }
    : { type: 'image', source: { type: 'base64', media_type: inline.mediaType, data: inline.data } };
}

function toolChoiceWire(choice: ToolChoice | undefined, parallel: boolean | undefined): Block | undefined {
  const wire: Block | undefined =
    choice === undefined
      ? parallel === false
        ? { type: 'auto' }
        : undefined
      : choice === 'auto'
        ? { type: 'auto' }
        : choice === 'none'
          ? { type: 'none' }
          : choice === 'required'
            ? { type: 'any' }
            : { type: 'tool', name: choice.name };
  if (wire !== undefined && parallel === false && wire.type !== 'none') wire.disable_parallel_tool_use = true;
  return wire;
}

export interface AnthropicBodyOptions {
  provider: string;
  /** max_tokens when the caller gives none. */
  maxTokens: number;
}

/** The body of `POST /v1/messages`. */
export function anthropicBody(request: CompletionRequest, options: AnthropicBodyOptions): Record<string, unknown> {
  // Settings with no field in Anthropic's API are refused, never dropped.
  const unsupported = (['seed', 'presencePenalty', 'frequencyPenalty', 'logprobs'] as const).filter(
    (name) => request[name] !== undefined && request[name] !== false,
  );
  if (unsupported.length > 0) {
    throw new UnsupportedError(
      `${options.provider} (Anthropic's API) has no ${unsupported.join(', ')}: leave ${unsupported.length === 1 ? 'it' : 'them'} out`,
      {
        provider: options.provider,
        param: unsupported[0] as string,
      },
    );
  }
  let maxTokens = request.maxTokens ?? options.maxTokens;
  const body: Record<string, unknown> = { model: request.model, max_tokens: maxTokens };
  const system = systemText(request.messages);
  if (system !== undefined) body.system = system;
  body.messages = anthropicMessages(request.messages);
  if (request.stop !== undefined && request.stop.length > 0) body.stop_sequences = request.stop;
  if (request.temperature !== undefined) body.temperature = request.temperature;
  if (request.topP !== undefined) body.top_p = request.topP;
  if (request.tools !== undefined && request.tools.length > 0) {
    body.tools = request.tools.map((tool) => {
      const wire: Block = { name: tool.name };
      if (tool.description !== undefined) wire.description = tool.description;
      wire.input_schema = tool.parameters ?? { type: 'object', properties: {} };
      if (tool.strict !== undefined) wire.strict = tool.strict;
      return wire;
    });
  }
  const choice = toolChoiceWire(request.toolChoice, request.parallelToolCalls);
  if (choice !== undefined) body.tool_choice = choice;
  if (request.reasoningEffort !== undefined) {
    let budget = THINKING_BUDGETS[request.reasoningEffort.toLowerCase()] ?? THINKING_BUDGETS.medium ?? 4096;
    if (request.maxTokens === undefined) maxTokens = Math.max(maxTokens, budget + options.maxTokens);
    else if (budget >= maxTokens) budget = Math.max(1024, maxTokens - 1);
    body.max_tokens = maxTokens;
    body.thinking = { type: 'enabled', budget_tokens: budget };
  }
  const format = request.responseFormat;
  if (format?.type === 'json_schema') body.output_config = { format: { type: 'json_schema', schema: format.schema } };
  else if (format?.type === 'json_object') body.output_config = { format: { type: 'json_schema', schema: { type: 'object' } } };
  if (request.user !== undefined) body.metadata = { user_id: request.user };
  if (request.stream) body.stream = true;
  const own = ownProviderOptions(request, options.provider);
  if (own !== undefined) Object.assign(body, own);
  return body;
}

// ---- answers ----

const STOP_REASONS: Readonly<Record<string, FinishReason>> = {
  end_turn: 'stop',
  stop_sequence: 'stop',
  pause_turn: 'stop',
  max_tokens: 'length',
  model_context_window_exceeded: 'length',
  tool_use: 'tool_calls',
  refusal: 'content_filter',
};

export function finishReasonOf(stopReason: unknown): FinishReason | undefined {
  return typeof stopReason === 'string' ? (STOP_REASONS[stopReason] ?? stopReason) : undefined;
}

/** The finish part of a `stop_reason` (with the `stop_sequence` that ended the answer, when one did). */
export function finishOf(stopReason: unknown, stopSequence: unknown): Extract<Chunk, { type: 'finish' }> | undefined {
  const reason = finishReasonOf(stopReason);
  if (reason === undefined) return undefined;
  const finish: Extract<Chunk, { type: 'finish' }> = { type: 'finish', reason };
  if (stopReason === 'stop_sequence' && typeof stopSequence === 'string' && stopSequence !== '') finish.stopSequence = stopSequence;
  return finish;
}

/** Input tokens as OpenAI counts them: the cache's reads and writes included. */
export function promptTokens(usage: Record<string, unknown>): number | undefined {
  const counts = [usage.input_tokens, usage.cache_creation_input_tokens, usage.cache_read_input_tokens].filter(
    (value): value is number => typeof value === 'number' && Number.isFinite(value),
  );
  return counts.length === 0 ? undefined : counts.reduce((sum, value) => sum + value, 0);
}

/** An `error` object (an HTTP error body or a stream's error event) as a typed error. */
export function anthropicError(provider: string, error: unknown, status?: number, headers: ReplyHeaders = {}): G4FError {
  const type = isObject(error) && typeof error.type === 'string' ? error.type : 'api_error';
  const message = truncate(isObject(error) && typeof error.message === 'string' ? error.message : JSON.stringify(error));
  const text = `${type}: ${message}`;
  switch (type) {
    case 'rate_limit_error':
      return new RateLimitError(text, parseRetryAfter(headers), { provider });
    case 'authentication_error':
    case 'permission_error':
      return new AuthError(`${provider} refused the credentials${status === undefined ? '' : ` (HTTP ${status})`}: ${text}`, {
        provider,
        ...(status === undefined ? {} : { status }),
      });
    case 'not_found_error':
      if (/model/i.test(message)) return new ModelNotFoundError(`${provider}: ${message}`, 1, { provider });
      break;
  }
  const implied = { invalid_request_error: 400, not_found_error: 404, request_too_large: 413, timeout_error: 504, overloaded_error: 529 }[type] ?? 500;
  return new ProviderHttpError(status ?? implied, text, { provider, message: `${provider} reported ${text}` });
}

/** A non-2xx reply's typed error: its status decides the class, the body's error type and message say why. */
export function anthropicReplyError(provider: string, status: number, headers: ReplyHeaders, text: string): G4FError {
  const body = parseJsonBody(text);
  const error = isObject(body) && isObject(body.error) ? body.error : undefined;
  const said = error === undefined ? truncate(text.trim()) : `${String(error.type)}: ${truncate(String(error.message))}`;
  if (status === 429) return new RateLimitError(said, parseRetryAfter(headers), { provider });
  if (status === 401 || status === 403) return new AuthError(`${provider} refused the credentials (HTTP ${status}): ${said}`, { provider, status });
  if (error !== undefined) return anthropicError(provider, error, status, headers);
  return new ProviderHttpError(status, said, { provider });
}

/** The parts of a whole `message` object. */
export function anthropicMessageChunks(provider: string, text: string): Chunk[] {
  const message = parseJsonBody(text);
  if (!isObject(message)) throw new StreamParseError(`${provider} answered something that is not a JSON object: ${truncate(text, 200)}`, { provider });
  if (message.type === 'error') throw anthropicError(provider, message.error);
  if (!Array.isArray(message.content)) throw new StreamParseError(`${provider} answered a message without content: ${truncate(text, 200)}`, { provider });
  const chunks: Chunk[] = [];
  let tools = 0;
  for (const block of message.content as unknown[]) {
    if (!isObject(block)) continue;
    if (block.type === 'text' && typeof block.text === 'string' && block.text !== '') chunks.push({ type: 'text-delta', text: block.text });
    else if (block.type === 'thinking' && typeof block.thinking === 'string' && block.thinking !== '') {
      const signature = typeof block.signature === 'string' && block.signature !== '' ? { signature: block.signature } : {};
      chunks.push({ type: 'reasoning-delta', text: block.thinking, ...signature });
    } else if (block.type === 'tool_use' && typeof block.name === 'string') {
      const id = typeof block.id === 'string' ? block.id : `call_${tools}`;
      chunks.push({ type: 'tool-call-delta', index: tools++, id, name: block.name, argumentsDelta: JSON.stringify(block.input ?? {}) });
    }
  }
  const finish = finishOf(message.stop_reason, message.stop_sequence);
  if (finish !== undefined) chunks.push(finish);
  if (isObject(message.usage)) {
    const usage = usageOf(promptTokens(message.usage), message.usage.output_tokens);
    if (usage !== undefined) chunks.push({ type: 'usage', usage });
  }
  return chunks;
}
