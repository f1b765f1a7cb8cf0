/**
 * What the two OpenAI-shaped doors (chat completions and the Responses API) check alike in a
 * request body: the error that names a field, a zod issue as that error, an image part, a list
 * of content parts, a function tool's fields and a tool choice.
 */
import type { z } from 'zod';
import { InvalidRequestError } from '../core/errors.js';
import type { ContentPart, ToolChoice, ToolDefinition } from '../core/spec.js';
import { checkImageUrl } from './images.js';

/** A tool's name, and a JSON schema format's, as OpenAI allows them. */
export const TOOL_NAME = /^[a-zA-Z0-9_-]{1,64}$/;
export const TOOL_NAME_RULE = 'must match ^[a-zA-Z0-9_-]{1,64}$';

export function invalid(param: string, detail: string): InvalidRequestError {
  return new InvalidRequestError(`Invalid value for '${param}': ${detail}`, param);
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function typeName(value: unknown): string {
  return value === null ? 'null' : Array.isArray(value) ? 'array' : typeof value;
}

/** The first issue of a failed zod parse, naming its field (`messages[0].content`, `text.format.name`). */
export function issueError(error: z.ZodError): InvalidRequestError {
  const issue = error.issues[0];
  let param = '';
  for (const key of issue?.path ?? []) param += typeof key === 'number' ? `[${key}]` : param === '' ? String(key) : `.${String(key)}`;
  const detail = issue?.message ?? 'invalid request';
  return new InvalidRequestError(param ? `Invalid value for '${param}': ${detail}` : detail, param || undefined);
}

/** A string, or the parts of a non-empty list, each an object read by `part`. */
export function contentParts(content: unknown, param: string, part: (value: Record<string, unknown>, at: string) => ContentPart): string | ContentPart[] {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) throw invalid(param, `expected a string or a list of content parts, got ${typeName(content)}`);
  if (content.length === 0) throw invalid(param, 'must contain at least one part');
  return content.map((value: unknown, index): ContentPart => {
    const at = `${param}[${index}]`;
    if (!isRecord(value)) throw invalid(at, `expected a content part object, got ${typeName(value)}`);
    return part(value, at);
  });
}

/** An image part: its URL (https or a data URL within `imageBytes`) and its detail, each checked under its own field. */
export function imagePart(url: unknown, urlParam: string, detail: unknown, detailParam: string, imageBytes: number, found: { images: boolean }): ContentPart {
  if (typeof url !== 'string') throw invalid(urlParam, 'expected the image URL (https or a data URL)');
  checkImageUrl(url, urlParam, imageBytes);
  found.images = true;
  if (detail === undefined || detail === null) return { type: 'image', url };
  if (detail !== 'auto' && detail !== 'low' && detail !== 'high') throw invalid(detailParam, "must be 'auto', 'low' or 'high'");
  return { type: 'image', url, detail };
}

/**
 * A function tool from its fields (`function` of a chat tool, the tool itself in the Responses
 * API); `at` prefixes their names, `names` holds the names seen so far (a name may not repeat).
 */
export function functionTool(fields: Record<string, unknown>, at: string, names: Set<string>): ToolDefinition {
  if (typeof fields.name !== 'string' || !TOOL_NAME.test(fields.name)) throw invalid(`${at}name`, TOOL_NAME_RULE);
  if (names.has(fields.name)) throw invalid(`${at}name`, `"${fields.name}" is defined twice`);
  names.add(fields.name);
  const tool: ToolDefinition = { name: fields.name };
  if (fields.description !== undefined && fields.description !== null) {
    if (typeof fields.description !== 'string') throw invalid(`${at}description`, 'expected a string');
    tool.description = fields.description;
  }
  if (fields.parameters !== undefined && fields.parameters !== null) {
    const parameters = fields.parameters;
    if (!isRecord(parameters) || (parameters.type !== undefined && parameters.type !== 'object')) {
      throw invalid(`${at}parameters`, 'must be a JSON Schema object with "type": "object"');
    }
    tool.parameters = parameters;
  }
  if (fields.strict !== undefined && fields.strict !== null) {
    if (typeof fields.strict !== 'boolean') throw invalid(`${at}strict`, 'expected a boolean');
    tool.strict = fields.strict;
  }
  return tool;
}

/** `tool_choice` when it is a mode: 'auto', 'none', or 'required' (which needs tools); undefined otherwise. */
export function toolChoiceMode(value: unknown, tools: readonly ToolDefinition[] | undefined): 'auto' | 'none' | 'required' | undefined {
  if (value !== 'auto' && value !== 'none' && value !== 'required') return undefined;
  if (value === 'required' && (tools === undefined || tools.length === 0)) throw invalid('tool_choice', "'required' needs tools");
  return value;
}

/** `tool_choice` naming one function, which must be among the tools. */
export function chosenFunction(name: string, tools: readonly ToolDefinition[] | undefined): ToolChoice {
  if (tools === undefined || !tools.some((tool) => tool.name === name)) throw invalid('tool_choice', `names the function "${name}", which is not in tools`);
  return { name };
}
