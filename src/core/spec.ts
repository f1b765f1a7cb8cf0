/**
 * The provider contract: pure types, no runtime code.
 *
 * A provider is mostly data (name, base URL, models, capabilities) plus one
 * function that turns a completion request into an async iterable of typed
 * chunks. Everything above providers (routing, server, CLI, web) speaks these
 * types only.
 */
import type { Dispatcher } from 'undici';

export type Role = 'system' | 'user' | 'assistant';

export interface ChatMessage {
  role: Role;
  content: string;
}

/** The four timers that guard every request, in milliseconds. */
export interface Timeouts {
  /** TCP (and TLS) connection set-up. */
  connect: number;
  /** From sending the request to the first text chunk. */
  firstToken: number;
  /** Longest silence between two body chunks once the reply has started. */
  idle: number;
  /** Whole call, for non-streaming calls. */
  total: number;
}

/**
 * Bounds on one upstream reply, so that no reply can exhaust the heap. Past one, the call fails
 * with UpstreamResponseTooLargeError and the upstream request is aborted.
 */
export interface ReplyLimits {
  /** Bytes of a body read whole (a non-streamed JSON answer). */
  bodyBytes: number;
  /** Characters of one server-sent event, or of one line not yet ended. */
  eventChars: number;
  /** Characters of one answer's text, streamed or not (what a whole answer, usage counting and the chat page keep). */
  answerChars: number;
}

export interface CompletionRequest {
  model: string;
  messages: ChatMessage[];
  stream: boolean;
  temperature?: number;
  signal?: AbortSignal;
  /** Options passed through to the upstream (max_tokens, top_p, ...). */
  [option: string]: unknown;
}

/** What a provider is handed, besides the request, by whoever calls it. */
export interface ProviderContext {
  /** The resolved base URL (configuration, then G4F_<NAME>_URL, then the default). */
  baseUrl: string;
  timeouts: Timeouts;
  /** Bounds on the reply; default DEFAULT_LIMITS (core/settings.ts). */
  limits?: ReplyLimits;
  /** A secret (API key or token) from the environment or the caller, when there is one. */
  apiKey?: string;
  /** Extra headers from configuration. */
  headers?: Record<string, string>;
  /** Provider-specific settings from configuration (e.g. Lockchat's token). */
  settings?: Readonly<Record<string, unknown>>;
  /** The undici dispatcher to send through (connection pool, proxy). */
  dispatcher?: Dispatcher;
  /** Bounded in-provider retries (Lockchat's model-not-found). */
  retry?: { attempts: number; baseDelayMs: number; maxDelayMs: number };
}

export interface Usage {
  promptTokens: number;
  completionTokens: number;
  totalTokens: number;
}

export type FinishReason = 'stop' | 'length' | 'content_filter' | 'tool_calls' | (string & {});

/** Chunks are a discriminated union, named noun-then-verb. */
export type Chunk =
  | { type: 'text-delta'; text: string }
  | { type: 'usage'; usage: Usage }
  | { type: 'finish'; reason: FinishReason };

export interface Provider {
  /** Unique name, as users type it (case-insensitive lookups). */
  readonly name: string;
  /** Default base URL; see resolveBaseUrl for the effective one. */
  readonly url: string;
  readonly models: readonly string[];
  readonly supportsStream: boolean;
  readonly needsAuth: boolean;
  /** Where the original system came from, for listings. */
  readonly kind?: 'builtin' | 'openai-compatible';
  /** Environment variable holding this provider's secret, if any. */
  readonly apiKeyEnv?: string;
  createCompletion(request: CompletionRequest, context: ProviderContext): AsyncIterable<Chunk>;
  /**
   * Optional: the same chunks grouped as they arrived (one group per network
   * read). Routing and the server use it when present: the request path then
   * takes one async step per read instead of one per chunk.
   */
  createCompletionBatches?(request: CompletionRequest, context: ProviderContext): AsyncIterable<readonly Chunk[]>;
}
