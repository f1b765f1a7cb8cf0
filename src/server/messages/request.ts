/**
 * The body of `POST /v1/messages` (and `/v1/messages/count_tokens`), Anthropic's wire format,
 * turned into the contract's request. A field this server cannot carry is refused with a 400
 * naming it; a few hints that change nothing in the answer (prompt caching, service tier) are
 * accepted and left out.
 */
import { InvalidRequestError } from '../../core/errors.js';
import type { ChatMessage, ResponseFormat, ToolChoice, ToolDefinition } from '../../core/spec.js';
import type { RouteRequest } from '../../routing/types.js';
import { invalid, isRecord, parseMessages, parseSystem, typeName, type ContentFound, type ContentLimits } from './content.js';

export interface ParsedMessagesRequest {
  request: RouteRequest;
  stream: boolean;
  /** The model as the client asked for it. */
  model: string;
  /** Whether a message carries an image (such a body may use the larger image body limit). */
  hasImages: boolean;
}

export interface MessagesRequestOptions extends ContentLimits {
  /** `count_tokens`: no `max_tokens`, and nothing is generated. */
  countOnly?: boolean;
}

/** Fields read below. */
const READ = new Set([
  'model',
  'max_tokens',
  'messages',
  'system',
  'stream',
  'temperature',
  'top_p',
  'top_k',
  'stop_sequences',
  'tools',
  'tool_choice',
  'thinking',
  'metadata',
  'output_config',
  'provider',
]);

/** Hints about cost or placement: accepted, and without effect here (nothing of the answer depends on them). */
const IGNORED = new Set(['cache_control', 'service_tier', 'inference_geo', 'speed', 'diagnostics']);

const TOOL_NAME = /^[a-zA-Z0-9_-]{1,64}$/;

function present(value: unknown): boolean {
  return value !== undefined && value !== null;
}

function numberIn(body: Record<string, unknown>, key: string, min: number, max: number): number | undefined {
  const value = body[key];
  if (!present(value)) return undefined;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < min || value > max) throw invalid(key, `expected a number from ${min} to ${max}`);
  return value;
}

function positiveInteger(value: unknown, param: string, required: boolean): number | undefined {
  if (!present(value)) {
    if (required) throw invalid(param, 'Field required');
    return undefined;
  }
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1) throw invalid(param, 'expected an integer of at least 1');
  return value;
}

function parseTools(value: unknown): ToolDefinition[] | undefined {
  if (!present(value)) return undefined;
  if (!Array.isArray(value)) throw invalid('tools', `expected a list, got ${typeName(value)}`);
  const names = new Set<string>();
  return value.map((item: unknown, index): ToolDefinition => {
    const at = `tools.${index}`;
    if (!isRecord(item)) throw invalid(at, `expected a tool object, got ${typeName(item)}`);
    if (present(item.type) && item.type !== 'custom') {
      throw invalid(
        `${at}.type`,
        `server tools (${JSON.stringify(item.type)}) are not supported by this server; define a custom tool with name and input_schema`,
      );
    }
    if (typeof item.name !== 'string' || !TOOL_NAME.test(item.name)) throw invalid(`${at}.name`, 'must match ^[a-zA-Z0-9_-]{1,64}$');
    if (names.has(item.name)) throw invalid(`${at}.name`, `"${item.name}" is defined twice`);
    names.add(item.name);
    const schema = item.input_schema;
    if (!isRecord(schema) || schema.type !== 'object') throw invalid(`${at}.input_schema`, 'must be a JSON Schema object with "type": "object"');
    const tool: ToolDefinition = { name: item.name, parameters: schema };
    if (present(item.description)) {
      if (typeof item.description !== 'string') throw invalid(`${at}.description`, 'expected a string');
      tool.description = item.description;
    }
    if (present(item.strict)) {
      if (typeof item.strict !== 'boolean') throw invalid(`${at}.strict`, 'expected a boolean');
      tool.strict = item.strict;
    }
    return tool;
  });
}

/** `tool_choice`: auto, any (required), tool (one by name), none; `disable_parallel_tool_use` as parallelToolCalls false. */
function parseToolChoice(value: unknown, tools: readonly ToolDefinition[] | undefined, request: RouteRequest): void {
  if (!present(value)) return;
  if (!isRecord(value)) throw invalid('tool_choice', `expected an object with a type, got ${typeName(value)}`);
  let choice: ToolChoice;
  switch (value.type) {
    case 'auto':
      choice = 'auto';
      break;
    case 'none':
      choice = 'none';
      break;
    case 'any':
      if (tools === undefined || tools.length === 0) throw invalid('tool_choice', "'any' needs tools");
      choice = 'required';
      break;
    case 'tool': {
      const name = value.name;
      if (typeof name !== 'string' || name === '') throw invalid('tool_choice.name', 'is required');
      if (tools === undefined || !tools.some((tool) => tool.name === name))
        throw invalid('tool_choice.name', `names the tool "${name}", which is not in tools`);
      choice = { name };
      break;
    }
    default:
      throw invalid('tool_choice.type', `expected 'auto', 'any', 'tool' or 'none' (got ${JSON.stringify(value.type) ?? typeName(value.type)})`);
  }
  request.toolChoice = choice;
  const single = value.disable_parallel_tool_use;
  if (present(single)) {
    if (typeof single !== 'boolean') throw invalid('tool_choice.disable_parallel_tool_use', 'expected a boolean');
    if (single && choice !== 'none') request.parallelToolCalls = false;
  }
}

/**
 * `thinking: {type: 'enabled', budget_tokens}` asks for reasoning: the budget becomes the
 * contract's `reasoningEffort` (under 4,096 tokens low, under 16,384 medium, else high), so
 * only providers that reason are asked. `disabled` and `adaptive` set nothing.
 */
export function effortOfBudget(budget: number): string {
  return budget < 4096 ? 'low' : budget < 16384 ? 'medium' : 'high';
}

function parseThinking(value: unknown): string | undefined {
  if (!present(value)) return undefined;
  if (!isRecord(value)) throw invalid('thinking', `expected an object with a type, got ${typeName(value)}`);
  switch (value.type) {
    case 'enabled':
      return effortOfBudget(positiveInteger(value.budget_tokens, 'thinking.budget_tokens', true) as number);
    case 'disabled':
    case 'adaptive':
      return undefined;
    default:
      throw invalid('thinking.type', `expected 'enabled', 'disabled' or 'adaptive' (got ${JSON.stringify(value.type) ?? typeName(value.type)})`);
  }
}

/** `output_config`: `effort` (reasoning effort) and `format` (a JSON schema the answer must follow). */
function parseOutputConfig(value: unknown, request: RouteRequest): void {
  if (!present(value)) return;
  if (!isRecord(value)) throw invalid('output_config', `expected an object, got ${typeName(value)}`);
  for (const key of Object.keys(value)) {
    if (key !== 'effort' && key !== 'format') throw invalid(`output_config.${key}`, 'this field is not supported by this server (effort and format are)');
  }
  if (present(value.effort)) {
    if (typeof value.effort !== 'string' || value.effort === '') throw invalid('output_config.effort', 'expected a string such as low, medium or high');
    request.reasoningEffort = value.effort;
  }
  const format = value.format;
  if (present(format)) {
    if (!isRecord(format) || format.type !== 'json_schema') throw invalid('output_config.format.type', "expected 'json_schema'");
    if (!isRecord(format.schema)) throw invalid('output_config.format.schema', 'expected a JSON Schema object');
    const responseFormat: ResponseFormat = { type: 'json_schema', name: 'response', schema: format.schema };
    request.responseFormat = responseFormat;
  }
}

function parseStopSequences(value: unknown): string[] | undefined {
  if (!present(value)) return undefined;
  if (!Array.isArray(value)) throw invalid('stop_sequences', `expected a list of strings, got ${typeName(value)}`);
  value.forEach((item: unknown, index) => {
    if (typeof item !== 'string' || item === '') throw invalid(`stop_sequences.${index}`, 'expected a non-empty string');
  });
  return value.length === 0 ? undefined : (value as string[]);
}

function parseMetadata(value: unknown, request: RouteRequest): void {
  if (!present(value)) return;
  if (!isRecord(value)) throw invalid('metadata', `expected an object, got ${typeName(value)}`);
  const user = value.user_id;
  if (!present(user)) return;
  if (typeof user !== 'string') throw invalid('metadata.user_id', 'expected a string');
  request.user = user;
}

/** Validates a parsed JSON body; throws InvalidRequestError naming the field at fault. */
export function parseMessagesRequest(body: unknown, options: MessagesRequestOptions): ParsedMessagesRequest {
  if (!isRecord(body)) throw new InvalidRequestError('The request body must be a JSON object.');
  for (const key of Object.keys(body)) {
    if (!READ.has(key) && !IGNORED.has(key)) throw invalid(key, 'this field is not supported by this server');
  }
  const model = body.model;
  if (typeof model !== 'string' || model === '') throw invalid('model', present(model) ? 'expected a non-empty string' : 'Field required');
  const maxTokens = positiveInteger(body.max_tokens, 'max_tokens', options.countOnly !== true);
  if (present(body.stream) && typeof body.stream !== 'boolean') throw invalid('stream', 'expected a boolean');
  const stream = options.countOnly !== true && body.stream === true;
  const found: ContentFound = { images: false };
  const system = parseSystem(body.system);
  const conversation = parseMessages(body.messages, options, found);
  const messages: ChatMessage[] = system === undefined ? conversation : [{ role: 'system', content: system }, ...conversation];
  const request: RouteRequest = { model, messages, stream };
  if (maxTokens !== undefined) request.maxTokens = maxTokens;
  const temperature = numberIn(body, 'temperature', 0, 1);
  if (temperature !== undefined) request.temperature = temperature;
  const topP = numberIn(body, 'top_p', 0, 1);
  if (topP !== undefined) request.topP = topP;
  const stop = parseStopSequences(body.stop_sequences);
  if (stop !== undefined) request.stop = stop;
  const tools = parseTools(body.tools);
  if (tools !== undefined) request.tools = tools;
  parseToolChoice(body.tool_choice, tools, request);
  const effort = parseThinking(body.thinking);
  if (effort !== undefined) request.reasoningEffort = effort;
  parseOutputConfig(body.output_config, request);
  parseMetadata(body.metadata, request);
  if (present(body.provider)) {
    if (typeof body.provider !== 'string' || body.provider === '') throw invalid('provider', 'expected a provider name');
    request.provider = body.provider;
  }
  let extra: Record<string, unknown> | undefined;
  if (present(body.top_k)) {
    const topK = body.top_k;
    if (typeof topK !== 'number' || !Number.isInteger(topK) || topK < 0) throw invalid('top_k', 'expected an integer of at least 0');
    // No contract field: an OpenAI-compatible upstream (vLLM, llama.cpp...) receives it as top_k;
    // the door hands it to native providers through their provider options (index.ts).
    (extra ??= {}).top_k = topK;
  }
  // Anthropic's answer always has usage: the upstream's own count, when it gives one.
  if (stream) (extra ??= {}).stream_options = { include_usage: true };
  if (extra !== undefined) request.extraBody = extra;
  return { request, stream, model, hasImages: found.images };
}
