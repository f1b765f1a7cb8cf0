/**
 * Gemini's generateContent wire format: the request (contents of parts: text, inlineData,
 * functionCall, functionResponse; systemInstruction; tools.functionDeclarations; toolConfig;
 * generationConfig), each GenerateContentResponse (an SSE event when streamed, the whole body
 * when not) turned into stream parts, and Google's error objects into typed errors.
 */
import { AuthError, ModelNotFoundError, ProviderHttpError, RateLimitError, StreamParseError, truncate, type G4FError } from '../core/errors.js';
import { errorFromResponse } from '../core/http.js';
import { parseRetryAfter } from '../core/retry.js';
import type { ReplyHeaders } from '../core/reply.js';
import type { ServerSentEvent } from '../core/sse.js';
import type { ChatMessage, Chunk, CompletionRequest, FinishReason, ToolChoice, Usage } from '../core/spec.js';
import {
  argumentsObject,
  contentParts,
  dataUrlImage,
  GEMINI_SIGNATURE_TAG,
  inlineImageOnly,
  isObject,
  ownProviderOptions,
  parseJsonBody,
  resultObject,
  systemText,
  toolCallOf,
  usageOf,
} from './native-wire.js';

type Part = Record<string, unknown>;
interface Content {
  role: 'user' | 'model';
  parts: Part[];
}

/** Google's documented stand-in for the thought signature of a function call replayed without its own. */
export const REPLAYED_CALL_SIGNATURE = 'skip_thought_signature_validator';

const IMAGE_TYPES: Readonly<Record<string, string>> = {
  png: 'image/png',
  jpg: 'image/jpeg',
  jpeg: 'image/jpeg',
  webp: 'image/webp',
  gif: 'image/gif',
  heic: 'image/heic',
  heif: 'image/heif',
};

/** An image URL's media type by its extension, if it has a known one (Gemini's `mimeType` is optional). */
function imageTypeOf(url: string): string | undefined {
  const path = URL.canParse(url) ? new URL(url).pathname : url;
  const extension = /\.([a-z0-9]+)$/i.exec(path)?.[1]?.toLowerCase();
  return extension === undefined ? undefined : IMAGE_TYPES[extension];
}

/** The thought signature of a turn Gemini answered (tagged in the contract), else undefined. */
function ownSignature(signature: string | undefined): string | undefined {
  return signature?.startsWith(GEMINI_SIGNATURE_TAG) && signature.length > GEMINI_SIGNATURE_TAG.length
    ? signature.slice(GEMINI_SIGNATURE_TAG.length)
    : undefined;
}

/** Thinking budgets (tokens) for the reasoning efforts a caller may name. */
const THINKING_BUDGETS: Readonly<Record<string, number>> = { minimal: 512, low: 1024, medium: 8192, high: 24576 };

/** The conversation as Gemini's contents: function responses in user turns, adjacent turns of one role merged. */
export function geminiContents(provider: string, messages: readonly ChatMessage[]): Content[] {
  const contents: Content[] = [];
  const add = (role: Content['role'], parts: Part[]): void => {
    const last = contents.at(-1);
    if (last?.role === role) last.parts.push(...parts);
    else contents.push({ role, parts });
  };
  messages.forEach((message, position) => {
    switch (message.role) {
      case 'system':
      case 'developer':
        return;
      case 'user':
        add(
          'user',
          contentParts(message.content).map((part) => {
            if (part.type === 'text') return { text: part.text };
            const image = dataUrlImage(part.url);
            if (image !== undefined) return { inlineData: { mimeType: image.mediaType, data: image.data } };
            // Any other URL goes by reference (a Files API URI, or a public https URL Gemini fetches itself).
            if (!/^https?:\/\//i.test(part.url)) inlineImageOnly(provider, part.url);
            const mimeType = imageTypeOf(part.url);
            return { fileData: { fileUri: part.url, ...(mimeType === undefined ? {} : { mimeType }) } };
          }),
        );
        return;
      case 'assistant': {
        const parts: Part[] = message.content ? [{ text: message.content }] : [];
        const signature = ownSignature(message.reasoningSignature);
        (message.toolCalls ?? []).forEach((call, index) => {
          const part: Part = { functionCall: { name: call.name, args: argumentsObject(call) } };
          // Thinking models want the turn's first call to carry the thought signature they gave it;
          // without it (a turn from elsewhere), the value Google documents for such history stands in.
          if (index === 0) part.thoughtSignature = signature ?? REPLAYED_CALL_SIGNATURE;
          parts.push(part);
        });
        if (parts.length === 0) parts.push({ text: '' });
        // A turn without calls had its signature on its last part.
        const last = parts.at(-1) as Part;
        if (signature !== undefined && last.functionCall === undefined) last.thoughtSignature = signature;
        add('model', parts);
        return;
      }
      case 'tool': {
        const call = toolCallOf(messages, position, message.toolCallId);
        add('user', [{ functionResponse: { name: call.name, response: resultObject(message.content) } }]);
        return;
      }
    }
  });
  return contents;
}

function toolConfigOf(choice: ToolChoice): Record<string, unknown> {
  if (typeof choice === 'object') return { functionCallingConfig: { mode: 'ANY', allowedFunctionNames: [choice.name] } };
  return { functionCallingConfig: { mode: choice === 'required' ? 'ANY' : choice.toUpperCase() } };
}

/** The body of `:generateContent` and `:streamGenerateContent`. */
export function geminiBody(provider: string, request: CompletionRequest): Record<string, unknown> {
  const body: Record<string, unknown> = { contents: geminiContents(provider, request.messages) };
  const system = systemText(request.messages);
  if (system !== undefined) body.systemInstruction = { parts: [{ text: system }] };
  if (request.tools !== undefined && request.tools.length > 0) {
    const declarations = request.tools.map((tool) => {
      const declaration: Record<string, unknown> = { name: tool.name };
      if (tool.description !== undefined) declaration.description = tool.description;
      if (tool.parameters !== undefined) declaration.parametersJsonSchema = tool.parameters;
      return declaration;
    });
    body.tools = [{ functionDeclarations: declarations }];
  }
  if (request.toolChoice !== undefined) body.toolConfig = toolConfigOf(request.toolChoice);
  const config: Record<string, unknown> = {};
  if (request.temperature !== undefined) config.temperature = request.temperature;
  if (request.topP !== undefined) config.topP = request.topP;
  if (request.maxTokens !== undefined) config.maxOutputTokens = request.maxTokens;
  if (request.stop !== undefined && request.stop.length > 0) config.stopSequences = request.stop;
  if (request.seed !== undefined) config.seed = request.seed;
  if (request.presencePenalty !== undefined) config.presencePenalty = request.presencePenalty;
  if (request.frequencyPenalty !== undefined) config.frequencyPenalty = request.frequencyPenalty;
  const format = request.responseFormat;
  if (format?.type === 'json_object' || format?.type === 'json_schema') config.responseMimeType = 'application/json';
  if (format?.type === 'json_schema') config.responseJsonSchema = format.schema;
  if (request.reasoningEffort !== undefined) {
    const budget = THINKING_BUDGETS[request.reasoningEffort.toLowerCase()];
    config.thinkingConfig = budget === undefined ? { includeThoughts: true } : { includeThoughts: true, thinkingBudget: budget };
  }
  const own = ownProviderOptions(request, provider);
  if (isObject(own?.generationConfig)) Object.assign(config, own.generationConfig);
  if (Object.keys(config).length > 0) body.generationConfig = config;
  if (own !== undefined) for (const [key, value] of Object.entries(own)) if (key !== 'generationConfig') body[key] = value;
  return body;
}

// ---- answers ----

const FILTERED = new Set(['SAFETY', 'RECITATION', 'PROHIBITED_CONTENT', 'BLOCKLIST', 'SPII', 'IMAGE_SAFETY', 'IMAGE_PROHIBITED_CONTENT', 'IMAGE_RECITATION']);

function finishReasonOf(reason: string, madeCalls: boolean): FinishReason {
  if (reason === 'STOP') return madeCalls ? 'tool_calls' : 'stop';
  if (reason === 'MAX_TOKENS') return 'length';
  if (FILTERED.has(reason)) return 'content_filter';
  return reason.toLowerCase();
}

/** Google's `{error: {code, message, status, details}}` as a typed error; RetryInfo's `retryDelay` is honoured. */
export function geminiError(provider: string, error: Record<string, unknown>, status: number, headers: ReplyHeaders = {}): G4FError {
  const code = typeof error.status === 'string' ? error.status : '';
  const message = truncate(typeof error.message === 'string' ? error.message : JSON.stringify(error));
  const said = code === '' ? message : `${code}: ${message}`;
  const details = Array.isArray(error.details) ? (error.details as unknown[]).filter(isObject) : [];
  if (status === 429 || code === 'RESOURCE_EXHAUSTED') {
    const retryInfo = details.find((detail) => typeof detail.retryDelay === 'string');
    const delay = /^(\d+(?:\.\d+)?)s$/.exec(String(retryInfo?.retryDelay ?? ''))?.[1];
    return new RateLimitError(said, parseRetryAfter(headers) ?? (delay === undefined ? undefined : Math.round(Number(delay) * 1000)), { provider });
  }
  if (status === 401 || status === 403 || details.some((detail) => detail.reason === 'API_KEY_INVALID')) {
    return new AuthError(`${provider} refused the credentials (HTTP ${status}): ${said}`, { provider, status });
  }
  if ((status === 404 || code === 'NOT_FOUND') && /model/i.test(message)) return new ModelNotFoundError(`${provider}: ${message}`, 1, { provider });
  return new ProviderHttpError(status, said, { provider, message: `${provider} answered HTTP ${status}: ${said}` });
}

export function geminiReplyError(provider: string, status: number, headers: ReplyHeaders, text: string): G4FError {
  const body = parseJsonBody(text);
  // Some Google front ends answer a list of one error.
  const first: unknown = Array.isArray(body) ? body[0] : body;
  if (isObject(first) && isObject(first.error)) return geminiError(provider, first.error, status, headers);
  return errorFromResponse(provider, status, headers, text);
}

/** A reader of GenerateContentResponse objects: the first candidate's parts, its finish reason, the last usage. */
export function createGeminiReader(provider: string): {
  read(item: ServerSentEvent | { stray: string }, into: Chunk[]): 'more' | 'done';
  end(into: Chunk[], done: boolean): void;
  response(value: unknown, into: Chunk[]): void;
} {
  let calls = 0;
  let callSigned = false;
  let finished = false;
  let usage: Usage | undefined;
  const reader = {
    response(value: unknown, into: Chunk[]): void {
      if (Array.isArray(value)) {
        for (const item of value) reader.response(item, into);
        return;
      }
      if (!isObject(value)) throw new StreamParseError(`${provider} sent a response that is not a JSON object`, { provider });
      if (isObject(value.error)) throw geminiError(provider, value.error, typeof value.error.code === 'number' ? value.error.code : 500);
      const candidate: unknown = Array.isArray(value.candidates) ? value.candidates[0] : undefined;
      const parts: unknown = isObject(candidate) && isObject(candidate.content) ? candidate.content.parts : undefined;
      for (const part of Array.isArray(parts) ? (parts as unknown[]) : []) {
        if (!isObject(part)) continue;
        const call = part.functionCall;
        // The turn's thought signature, kept for the next turn: the first call's, else the last part's.
        if (typeof part.thoughtSignature === 'string' && part.thoughtSignature !== '' && !callSigned) {
          callSigned = isObject(call);
          into.push({ type: 'reasoning-delta', text: '', signature: GEMINI_SIGNATURE_TAG + part.thoughtSignature });
        }
        if (typeof part.text === 'string' && part.text !== '') into.push({ type: part.thought === true ? 'reasoning-delta' : 'text-delta', text: part.text });
        if (isObject(call) && typeof call.name === 'string') {
          const index = calls++;
          const id = typeof call.id === 'string' && call.id !== '' ? call.id : `call_${index}`;
          into.push({ type: 'tool-call-delta', index, id, name: call.name, argumentsDelta: JSON.stringify(call.args ?? {}) });
        }
      }
      if (isObject(value.usageMetadata)) {
        const meta = value.usageMetadata;
        const thoughts = typeof meta.thoughtsTokenCount === 'number' ? meta.thoughtsTokenCount : 0;
        const candidates = typeof meta.candidatesTokenCount === 'number' ? meta.candidatesTokenCount + thoughts : thoughts;
        usage = usageOf(meta.promptTokenCount, candidates, meta.totalTokenCount) ?? usage;
      }
      // A blocked prompt has no candidate: its promptFeedback says why.
      const blockReason = isObject(value.promptFeedback) && typeof value.promptFeedback.blockReason === 'string' ? value.promptFeedback.blockReason : undefined;
      const said = isObject(candidate) && typeof candidate.finishReason === 'string' ? candidate.finishReason : undefined;
      const reason = said ?? (blockReason === undefined ? undefined : 'SAFETY');
      if (reason !== undefined && !finished) {
        finished = true;
        const finish = finishReasonOf(reason, calls > 0);
        // A blocked answer keeps Google's word for why (SAFETY, RECITATION…) beside content_filter.
        into.push(finish === 'content_filter' ? { type: 'finish', reason: finish, detail: said ?? blockReason ?? reason } : { type: 'finish', reason: finish });
      }
    },
    read(item: ServerSentEvent | { stray: string }, into: Chunk[]): 'more' | 'done' {
      if ('stray' in item) return 'more';
      const value = parseJsonBody(item.data);
      if (value === undefined) throw new StreamParseError(`${provider} sent an event that is not JSON: ${truncate(item.data, 200)}`, { provider });
      reader.response(value, into);
      return 'more';
    },
    end(into: Chunk[], _done: boolean): void {
      if (!finished) throw new StreamParseError(`${provider}'s answer ended without a finish reason: it is incomplete`, { provider });
      if (usage !== undefined) into.push({ type: 'usage', usage });
    },
  };
  return reader;
}

/** The parts of a whole (not streamed) answer. */
export function geminiResponseChunks(provider: string, text: string): Chunk[] {
  const value = parseJsonBody(text);
  if (value === undefined) throw new StreamParseError(`${provider} answered something that is not JSON: ${truncate(text, 200)}`, { provider });
  const reader = createGeminiReader(provider);
  const chunks: Chunk[] = [];
  reader.response(value, chunks);
  reader.end(chunks, true);
  return chunks;
}
