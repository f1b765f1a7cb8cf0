/**
 * The client shape g4f users reach for: `new Client().chat.completions.create(...)`
 * returning OpenAI-shaped `chat.completion` objects, or with `stream: true` an
 * async iterable of `chat.completion.chunk` objects, on the routing machinery.
 */
import { randomUUID } from 'node:crypto';
import type { ChatMessage, FinishReason, Provider, Timeouts } from './core/spec.js';
import { getDefaultRouter } from './chat-completion.js';
import type { RouteRequest, Router } from './routing/types.js';

export interface ClientOptions {
  router?: Router;
  /** Default provider for every call. */
  provider?: string | Provider;
  timeouts?: Partial<Timeouts>;
}

export interface ChatCompletionCreateParams {
  model: string;
  messages: ChatMessage[];
  stream?: boolean;
  provider?: string | Provider;
  temperature?: number;
  signal?: AbortSignal;
  [option: string]: unknown;
}

export interface ChatCompletionUsage {
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
}

export interface ChatCompletionObject {
  id: string;
  object: 'chat.completion';
  created: number;
  model: string;
  provider: string;
  choices: Array<{
    index: number;
    message: { role: 'assistant'; content: string };
    finish_reason: FinishReason;
  }>;
  usage?: ChatCompletionUsage;
}

export interface ChatCompletionChunkObject {
  id: string;
  object: 'chat.completion.chunk';
  created: number;
  model: string;
  provider?: string;
  choices: Array<{
    index: number;
    delta: { role?: 'assistant'; content?: string };
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
    const router = options.router;
    const build = (params: ChatCompletionCreateParams, stream: boolean, signal?: AbortSignal): RouteRequest => {
      const request: RouteRequest = { ...params, stream };
      const provider = params.provider ?? options.provider;
      if (provider !== undefined) request.provider = provider;
      if (options.timeouts !== undefined) request.timeouts = options.timeouts;
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
      const result = await active.complete(build(params, false));
      const completion: ChatCompletionObject = {
        id: completionId(),
        object: 'chat.completion',
        created: Math.floor(Date.now() / 1000),
        model: result.model,
        provider: result.provider,
        choices: [{ index: 0, message: { role: 'assistant', content: result.text }, finish_reason: result.finishReason }],
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
  let first = true;
  for await (const chunk of stream) {
    const base = { id, object: 'chat.completion.chunk' as const, created, model: stream.model };
    const provider = stream.provider === undefined ? {} : { provider: stream.provider };
    if (chunk.type === 'text-delta') {
      yield {
        ...base,
        ...provider,
        choices: [{ index: 0, delta: first ? { role: 'assistant', content: chunk.text } : { content: chunk.text }, finish_reason: null }],
      };
      first = false;
    } else if (chunk.type === 'finish') {
      yield { ...base, ...provider, choices: [{ index: 0, delta: {}, finish_reason: chunk.reason }] };
    } else {
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
    }
  }
}
