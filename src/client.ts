/**
 * The client shape g4f users reach for: `new Client().chat.completions.create(...)`
 * returning OpenAI-shaped `chat.completion` objects, or with `stream: true` an
 * async iterable of `chat.completion.chunk` objects, on the routing machinery.
 */
import { randomUUID } from 'node:crypto';
import type { FinishReason, Provider, Timeouts } from './core/spec.js';
import { getDefaultRouter, routerFor } from './chat-completion.js';
import type { Runtime } from './core/runtime.js';
import type { RouteRequest, Router } from './routing/types.js';
import { parseChatRequest } from './server/chat-request.js';

export interface ClientOptions {
  router?: Router;
  /** The settings and connection pools to call with, when no router is given; default the library's. */
  runtime?: Runtime;
  /** Default provider for every call. */
  provider?: string | Provider;
  timeouts?: Partial<Timeouts>;
}

/** A message in OpenAI's shape, as the Client takes it. */
export type ClientMessage =
  | { role: 'system' | 'developer'; content: string | Array<{ type: 'text'; text: string }>; name?: string }
  | {
      role: 'user';
      content: string | Array<{ type: 'text'; text: string } | { type: 'image_url'; image_url: { url: string; detail?: 'auto' | 'low' | 'high' } }>;
      name?: string;
    }
  | { role: 'assistant'; content?: string | null; tool_calls?: WireToolCall[]; reasoning_content?: string; name?: string }
  | { role: 'tool'; tool_call_id: string; content: string };

export interface WireToolCall {
  id: string;
  type: 'function';
  function: { name: string; arguments: string };
}

/** OpenAI's chat request fields (`tools`, `tool_choice`, `response_format`, `max_tokens`, `n`, …), plus g4f's own. */
export interface ChatCompletionCreateParams {
  model: string;
  messages: ClientMessage[];
  stream?: boolean;
  provider?: string | Provider;
  temperature?: number;
  signal?: AbortSignal;
  timeouts?: Partial<Timeouts>;
  [option: string]: unknown;
}

export interface ChatCompletionUsage {
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
}

export interface ChatCompletionMessage {
  role: 'assistant';
  /** Null when the answer is only tool calls. */
  content: string | null;
  reasoning_content?: string;
  tool_calls?: WireToolCall[];
}

export interface ChatCompletionObject {
  id: string;
  object: 'chat.completion';
  created: number;
  model: string;
  provider: string;
  choices: Array<{
    index: number;
    message: ChatCompletionMessage;
    logprobs: { content: unknown[] } | null;
    finish_reason: FinishReason;
  }>;
  usage?: ChatCompletionUsage;
}

export interface ChatCompletionChunkDelta {
  role?: 'assistant';
  content?: string;
  reasoning_content?: string;
  tool_calls?: Array<{ index: number; id?: string; type?: 'function'; function: { name?: string; arguments: string } }>;
}

export interface ChatCompletionChunkObject {
  id: string;
  object: 'chat.completion.chunk';
  created: number;
  model: string;
  provider?: string;
  choices: Array<{
    index: number;
    delta: ChatCompletionChunkDelta;
    logprobs?: unknown;
    finish_reason: FinishReason | null;
  }>;
  usage?: ChatCompletionUsage;
}

export interface ChatCompletionStream extends AsyncIterable<ChatCompletionChunkObject> {
  /** Aborts the upstream request. */
  readonly controller: AbortController;
}

export function completionId(): string {
  return `chatcmpl-${randomUUID().replaceAll('-', '')}`;
}

export class Client {
  readonly chat: {
    completions: {
      create(params: ChatCompletionCreateParams & { stream: true }): Promise<ChatCompletionStream>;
      create(params: ChatCompletionCreateParams & { stream?: false }): Promise<ChatCompletionObject>;
    };
  };

  constructor(options: ClientOptions = {}) {
    const router = options.router ?? (options.runtime === undefined ? undefined : routerFor(options.runtime));
    const build = (params: ChatCompletionCreateParams, stream: boolean, signal?: AbortSignal): RouteRequest => {
      const { provider: given, signal: _signal, timeouts, ...body } = params;
      // The same reading of OpenAI's fields as the server's: nothing is dropped, bad input is named.
      const request = parseChatRequest({ ...body, stream }).request;
      const provider = given ?? options.provider;
      if (provider !== undefined) request.provider = provider;
      const chosenTimeouts = timeouts ?? options.timeouts;
      if (chosenTimeouts !== undefined) request.timeouts = chosenTimeouts;
      if (signal !== undefined) request.signal = signal;
      return request;
    };
    function create(params: ChatCompletionCreateParams & { stream: true }): Promise<ChatCompletionStream>;
    function create(params: ChatCompletionCreateParams & { stream?: false }): Promise<ChatCompletionObject>;
    async function create(params: ChatCompletionCreateParams): Promise<ChatCompletionStream | ChatCompletionObject> {
      const active = router ?? getDefaultRouter();
      if (params.stream === true) {
        const controller = new AbortController();
        const outer = params.signal;
        const request = build(params, true, controller.signal);
        active.resolve(request.model, request.provider); // unknown model or provider: fail here, not at the first chunk
        return {
          controller,
          async *[Symbol.asyncIterator]() {
            const onAbort = (): void => controller.abort(outer?.reason);
            if (outer?.aborted) onAbort();
            else outer?.addEventListener('abort', onAbort, { once: true });
            try {
              yield* chunkObjects(active, request);
            } finally {
              outer?.removeEventListener('abort', onAbort);
            }
          },
        };
      }
      const result = await active.complete(build(params, false, params.signal));
      const completion: ChatCompletionObject = {
        id: completionId(),
        object: 'chat.completion',
        created: Math.floor(Date.now() / 1000),
        model: result.model,
        provider: result.provider,
        choices: result.choices.map((choice) => {
          const message: ChatCompletionMessage = { role: 'assistant', content: choice.toolCalls !== undefined && choice.text === '' ? null : choice.text };
          if (choice.reasoning !== undefined) message.reasoning_content = choice.reasoning;
          if (choice.toolCalls !== undefined) {
            message.tool_calls = choice.toolCalls.map((call) => ({ id: call.id, type: 'function', function: { name: call.name, arguments: call.arguments } }));
          }
          return {
            index: choice.index,
            message,
            logprobs: choice.logprobs === undefined ? null : { content: choice.logprobs },
            finish_reason: choice.finishReason,
          };
        }),
      };
      if (result.usage) {
        completion.usage = {
          prompt_tokens: result.usage.promptTokens,
          completion_tokens: result.usage.completionTokens,
          total_tokens: result.usage.totalTokens,
        };
      }
      return completion;
    }
    this.chat = { completions: { create } };
  }
}

async function* chunkObjects(router: Router, request: RouteRequest): AsyncGenerator<ChatCompletionChunkObject> {
  const stream = router.stream(request);
  const id = completionId();
  const created = Math.floor(Date.now() / 1000);
  const roleSent = new Set<number>();
  const callsStarted = new Set<string>();
  const toolChoices = new Set<number>();
  for await (const chunk of stream) {
    const base = { id, object: 'chat.completion.chunk' as const, created, model: stream.model };
    const provider = stream.provider === undefined ? {} : { provider: stream.provider };
    if (chunk.type === 'usage') {
      yield {
        ...base,
        ...provider,
        choices: [],
        usage: {
          prompt_tokens: chunk.usage.promptTokens,
          completion_tokens: chunk.usage.completionTokens,
          total_tokens: chunk.usage.totalTokens,
        },
      };
      continue;
    }
    // A reasoning signature alone (Anthropic's) has no place in OpenAI's chunk shape.
    if (chunk.type === 'reasoning-delta' && chunk.text === '') continue;
    const index = chunk.choice ?? 0;
    if (chunk.type === 'finish') {
      const reason = toolChoices.has(index) && chunk.reason === 'stop' ? 'tool_calls' : chunk.reason;
      yield { ...base, ...provider, choices: [{ index, delta: {}, finish_reason: reason }] };
      continue;
    }
    const delta: ChatCompletionChunkDelta = {};
    let logprobs: unknown;
    if (chunk.type === 'text-delta') delta.content = chunk.text;
    else if (chunk.type === 'reasoning-delta') delta.reasoning_content = chunk.text;
    else if (chunk.type === 'logprobs') logprobs = chunk.logprobs;
    else {
      toolChoices.add(index);
      const key = `${index}:${chunk.index}`;
      if (callsStarted.has(key)) delta.tool_calls = [{ index: chunk.index, function: { arguments: chunk.argumentsDelta } }];
      else {
        callsStarted.add(key);
        delta.tool_calls = [
          {
            index: chunk.index,
            id: chunk.id ?? `call_${randomUUID().replaceAll('-', '')}`,
            type: 'function',
            function: { name: chunk.name ?? '', arguments: chunk.argumentsDelta },
          },
        ];
      }
    }
    if (!roleSent.has(index)) {
      roleSent.add(index);
      delta.role = 'assistant';
    }
    const choice: ChatCompletionChunkObject['choices'][number] = { index, delta, finish_reason: null };
    if (logprobs !== undefined) choice.logprobs = logprobs;
    yield { ...base, ...provider, choices: [choice] };
  }
}
