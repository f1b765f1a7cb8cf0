/**
 * `POST /v1/chat/completions`: a routed answer written in OpenAI's wire format, as one
 * `chat.completion` object or as `chat.completion.chunk` server-sent events.
 */
import type { ServerResponse } from 'node:http';
import type { ProviderAttempt } from '../core/errors.js';
import type { FinishReason, Usage } from '../core/spec.js';
import type { Router } from '../routing/types.js';
import type { ParsedChatRequest } from './chat-request.js';
import type { Metrics } from './metrics.js';
import { shutdownReason, toOpenAIError } from './openai-errors.js';
import { countUsage } from './token-count.js';

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

/** A writer that waits too long for a slow reader gives up on it. */
const DRAIN_TIMEOUT_MS = 60_000;

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

async function wholeAnswer(response: ServerResponse, parsed: ParsedChatRequest, context: ChatHandlerContext, outcome: ChatOutcome): Promise<void> {
  const result = await context.router.complete(parsed.request);
  outcome.model = result.model;
  outcome.provider = result.provider;
  if (result.attempts.length > 0) outcome.attempts = result.attempts;
  const usage = result.usage ?? (await countUsage(parsed.request.messages, result.text));
  outcome.usage = usage;
  const created = Math.floor(Date.now() / 1000);
  const body =
    `{"id":"${context.completionId}","object":"chat.completion","created":${created},"model":${JSON.stringify(result.model)},` +
    `"choices":[{"index":0,"message":{"role":"assistant","content":${JSON.stringify(result.text)},"refusal":null},` +
    `"logprobs":null,"finish_reason":${JSON.stringify(result.finishReason)}}],"usage":${wireUsage(usage)}}`;
  if (response.destroyed) return;
  response.writeHead(200, {
    ...context.baseHeaders,
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(body),
    'x-content-type-options': 'nosniff',
    'x-g4f-provider': result.provider,
  });
  response.end(body);
}

function waitForDrain(response: ServerResponse): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      response.destroy();
      done();
    }, DRAIN_TIMEOUT_MS);
    function done(): void {
      clearTimeout(timer);
      response.off('drain', done);
      response.off('close', done);
      resolve();
    }
    response.on('drain', done);
    response.on('close', done);
  });
}

async function streamAnswer(response: ServerResponse, parsed: ParsedChatRequest, context: ChatHandlerContext, outcome: ChatOutcome): Promise<void> {
  const stream = context.router.stream(parsed.request);
  const created = Math.floor(Date.now() / 1000);
  const usageField = parsed.includeUsage ? ',"usage":null}\n\n' : '}\n\n';
  let prefix = '';
  let started = false;
  let roleSent = false;
  let text: string | undefined = parsed.includeUsage ? '' : undefined;
  let usage: Usage | undefined;
  let finishReason: FinishReason = 'stop';
  // Events that arrive together (one upstream read) leave in one write: they are gathered until
  // the event loop's check phase, then written at once (with the end, when it came too).
  let pending = '';
  let flushScheduled = false;
  let blocked: Promise<void> | undefined;
  const flush = (): void => {
    flushScheduled = false;
    const events = pending;
    pending = '';
    if (events === '' || response.writableEnded || response.destroyed) return;
    if (!response.write(events)) {
      blocked = waitForDrain(response).then(() => {
        blocked = undefined;
      });
    }
  };
  const send = (event: string): void => {
    pending += event;
    if (!flushScheduled) {
      flushScheduled = true;
      setImmediate(flush);
    }
  };

  const start = (): void => {
    started = true;
    const model = stream.model || parsed.model;
    const provider = stream.provider ?? '';
    outcome.model = model;
    outcome.provider = provider;
    prefix = `data: {"id":"${context.completionId}","object":"chat.completion.chunk","created":${created},"model":${JSON.stringify(model)},"choices":[{"index":0,"delta":`;
    response.writeHead(200, {
      ...context.baseHeaders,
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache',
      'x-accel-buffering': 'no',
      'x-g4f-provider': provider,
    });
    context.metrics.streamStarted();
  };

  try {
    // One group of chunks per upstream read: one async step per read, not per chunk.
    for await (const batch of stream.batches()) {
      if (response.destroyed) break; // leaving the loop aborts the upstream
      if (!started) start();
      for (const chunk of batch) {
        if (chunk.type === 'text-delta') {
          if (text !== undefined) text += chunk.text;
          if (roleSent) {
            send(`${prefix}{"content":${JSON.stringify(chunk.text)}},"logprobs":null,"finish_reason":null}]${usageField}`);
          } else {
            roleSent = true;
            context.metrics.firstToken(outcome.provider ?? '', performance.now() - context.startedAt);
            send(`${prefix}{"role":"assistant","content":${JSON.stringify(chunk.text)}},"logprobs":null,"finish_reason":null}]${usageField}`);
          }
        } else if (chunk.type === 'usage') {
          usage = chunk.usage;
        } else {
          finishReason = chunk.reason;
        }
      }
      if (blocked !== undefined) await blocked;
    }
    if (response.destroyed) return;
    if (!started) start();
    let tail = pending;
    pending = '';
    if (!roleSent) tail += `${prefix}{"role":"assistant","content":""},"logprobs":null,"finish_reason":null}]${usageField}`;
    tail += `${prefix}{},"logprobs":null,"finish_reason":${JSON.stringify(finishReason)}}]${usageField}`;
    if (text !== undefined) {
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
      const events = pending;
      pending = '';
      response.end(`${events}data: ${JSON.stringify(toOpenAIError(shutdownReason(context.signal) ?? error).body)}\n\n`);
    }
  } finally {
    if (started) {
      context.metrics.streamEnded();
      if (stream.attempts.length > 0) outcome.attempts = stream.attempts;
    }
  }
}
