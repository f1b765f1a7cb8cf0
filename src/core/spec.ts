/**
 * The provider contract: pure types, no runtime code and no imports.
 *
 * A provider is mostly data (name, base URL, models, capabilities) plus one function that turns
 * a completion request into an async iterable of typed stream parts. Everything above providers
 * (routing, server, CLI, web) speaks these types only.
 */

// ---- messages ----

export type Role = 'system' | 'developer' | 'user' | 'assistant' | 'tool';

export interface TextPart {
  type: 'text';
  text: string;
}

/** An image by `http(s)` URL or `data:` URL (base64). */
export interface ImagePart {
  type: 'image';
  url: string;
  detail?: 'auto' | 'low' | 'high';
}

/** Parts of a user message. Audio and files will be parts of their own kind. */
export type ContentPart = TextPart | ImagePart;

/** One call of a function tool, as the model made it. */
export interface ToolCall {
  id: string;
  name: string;
  /** The arguments as the exact JSON text the model wrote (not re-serialized). */
  arguments: string;
}

export interface SystemMessage {
  role: 'system' | 'developer';
  content: string;
}

export interface UserMessage {
  role: 'user';
  content: string | ContentPart[];
  name?: string;
}

export interface AssistantMessage {
  role: 'assistant';
  /** Null (or empty) when the turn was only tool calls. */
  content: string | null;
  reasoning?: string;
  /**
   * The upstream's signature of `reasoning` (Anthropic's thinking `signature`): with it, the
   * reasoning is sent back as a thinking block, as Anthropic asks of a turn that used tools.
   */
  reasoningSignature?: string;
  toolCalls?: ToolCall[];
  name?: string;
}

export interface ToolMessage {
  role: 'tool';
  toolCallId: string;
  content: string;
}

export type ChatMessage = SystemMessage | UserMessage | AssistantMessage | ToolMessage;

// ---- call settings ----

/** A function the model may call. */
export interface ToolDefinition {
  name: string;
  description?: string;
  /** A JSON Schema of type object. */
  parameters?: Record<string, unknown>;
  strict?: boolean;
}

export type ToolChoice = 'auto' | 'none' | 'required' | { name: string };

export type ResponseFormat =
  | { type: 'text' }
  | { type: 'json_object' }
  | { type: 'json_schema'; name: string; schema: Record<string, unknown>; description?: string; strict?: boolean };

/** What a call asks of the model besides the conversation. Every field is optional. */
export interface CallSettings {
  temperature?: number;
  topP?: number;
  maxTokens?: number;
  stop?: string[];
  seed?: number;
  presencePenalty?: number;
  frequencyPenalty?: number;
  /** Number of choices (alternative answers). */
  n?: number;
  logprobs?: boolean;
  topLogprobs?: number;
  user?: string;
  tools?: ToolDefinition[];
  toolChoice?: ToolChoice;
  parallelToolCalls?: boolean;
  responseFormat?: ResponseFormat;
  /** Reasoning effort for models that reason (`low`, `medium`, `high`...). */
  reasoningEffort?: string;
  /** Provider-specific options, keyed by provider name (case-insensitive). */
  providerOptions?: Record<string, Record<string, unknown>>;
  /**
   * Wire fields this contract does not model, as the client sent them (snake_case): an
   * OpenAI-compatible upstream receives them unchanged (forward compatibility).
   */
  extraBody?: Record<string, unknown>;
}

export interface CompletionRequest extends CallSettings {
  model: string;
  messages: ChatMessage[];
  stream: boolean;
  signal?: AbortSignal;
}

// ---- embeddings ----

export interface EmbeddingRequest {
  model: string;
  /** The texts to embed, or the same already as token ids (one list of ids per input). */
  input: string[] | number[][];
  /** The length of each vector, for models that can shorten theirs. */
  dimensions?: number;
  user?: string;
  signal?: AbortSignal;
}

export interface EmbeddingUsage {
  promptTokens: number;
  totalTokens: number;
}

export interface EmbeddingResult {
  /** One vector per input, in the inputs' order. */
  embeddings: number[][];
  /** From the upstream, when it gave one. */
  usage?: EmbeddingUsage;
}

// ---- capabilities ----

/** What a provider (or one of its models) can do beyond plain text in and out. */
export interface Capabilities {
  tools: boolean;
  vision: boolean;
  jsonSchema: boolean;
  reasoning: boolean;
  /** More than one choice per call. */
  n: boolean;
  logprobs: boolean;
  embeddings: boolean;
}

export type Capability = keyof Capabilities;

// ---- context ----

/** The four timers that guard every request, in milliseconds. */
export interface Timeouts {
  /** TCP (and TLS) connection set-up. */
  connect: number;
  /** From sending the request to the first output (text, reasoning or a tool call). */
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
  /** The HTTP dispatcher to send through (an undici Dispatcher: connection pool, proxy). */
  dispatcher?: unknown;
  /** Bounded in-provider retries (Lockchat's model-not-found). */
  retry?: { attempts: number; baseDelayMs: number; maxDelayMs: number };
}

// ---- stream parts ----

export interface Usage {
  promptTokens: number;
  completionTokens: number;
  totalTokens: number;
}

export type FinishReason = 'stop' | 'length' | 'content_filter' | 'tool_calls' | (string & {});

/**
 * Stream parts: a discriminated union named noun-then-verb. `choice` is the choice index when a
 * call asked for several (absent: 0).
 */
export type Chunk =
  | { type: 'text-delta'; text: string; choice?: number }
  /** `signature`: the upstream's signature of the reasoning so far (Anthropic's `signature_delta`), often with empty text. */
  | { type: 'reasoning-delta'; text: string; signature?: string; choice?: number }
  /**
   * A piece of tool call `index`: its first part carries `id` and `name`, later parts only
   * argument fragments (a whole call may come in one part).
   */
  | { type: 'tool-call-delta'; index: number; id?: string; name?: string; argumentsDelta: string; choice?: number }
  /** OpenAI's `logprobs` object of one event (`{content: [...]}`). */
  | { type: 'logprobs'; logprobs: unknown; choice?: number }
  | { type: 'usage'; usage: Usage }
  /**
   * `stopSequence`: the stop sequence that ended the answer, when the upstream says which (vLLM's
   * `stop_reason`, Anthropic's `stop_sequence`). `detail`: the upstream's own word when `reason`
   * stands for several (Gemini's `SAFETY`, `RECITATION`… as content_filter).
   */
  | { type: 'finish'; reason: FinishReason; stopSequence?: string; detail?: string; choice?: number };

/**
 * An upstream that lists its models (`"models": "auto"`): routing asks it again once a listing is
 * older than `refreshMs`, and keeps the last good list when a listing fails.
 */
export interface ModelListing {
  readonly refreshMs: number;
  /** The upstream's model names now; a typed error when it cannot say. */
  list(context: ProviderContext, signal?: AbortSignal): Promise<string[]>;
}

/** Where a provider comes from: the seeds (built in), or the protocol of a configured one. */
export type ProviderKind = 'builtin' | 'openai-compatible' | 'anthropic' | 'gemini' | 'ollama';

export interface Provider {
  /** Unique name, as users type it (case-insensitive lookups). */
  readonly name: string;
  /** Default base URL; see resolveBaseUrl for the effective one. */
  readonly url: string;
  readonly models: readonly string[];
  readonly supportsStream: boolean;
  readonly needsAuth: boolean;
  /** Where the original system came from, for listings. */
  readonly kind?: ProviderKind;
  /** Environment variable holding this provider's secret, if any. */
  readonly apiKeyEnv?: string;
  /** What it can do; absent capabilities are false (plain text only). */
  readonly capabilities?: Readonly<Partial<Capabilities>>;
  /** Per model, over the provider's own. */
  readonly modelCapabilities?: Readonly<Record<string, Readonly<Partial<Capabilities>>>>;
  /** Present when the upstream lists its models: they are served besides `models`. */
  readonly modelListing?: ModelListing;
  createCompletion(request: CompletionRequest, context: ProviderContext): AsyncIterable<Chunk>;
  /**
   * Optional: embedding vectors of the request's inputs, one per input and in their order. A
   * provider without it makes no embeddings, whatever its `embeddings` capability says.
   */
  createEmbeddings?(request: EmbeddingRequest, context: ProviderContext): Promise<EmbeddingResult>;
}
