/**
 * `POST /v1/chat/completions`: a routed answer written in OpenAI's wire format, as one
 * `chat.completion` object or as `chat.completion.chunk` server-sent events.
 */
import { randomBytes } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import type { ProviderAttempt } from '../core/errors.js';
import type { Chunk, FinishReason, Usage } from '../core/spec.js';
import type { ChoiceResult, Router } from '../routing/types.js';
import type { ParsedChatRequest } from './chat-request.js';
import type { Metrics } from './metrics.js';
import { shutdownReason, toOpenAIError } from './openai-errors.js';
import { createSseWriter, relayBatches } from './sse-writer.js';
import { countUsage } from '../core/token-count.js';

/** What a request did, for its log line and metrics (filled in as the answer goes). */
export interface ChatOutcome {
  model?: string;
  provider?: string;
  usage?: Usage;
  stream?: boolean;
  /** The stream failed after it started (the error was sent as an event). */
  streamError?: unknown;
  /** Providers that failed before the one that answered (or started to). */
  attempts?: readonly ProviderAttempt[];
}

export interface ChatHandlerContext {
  router: Router;
  metrics: Metrics;
  /** Headers every answer carries (request id, CORS). */
  baseHeaders: Record<string, string>;
  /** Aborted when the client goes away. */
  signal: AbortSignal;
  /** `performance.now()` when the request arrived. */
  startedAt: number;
  /** The completion id, `chatcmpl-...`. */
  completionId: string;
}

/** An id for a tool call whose upstream gave none (the client needs one to answer it). */
function newToolCallId(): string {
  return `call_${randomBytes(12).toString('hex')}`;
}

function wireUsage(usage: Usage): string {
  return `{"prompt_tokens":${usage.promptTokens},"completion_tokens":${usage.completionTokens},"total_tokens":${usage.totalTokens}}`;
}

/** Answers a validated chat request. Errors thrown before any byte is written are the caller's to answer. */
export function handleChatCompletions(response: ServerResponse, parsed: ParsedChatRequest, context: ChatHandlerContext, outcome: ChatOutcome): Promise<void> {
  parsed.request.signal = context.signal;
  outcome.model = parsed.model;
  outcome.stream = parsed.stream;
  return parsed.stream ? streamAnswer(response, parsed, context, outcome) : wholeAnswer(response, parsed, context, outcome);
}

/** What the answer's usage counts when the upstream gave none: all text, reasoning and tool-call arguments. */
function completionText(choices: readonly ChoiceResult[]): string {
  let text = '';
  for (const choice of choices) {
    text += choice.text;
    if (choice.reasoning !== undefined) text += choice.reasoning;
    if (choice.toolCalls !== undefined) for (const call of choice.toolCalls) text += call.name + call.arguments;
  }
  return text;
}

function wireChoice(choice: ChoiceResult): unknown {
  const toolCalls = choice.toolCalls;
  const message: Record<string, unknown> = { role: 'assistant', content: toolCalls !== undefined && choice.text === '' ? null : choice.text, refusal: null };
  if (choice.reasoning !== undefined) message.reasoning_content = choice.reasoning;
  if (toolCalls !== undefined) {
    message.tool_calls = toolCalls.map((call) => ({
      id: call.id || newToolCallId(),
      type: 'function',
      function: { name: call.name, arguments: call.arguments },
    }));
  }
  return {
    index: choice.index,
    message,
    logprobs: choice.logprobs === undefined ? null : { content: choice.logprobs, refusal: null },
    finish_reason: choice.finishReason,
  };
}

async function wholeAnswer(response: ServerResponse, parsed: ParsedChatRequest, context: ChatHandlerContext, outcome: ChatOutcome): Promise<void> {
  const result = await context.router.complete(parsed.request);
  outcome.model = result.model;
  outcome.provider = result.provider;
  if (result.attempts.length > 0) outcome.attempts = result.attempts;
  const usage = result.usage ?? (await countUsage(parsed.request.messages, completionText(result.choices)));
  outcome.usage = usage;
  const body = JSON.stringify({
    id: context.completionId,
    object: 'chat.completion',
    created: Math.floor(Date.now() / 1000),
    model: result.model,
    choices: result.choices.map(wireChoice),
    usage: { prompt_tokens: usage.promptTokens, completion_tokens: usage.completionTokens, total_tokens: usage.totalTokens },
  });
  if (response.destroyed) return;
  // The answer's own headers first, then the shared ones (none of the same name): an object
  // spread followed by more keys is built slowly by V8, one that ends with the spread is not.
  response.writeHead(200, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(body),
    'x-content-type-options': 'nosniff',
    'x-g4f-provider': result.provider,
    ...context.baseHeaders,
  });
  response.end(body);
}

/** One choice of a streamed answer: what has been sent of it so far. */
interface StreamedChoice {
  roleSent: boolean;
  finishReason: FinishReason;
  /** Tool calls started (their id, type and name sent), by index. */
  calls: Set<number> | undefined;
  /** Text, reasoning and arguments, for counting usage when the upstream gives none. */
  text: string;
}

async function streamAnswer(response: ServerResponse, parsed: ParsedChatRequest, context: ChatHandlerContext, outcome: ChatOutcome): Promise<void> {
  const stream = context.router.stream(parsed.request);
  const created = Math.floor(Date.now() / 1000);
  const usageField = parsed.includeUsage ? ',"usage":null}\n\n' : '}\n\n';
  const countText = parsed.includeUsage;
  // `data: {..."choices":` and, for the plain case, `...[{"index":0,"delta":`.
  let eventHead = '';
  let prefix = '';
  let started = false;
  let firstOutput = false;
  const choices: StreamedChoice[] = [];
  let usage: Usage | undefined;
  // Events of one upstream read leave in one write (with the end, when it came too).
  const writer = createSseWriter(response);
  const send = writer.send;
  const choiceOf = (index: number): StreamedChoice => {
    for (let missing = choices.length; missing <= index; missing++) choices.push({ roleSent: false, finishReason: 'stop', calls: undefined, text: '' });
    return choices[index] as StreamedChoice;
  };
  /** One event with a delta (and logprobs) for a choice; the role on the choice's first. */
  const sendDelta = (index: number, delta: Record<string, unknown>, logprobs: unknown = null): void => {
    const choice = choiceOf(index);
    if (!choice.roleSent) {
      choice.roleSent = true;
      delta = { role: 'assistant', ...delta };
    }
    send(`${eventHead}${JSON.stringify([{ index, delta, logprobs, finish_reason: null }])}${usageField}`);
  };
  const noteOutput = (): void => {
    if (firstOutput) return;
    firstOutput = true;
    context.metrics.firstToken(outcome.provider ?? '', performance.now() - context.startedAt);
  };

  /** Writes the events of one batch of parts. */
  const writeBatch = (batch: readonly Chunk[]): void => {
    for (let position = 0; position < batch.length; position++) {
      const chunk = batch[position] as Chunk;
      switch (chunk.type) {
        case 'text-delta': {
          const index = chunk.choice ?? 0;
          const choice = choiceOf(index);
          if (countText) choice.text += chunk.text;
          noteOutput();
          const next = batch[position + 1];
          if (next?.type === 'logprobs' && (next.choice ?? 0) === index) {
            // A token's logprobs go with the token, as OpenAI sends them.
            position++;
            sendDelta(index, { content: chunk.text }, next.logprobs);
          } else if (index === 0 && choice.roleSent) {
            // The plain case, nearly every event of a stream: no object to build.
            send(`${prefix}{"content":${JSON.stringify(chunk.text)}},"logprobs":null,"finish_reason":null}]${usageField}`);
          } else {
            sendDelta(index, { content: chunk.text });
          }
          break;
        }
        case 'reasoning-delta': {
          // A signature alone (Anthropic's) has no place in OpenAI's wire format.
          if (chunk.text === '') break;
          const index = chunk.choice ?? 0;
          if (countText) choiceOf(index).text += chunk.text;
          noteOutput();
          sendDelta(index, { reasoning_content: chunk.text });
          break;
        }
        case 'tool-call-delta': {
          const index = chunk.choice ?? 0;
          const choice = choiceOf(index);
          if (countText) choice.text += (chunk.name ?? '') + chunk.argumentsDelta;
          noteOutput();
          const calls = (choice.calls ??= new Set());
          if (calls.has(chunk.index)) {
            // Later pieces: the index and argument fragments only (a repeated id or name is not sent again).
            if (chunk.argumentsDelta === '') break;
            if (index === 0 && choice.roleSent) {
              // The plain case, nearly every event of a call: no object to build.
              send(
                `${prefix}{"tool_calls":[{"index":${chunk.index},"function":{"arguments":${JSON.stringify(chunk.argumentsDelta)}}}]},"logprobs":null,"finish_reason":null}]${usageField}`,
              );
            } else {
              sendDelta(index, { tool_calls: [{ index: chunk.index, function: { arguments: chunk.argumentsDelta } }] });
            }
          } else {
            // id, type and name once per call, on its first delta.
            calls.add(chunk.index);
            const call = {
              index: chunk.index,
              id: chunk.id ?? newToolCallId(),
              type: 'function',
              function: { name: chunk.name ?? '', arguments: chunk.argumentsDelta },
            };
            sendDelta(index, { tool_calls: [call] });
          }
          break;
        }
        case 'logprobs':
          sendDelta(chunk.choice ?? 0, {}, chunk.logprobs);
          break;
        case 'usage':
          usage = chunk.usage;
          break;
        case 'finish':
          choiceOf(chunk.choice ?? 0).finishReason = chunk.reason;
          break;
      }
    }
  };

  const start = (): void => {
    started = true;
    const model = stream.model || parsed.model;
    const provider = stream.provider ?? '';
    outcome.model = model;
    outcome.provider = provider;
    eventHead = `data: {"id":"${context.completionId}","object":"chat.completion.chunk","created":${created},"model":${JSON.stringify(model)},"choices":`;
    prefix = `${eventHead}[{"index":0,"delta":`;
    response.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache',
      'x-accel-buffering': 'no',
      'x-g4f-provider': provider,
      ...context.baseHeaders,
    });
    context.metrics.streamStarted();
  };

  try {
    // One group of chunks per upstream read: one async step per read, not per chunk.
    if (!(await relayBatches(stream.batches(), response, writer, start, writeBatch))) return;
    if (!started) start();
    let tail = writer.take();
    choiceOf(0);
    for (let index = 0; index < choices.length; index++) {
      const choice = choices[index] as StreamedChoice;
      const head = `${eventHead}[{"index":${index},"delta":`;
      if (!choice.roleSent) tail += `${head}{"role":"assistant","content":""},"logprobs":null,"finish_reason":null}]${usageField}`;
      // A turn with tool calls ends in tool_calls, whatever word the upstream used.
      const reason = choice.calls !== undefined && choice.finishReason === 'stop' ? 'tool_calls' : choice.finishReason;
      tail += `${head}{},"logprobs":null,"finish_reason":${JSON.stringify(reason)}}]${usageField}`;
    }
    if (countText) {
      let text = '';
      for (const choice of choices) text += choice.text;
      usage ??= await countUsage(parsed.request.messages, text);
      tail += `data: {"id":"${context.completionId}","object":"chat.completion.chunk","created":${created},"model":${JSON.stringify(outcome.model)},"choices":[],"usage":${wireUsage(usage)}}\n\n`;
    }
    if (usage !== undefined) outcome.usage = usage;
    tail += 'data: [DONE]\n\n';
    response.end(tail);
  } catch (error) {
    if (!started) throw error;
    outcome.streamError = error;
    if (!response.destroyed) {
      // One error event, then the end without [DONE]: the client can tell the answer was cut.
      const events = writer.take();
      response.end(`${events}data: ${JSON.stringify(toOpenAIError(shutdownReason(context.signal) ?? error).body)}\n\n`);
    }
  } finally {
    if (started) {
      context.metrics.streamEnded();
      if (stream.attempts.length > 0) outcome.attempts = stream.attempts;
    }
  }
}
