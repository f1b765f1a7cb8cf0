/**
 * The body of `POST /v1/responses`, OpenAI's Responses API, checked and turned into the
 * contract's request. What this server cannot do faithfully (hosted tools, background runs,
 * stored prompts, conversations objects, logprobs) is refused with a 400 naming the field, and
 * so is a field OpenAI does not define: nothing is dropped.
 */
import { z } from 'zod';
import { InvalidRequestError } from '../../core/errors.js';
import type { CallSettings, ChatMessage, ResponseFormat, ToolChoice, ToolDefinition } from '../../core/spec.js';
import { chosenFunction, functionTool, invalid, isRecord, issueError, TOOL_NAME, TOOL_NAME_RULE, toolChoiceMode, typeName } from '../openai-request.js';
import { parseInput, type InputLimits, type UnmatchedOutput } from './input.js';

const optionalNumber = (min: number, max: number) => z.number().min(min).max(max).nullish();

const formatSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('text') }),
  z.object({ type: z.literal('json_object') }),
  z.object({
    type: z.literal('json_schema'),
    name: z.string().regex(TOOL_NAME, TOOL_NAME_RULE),
    schema: z.record(z.string(), z.unknown()),
    description: z.string().nullish(),
    strict: z.boolean().nullish(),
  }),
]);

/** The fields read here; `input`, `tools` and `tool_choice` are read apart, by hand, to name the exact part at fault. */
const responsesBody = z.object({
  model: z.string().min(1, 'must be a non-empty string'),
  instructions: z.string().nullish(),
  stream: z.boolean().nullish(),
  store: z.boolean().nullish(),
  previous_response_id: z.string().min(1, 'must be a non-empty string').nullish(),
  temperature: optionalNumber(0, 2),
  top_p: optionalNumber(0, 1),
  max_output_tokens: z.int().positive().nullish(),
  parallel_tool_calls: z.boolean().nullish(),
  metadata: z
    .record(z.string().max(64, 'keys are at most 64 characters'), z.string().max(512, 'values are strings of at most 512 characters'))
    .refine((value) => Object.keys(value).length <= 16, 'at most 16 keys')
    .nullish(),
  reasoning: z
    .object({
      effort: z.string().min(1).nullish(),
      summary: z.enum(['auto', 'concise', 'detailed']).nullish(),
      generate_summary: z.enum(['auto', 'concise', 'detailed']).nullish(),
    })
    .nullish(),
  text: z.object({ format: formatSchema.nullish(), verbosity: z.enum(['low', 'medium', 'high']).nullish() }).nullish(),
  user: z.string().nullish(),
  safety_identifier: z.string().nullish(),
  prompt_cache_key: z.string().nullish(),
  prompt_cache_retention: z.string().nullish(),
  service_tier: z.string().nullish(),
  truncation: z.enum(['auto', 'disabled']).nullish(),
  include: z.array(z.string()).nullish(),
  stream_options: z.object({ include_obfuscation: z.boolean().nullish() }).nullish(),
  provider: z.string().min(1).nullish(),
  background: z.literal(false, 'background responses are not supported by this server').nullish(),
  top_logprobs: z.literal(0, 'logprobs are not supported by this door').nullish(),
});

/** Fields OpenAI defines that this server refuses whenever they are set. */
const REFUSED: Readonly<Record<string, string>> = {
  conversation: 'conversation objects are not supported by this server: use previous_response_id, or send the history in input',
  prompt: 'stored prompts are not supported by this server: send the prompt in instructions and input',
  max_tool_calls: 'a limit on tool calls is not supported by this server',
  context_management: 'context management is not supported by this server',
  moderation: 'moderation is not supported by this server',
};

/** Everything else that may come in a body: `input`, `tools`, `tool_choice`, and the schema's fields. */
const KNOWN = new Set<string>(['input', 'tools', 'tool_choice', ...Object.keys(responsesBody.shape), ...Object.keys(REFUSED)]);

/** `include` values that change nothing here (there is no encrypted reasoning to include). */
const HARMLESS_INCLUDES = new Set(['reasoning.encrypted_content']);

export interface ParsedResponsesRequest {
  model: string;
  stream: boolean;
  store: boolean;
  previousResponseId: string | undefined;
  instructions: string | undefined;
  /** This turn's input (no instructions, no history). */
  input: ChatMessage[];
  /** Function outputs whose call is not in the input before them: it must be in the history. */
  unmatched: UnmatchedOutput[];
  /** The call settings, for every turn. */
  settings: CallSettings;
  provider: string | undefined;
  metadata: Record<string, string>;
  hasImages: boolean;
  /** What the response object says of the request (`tools`, `tool_choice`, `text`...), in OpenAI's shape. */
  echo: RequestEcho;
}

export interface RequestEcho {
  instructions: string | null;
  max_output_tokens: number | null;
  parallel_tool_calls: boolean;
  previous_response_id: string | null;
  reasoning: { effort: string | null; summary: string | null };
  store: boolean;
  temperature: number | null;
  text: { format: Record<string, unknown> };
  tool_choice: unknown;
  tools: unknown[];
  top_p: number | null;
  truncation: string;
  user: string | null;
  metadata: Record<string, string>;
}

function parseTools(value: unknown): ToolDefinition[] | undefined {
  if (value === undefined || value === null) return undefined;
  if (!Array.isArray(value)) throw invalid('tools', `expected a list, got ${typeName(value)}`);
  const names = new Set<string>();
  const refused = value.flatMap((item: unknown, index) => (isRecord(item) && item.type !== 'function' ? [{ index, type: item.type }] : []));
  if (refused.length > 0) {
    const first = refused[0] as { index: number; type: unknown };
    const kinds = [...new Set(refused.map((item) => (typeof item.type === 'string' ? `'${item.type}'` : typeName(item.type))))].join(', ');
    throw invalid(`tools[${first.index}].type`, `only function tools are supported by this server; not ${kinds}`);
  }
  return value.map((item: unknown, index): ToolDefinition => {
    const at = `tools[${index}]`;
    if (!isRecord(item)) throw invalid(at, `expected a tool object, got ${typeName(item)}`);
    return functionTool(item, `${at}.`, names);
  });
}

function parseToolChoice(value: unknown, tools: readonly ToolDefinition[] | undefined): ToolChoice | undefined {
  if (value === undefined || value === null) return undefined;
  const mode = toolChoiceMode(value, tools);
  if (mode !== undefined) return mode;
  if (isRecord(value) && value.type !== 'function') {
    throw invalid(
      'tool_choice.type',
      `only 'auto', 'none', 'required' or a function are supported by this server (got ${JSON.stringify(value.type) ?? typeName(value.type)})`,
    );
  }
  const name = isRecord(value) ? value.name : undefined;
  if (typeof name !== 'string') throw invalid('tool_choice', "expected 'auto', 'none', 'required' or {type: 'function', name}");
  return chosenFunction(name, tools);
}

function responseFormat(format: z.infer<typeof formatSchema>): ResponseFormat {
  if (format.type !== 'json_schema') return { type: format.type };
  const result: ResponseFormat = { type: 'json_schema', name: format.name, schema: format.schema };
  if (format.description !== undefined && format.description !== null) result.description = format.description;
  if (format.strict !== undefined && format.strict !== null) result.strict = format.strict;
  return result;
}

/** Validates a parsed JSON body; throws InvalidRequestError naming the field at fault. */
export function parseResponsesRequest(body: unknown, limits: InputLimits): ParsedResponsesRequest {
  if (!isRecord(body)) throw new InvalidRequestError('The request body must be a JSON object.');
  for (const key of Object.keys(body)) {
    if (!KNOWN.has(key)) throw new InvalidRequestError(`Unknown parameter: '${key}'.`, key);
    const reason = REFUSED[key];
    if (reason !== undefined && body[key] !== null && body[key] !== undefined) throw invalid(key, reason);
  }
  const result = responsesBody.safeParse(body);
  if (!result.success) throw issueError(result.error);
  const parsed = result.data;
  for (const [index, value] of (parsed.include ?? []).entries()) {
    if (!HARMLESS_INCLUDES.has(value)) throw invalid(`include[${index}]`, `'${value}' is not supported by this server`);
  }
  const input = parseInput(body.input, limits);
  const tools = parseTools(body.tools);
  const toolChoice = parseToolChoice(body.tool_choice, tools);

  const settings: CallSettings = {};
  if (parsed.temperature != null) settings.temperature = parsed.temperature;
  if (parsed.top_p != null) settings.topP = parsed.top_p;
  if (parsed.max_output_tokens != null) settings.maxTokens = parsed.max_output_tokens;
  if (parsed.parallel_tool_calls != null) settings.parallelToolCalls = parsed.parallel_tool_calls;
  if (tools !== undefined) settings.tools = tools;
  if (toolChoice !== undefined) settings.toolChoice = toolChoice;
  const format = parsed.text?.format;
  if (format != null) settings.responseFormat = responseFormat(format);
  const effort = parsed.reasoning?.effort;
  if (effort != null) settings.reasoningEffort = effort;
  const user = parsed.safety_identifier ?? parsed.user;
  if (user != null) settings.user = user;
  if (parsed.text?.verbosity != null) settings.extraBody = { verbosity: parsed.text.verbosity };

  const store = parsed.store ?? true;
  const metadata = parsed.metadata ?? {};
  const echo: RequestEcho = {
    instructions: parsed.instructions ?? null,
    max_output_tokens: parsed.max_output_tokens ?? null,
    parallel_tool_calls: parsed.parallel_tool_calls ?? true,
    previous_response_id: parsed.previous_response_id ?? null,
    reasoning: { effort: effort ?? null, summary: parsed.reasoning?.summary ?? null },
    store,
    temperature: parsed.temperature ?? null,
    text: { format: format == null ? { type: 'text' } : (format as Record<string, unknown>) },
    tool_choice: toolChoice === undefined ? 'auto' : typeof toolChoice === 'string' ? toolChoice : { type: 'function', name: toolChoice.name },
    tools: (tools ?? []).map((tool) => ({
      type: 'function',
      name: tool.name,
      description: tool.description ?? null,
      parameters: tool.parameters ?? null,
      strict: tool.strict ?? null,
    })),
    top_p: parsed.top_p ?? null,
    truncation: parsed.truncation ?? 'disabled',
    user: parsed.user ?? null,
    metadata,
  };
  return {
    model: parsed.model,
    stream: parsed.stream === true,
    store,
    previousResponseId: parsed.previous_response_id ?? undefined,
    instructions: parsed.instructions ?? undefined,
    input: input.messages,
    unmatched: input.unmatched,
    settings,
    provider: parsed.provider ?? undefined,
    metadata,
    hasImages: input.hasImages,
    echo,
  };
}
