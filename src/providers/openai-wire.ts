/** OpenAI's chat wire format, shared by Lockchat, Mishalsgpt and configured OpenAI-compatible providers. */
import { ModelNotFoundError, ProviderHttpError, StreamParseError, redactSecrets, truncate, type G4FError } from '../core/errors.js';
import { messageText } from '../core/messages.js';
import type {
  CallSettings,
  ChatMessage,
  Chunk,
  CompletionRequest,
  ContentPart,
  FinishReason,
  ResponseFormat,
  ToolChoice,
  ToolDefinition,
  Usage,
} from '../core/spec.js';

/**
 * The call settings that are one field on OpenAI's wire, renamed: the one place that says which
 * wire fields g4f models. The server reads them from a request body with it, the providers write
 * them back with it; every other wire field travels in `extraBody`, as it came.
 */
export const OPENAI_SCALAR_SETTINGS = [
  ['temperature', 'temperature'],
  ['top_p', 'topP'],
  ['max_tokens', 'maxTokens'],
  ['seed', 'seed'],
  ['presence_penalty', 'presencePenalty'],
  ['frequency_penalty', 'frequencyPenalty'],
  ['n', 'n'],
  ['logprobs', 'logprobs'],
  ['top_logprobs', 'topLogprobs'],
  ['user', 'user'],
  ['parallel_tool_calls', 'parallelToolCalls'],
  ['reasoning_effort', 'reasoningEffort'],
] as const satisfies ReadonlyArray<readonly [string, keyof CallSettings]>;

/** Wire fields with a shape of their own in the contract (read and written apart). */
export const OPENAI_SHAPED_FIELDS = ['model', 'messages', 'stream', 'stop', 'tools', 'tool_choice', 'response_format'] as const;

/** Every wire field the contract models: the rest of a request body is `extraBody`. */
export const OPENAI_MODELED_FIELDS: ReadonlySet<string> = new Set<string>([...OPENAI_SCALAR_SETTINGS.map(([wire]) => wire), ...OPENAI_SHAPED_FIELDS]);

function toolChoiceWire(choice: ToolChoice): unknown {
  return typeof choice === 'string' ? choice : { type: 'function', function: { name: choice.name } };
}

function responseFormatWire(format: ResponseFormat): unknown {
  if (format.type !== 'json_schema') return { type: format.type };
  const schema: Record<string, unknown> = { name: format.name, schema: format.schema };
  if (format.description !== undefined) schema.description = format.description;
  if (format.strict !== undefined) schema.strict = format.strict;
  return { type: 'json_schema', json_schema: schema };
}

function toolWire(tool: ToolDefinition): unknown {
  const definition: Record<string, unknown> = { name: tool.name };
  if (tool.description !== undefined) definition.description = tool.description;
  if (tool.parameters !== undefined) definition.parameters = tool.parameters;
  if (tool.strict !== undefined) definition.strict = tool.strict;
  return { type: 'function', function: definition };
}

/** The provider's own options from `providerOptions` (its name matched case-insensitively). */
function ownProviderOptions(request: CompletionRequest, provider: string): Record<string, unknown> | undefined {
  const all = request.providerOptions;
  if (all === undefined) return undefined;
  const lower = provider.toLowerCase();
  for (const key in all) if (key.toLowerCase() === lower) return all[key];
  return undefined;
}

/**
 * The request's settings in OpenAI's wire format (`temperature` aside: each provider has its
 * own default), then the provider's own options, then the unmodeled fields as they came.
 */
export function requestOptions(request: CompletionRequest, provider = ''): Record<string, unknown> {
  const options: Record<string, unknown> = {};
  for (const [wire, setting] of OPENAI_SCALAR_SETTINGS) {
    if (setting === 'temperature') continue;
    const value = request[setting];
    if (value !== undefined) options[wire] = value;
  }
  if (request.stop !== undefined) options.stop = request.stop;
  if (request.tools !== undefined) options.tools = request.tools.map(toolWire);
  if (request.toolChoice !== undefined) options.tool_choice = toolChoiceWire(request.toolChoice);
  if (request.responseFormat !== undefined) options.response_format = responseFormatWire(request.responseFormat);
  const extra = request.extraBody;
  // A client that said max_completion_tokens meant that field (newer OpenAI models want it).
  if (extra !== undefined && 'max_completion_tokens' in extra) delete options.max_tokens;
  const own = ownProviderOptions(request, provider);
  if (own !== undefined) Object.assign(options, own);
  if (extra !== undefined) {
    for (const key in extra) if (key !== 'model' && key !== 'messages' && key !== 'stream' && extra[key] !== undefined) options[key] = extra[key];
  }
  return options;
}

function userContentWire(content: string | ContentPart[], textOnly: boolean): unknown {
  if (typeof content === 'string') return content;
  // Separate passages: a line break between them.
  if (textOnly) return messageText({ role: 'user', content });
  return content.map((part) =>
    part.type === 'text'
      ? { type: 'text', text: part.text }
      : { type: 'image_url', image_url: part.detail === undefined ? { url: part.url } : { url: part.url, detail: part.detail } },
  );
}

/** One message in OpenAI's wire format (a `developer` message goes as `system`, which every server takes). */
function messageWire(message: ChatMessage, textOnly: boolean): unknown {
  switch (message.role) {
    case 'system':
    case 'developer':
      return { role: 'system', content: message.content };
    case 'user':
      return message.name === undefined
        ? { role: 'user', content: userContentWire(message.content, textOnly) }
        : { role: 'user', content: userContentWire(message.content, textOnly), name: message.name };
    case 'assistant': {
      const wire: Record<string, unknown> = { role: 'assistant', content: message.content };
      if (message.toolCalls !== undefined && message.toolCalls.length > 0) {
        wire.tool_calls = message.toolCalls.map((call) => ({ id: call.id, type: 'function', function: { name: call.name, arguments: call.arguments } }));
      }
      if (message.name !== undefined) wire.name = message.name;
      return wire;
    }
    case 'tool':
      return { role: 'tool', tool_call_id: message.toolCallId, content: message.content };
  }
}

/**
 * The conversation in OpenAI's wire format. Plain `{role, content}` messages with string content
 * are already in it and go as they are (the usual case: no copy). With `textOnly` (an upstream
 * that takes no content parts), a message's text parts are joined with a line break.
 */
export function openAIMessages(messages: readonly ChatMessage[], textOnly = false): unknown[] {
  let plain = true;
  for (const message of messages) {
    if (message.role === 'developer' || message.role === 'tool' || typeof message.content !== 'string') {
      plain = false;
      break;
    }
    if (
      message.role === 'assistant'
        ? message.toolCalls !== undefined || message.reasoning !== undefined || message.name !== undefined
        : message.role === 'user' && message.name !== undefined
    ) {
      plain = false;
      break;
    }
  }
  return plain ? (messages as unknown[]) : messages.map((message) => messageWire(message, textOnly));
}

const MODEL_NOT_FOUND = /The model: `[^`]*` does not exist/;

/** OpenAI's model-not-found message, however it is framed, or undefined. */
export function findModelNotFound(text: string): string | undefined {
  if (!text.includes('does not exist')) return undefined;
  return MODEL_NOT_FOUND.exec(text)?.[0];
}

/**
 * The tail of the most common event of all, a plain content delta:
 * `…"choices":[{"index":0,"delta":{"content":"…"},"logprobs":null,"finish_reason":null}]}`,
 * optionally followed by `"usage":null`. Matched from the `"choices"` key on.
 */
const PLAIN_DELTA = /"choices":\[\{"index":0,"delta":\{"content":("(?:[^"\\]|\\.)*")\},(?:"logprobs":null,)?"finish_reason":null\}\](?:,"usage":null)?\}$/y;

/**
 * The text of a plain content-delta event without building its whole object
 * tree: this event is nearly every event of a stream, and parsing it in full
 * was the largest cost of the request path. Undefined for any other event,
 * which then takes the full parse.
 */
export function plainDeltaText(data: string): string | undefined {
  const at = data.indexOf('"choices":');
  // The pattern is anchored at the end, so an error field could only come before the choices.
  if (at === -1 || data.lastIndexOf('"error"', at) !== -1) return undefined;
  PLAIN_DELTA.lastIndex = at;
  const match = PLAIN_DELTA.exec(data);
  if (match === null) return undefined;
  const literal = match[1] as string;
  // A JSON string without escapes is its own text; with escapes JSON.parse decodes just the string.
  return literal.includes('\\') ? (JSON.parse(literal) as string) : literal.slice(1, -1);
}

export function parseJsonEvent(provider: string, data: string): unknown {
  try {
    return JSON.parse(data);
  } catch {
    throw new StreamParseError(`${provider} sent an event that is not JSON: ${truncate(data, 200)}`, { provider });
  }
}

interface WireUsage {
  prompt_tokens?: unknown;
  completion_tokens?: unknown;
  total_tokens?: unknown;
}

interface WireToolCall {
  index?: unknown;
  id?: unknown;
  function?: { name?: unknown; arguments?: unknown } | null;
}

interface WireMessage {
  content?: unknown;
  reasoning_content?: unknown;
  reasoning?: unknown;
  tool_calls?: unknown;
}

interface WireChoice {
  index?: unknown;
  delta?: WireMessage | null;
  message?: WireMessage | null;
  logprobs?: unknown;
  finish_reason?: unknown;
  /** vLLM: the stop string (or token id) that ended the answer. */
  stop_reason?: unknown;
  /** SGLang: the same, under its own name. */
  matched_stop?: unknown;
}

interface WireEvent {
  choices?: unknown;
  usage?: WireUsage | null;
  error?: { message?: unknown; code?: unknown; status?: unknown } | string | null;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null;
}

export function toUsage(usage: WireUsage | null | undefined): Usage | undefined {
  if (!isObject(usage)) return undefined;
  const prompt = Number(usage.prompt_tokens ?? 0);
  const completion = Number(usage.completion_tokens ?? 0);
  if (!Number.isFinite(prompt) || !Number.isFinite(completion)) return undefined;
  const total = Number(usage.total_tokens ?? prompt + completion);
  return { promptTokens: prompt, completionTokens: completion, totalTokens: Number.isFinite(total) ? total : prompt + completion };
}

/** An `error` object inside a 200 reply (some proxies do this); OpenAI's model-not-found keeps its class. */
export function upstreamError(provider: string, event: WireEvent, secrets: ReadonlyArray<string | undefined> = []): G4FError | undefined {
  const error = event.error;
  if (error === undefined || error === null) return undefined;
  const raw = typeof error === 'string' ? error : typeof error.message === 'string' ? error.message : JSON.stringify(error);
  const message = truncate(redactSecrets(raw, secrets));
  const notFound = findModelNotFound(message);
  if (notFound !== undefined) return new ModelNotFoundError(`${provider}: ${notFound}`, 1, { provider });
  const status = typeof error === 'object' && typeof error.status === 'number' ? error.status : 502;
  return new ProviderHttpError(status, message, { provider, message: `${provider} reported an error: ${message}` });
}

/** `choice` on a part only when it is not the first choice (most parts). */
function withChoice<T extends Exclude<Chunk, { type: 'usage' }>>(chunk: T, choice: number): T {
  if (choice !== 0) chunk.choice = choice;
  return chunk;
}

/** The parts of one choice's delta (streamed) or message (whole), appended to `into`. */
function choiceChunks(value: WireChoice, position: number, whole: boolean, into: Chunk[]): void {
  const choice = typeof value.index === 'number' ? value.index : position;
  const message = whole ? value.message : value.delta;
  if (typeof message === 'object' && message !== null) {
    // DeepSeek and vLLM say reasoning_content; OpenRouter and Ollama say reasoning.
    const reasoning = typeof message.reasoning_content === 'string' ? message.reasoning_content : message.reasoning;
    if (typeof reasoning === 'string' && reasoning !== '') into.push(withChoice({ type: 'reasoning-delta', text: reasoning }, choice));
    const content = message.content;
    if (typeof content === 'string' && content !== '') into.push(withChoice({ type: 'text-delta', text: content }, choice));
    if (Array.isArray(message.tool_calls)) {
      (message.tool_calls as unknown[]).forEach((item, itemPosition) => {
        if (!isObject(item)) return;
        const call = item as WireToolCall;
        const index = typeof call.index === 'number' ? call.index : itemPosition;
        const part: Extract<Chunk, { type: 'tool-call-delta' }> = { type: 'tool-call-delta', index, argumentsDelta: '' };
        if (typeof call.id === 'string' && call.id !== '') part.id = call.id;
        const fn = call.function;
        if (isObject(fn)) {
          if (typeof fn.name === 'string' && fn.name !== '') part.name = fn.name;
          // Some servers send whole arguments as an object instead of JSON text.
          if (typeof fn.arguments === 'string') part.argumentsDelta = fn.arguments;
          else if (isObject(fn.arguments)) part.argumentsDelta = JSON.stringify(fn.arguments);
        }
        into.push(withChoice(part, choice));
      });
    }
  }
  if (value.logprobs !== undefined && value.logprobs !== null) into.push(withChoice({ type: 'logprobs', logprobs: value.logprobs }, choice));
  if (typeof value.finish_reason === 'string') {
    const finish: Extract<Chunk, { type: 'finish' }> = { type: 'finish', reason: value.finish_reason as FinishReason };
    // Which stop sequence ended the answer, from the servers that say (a token id is not one).
    const matched = typeof value.stop_reason === 'string' ? value.stop_reason : value.matched_stop;
    if (value.finish_reason === 'stop' && typeof matched === 'string' && matched !== '') finish.stopSequence = matched;
    into.push(withChoice(finish, choice));
  }
}

/** Chunks of one streamed `chat.completion.chunk` event: every choice's text, reasoning, tool calls, logprobs and finish. */
export function chunksFromOpenAIEvent(provider: string, value: unknown, secrets?: ReadonlyArray<string | undefined>): Chunk[] {
  if (!isObject(value)) throw new StreamParseError(`${provider} sent an event that is not an object`, { provider });
  const event = value as WireEvent;
  const error = upstreamError(provider, event, secrets);
  if (error) throw error;
  const chunks: Chunk[] = [];
  if (Array.isArray(event.choices)) {
    (event.choices as unknown[]).forEach((choice, position) => {
      if (isObject(choice)) choiceChunks(choice as WireChoice, position, false, chunks);
    });
  }
  const usage = toUsage(event.usage);
  if (usage) chunks.push({ type: 'usage', usage });
  return chunks;
}

/** Chunks of a whole `chat.completion` object: each choice's content (as the Mishalsgpt seed says), reasoning and tool calls. */
export function chunksFromOpenAICompletion(provider: string, value: unknown, secrets?: ReadonlyArray<string | undefined>): Chunk[] {
  if (!isObject(value)) throw new StreamParseError(`${provider} answered JSON that is not an object`, { provider });
  const completion = value as WireEvent;
  const error = upstreamError(provider, completion, secrets);
  if (error) throw error;
  if (!Array.isArray(completion.choices)) {
    throw new StreamParseError(`${provider} answered without a choices list: ${truncate(JSON.stringify(value), 200)}`, {
      provider,
    });
  }
  const chunks: Chunk[] = [];
  (completion.choices as unknown[]).forEach((choice, position) => {
    if (isObject(choice)) choiceChunks(choice as WireChoice, position, true, chunks);
  });
  const usage = toUsage(completion.usage);
  if (usage) chunks.push({ type: 'usage', usage });
  return chunks;
}
