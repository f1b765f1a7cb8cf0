/** The public types of routing: what the server, the CLI and the web API code against. */
import type { G4FError, ProviderAttempt } from '../core/errors.js';
import type { Runtime } from '../core/runtime.js';
import type {
  Capabilities,
  Capability,
  Chunk,
  CompletionRequest,
  EmbeddingRequest,
  EmbeddingUsage,
  FinishReason,
  Provider,
  ProviderKind,
  ReplyLimits,
  Timeouts,
  ToolCall,
  Usage,
} from '../core/spec.js';

export interface RouteRequest extends CompletionRequest {
  /** Force one provider, by object or (case-insensitive) name. `provider/model` in `model` does the same. */
  provider?: string | Provider;
  /** Per-call timers, over the provider's and the global ones. */
  timeouts?: Partial<Timeouts>;
  /** Per-call bounds on the reply: they may only lower the provider's and the global ones. */
  limits?: Partial<ReplyLimits>;
  /** A secret for a provider that needs auth (g4f's `auth`). */
  auth?: string;
  /**
   * This call's failures say nothing about the providers' health (e.g. demo mode's fault
   * prompts, which fail on purpose): they never count toward opening a circuit.
   */
  healthExempt?: boolean;
}

/** An embeddings request, routed like a chat request. */
export interface EmbedRouteRequest extends EmbeddingRequest {
  provider?: string | Provider;
  timeouts?: Partial<Timeouts>;
  limits?: Partial<ReplyLimits>;
  auth?: string;
  healthExempt?: boolean;
}

export interface EmbeddingsRouteResult {
  /** One vector per input, in the inputs' order. */
  embeddings: number[][];
  model: string;
  provider: string;
  /** From the upstream, when it gave one. */
  usage?: EmbeddingUsage;
  /** Providers that failed before the one that answered. */
  attempts: readonly ProviderAttempt[];
}

/** A routed stream of chunks. Iterate it once. */
export interface RouteStream extends AsyncIterable<Chunk> {
  /** Canonical model id (aliases resolved). */
  readonly model: string;
  /** The provider whose answer is being streamed: set when its first chunk arrives. */
  readonly provider: string | undefined;
  /** Failed attempts so far, in order (providers that were tried and failed before the one answering). */
  readonly attempts: readonly ProviderAttempt[];
  /**
   * The same chunks grouped as they arrived (one group per upstream read), for
   * writers that send a group at once. Iterate either this or the stream, once.
   */
  batches(): AsyncIterable<readonly Chunk[]>;
}

/** One choice of a whole answer. */
export interface ChoiceResult {
  index: number;
  text: string;
  /** The model's reasoning, when the upstream gave it. */
  reasoning?: string;
  /** The upstream's signature of the reasoning (Anthropic), to send it back with the turn. */
  reasoningSignature?: string;
  toolCalls?: ToolCall[];
  finishReason: FinishReason;
  /** The stop sequence that ended the answer, when the upstream said which. */
  stopSequence?: string;
  /** The upstream's own word for the finish when `finishReason` stands for several (Gemini's `SAFETY`). */
  finishDetail?: string;
  /** OpenAI's logprobs content entries, when asked for and given. */
  logprobs?: unknown[];
}

export interface CompletionResult {
  /** The first choice's text (the answer). */
  text: string;
  reasoning?: string;
  reasoningSignature?: string;
  toolCalls?: ToolCall[];
  finishReason: FinishReason;
  finishDetail?: string;
  logprobs?: unknown[];
  /** Every choice, by index (one unless the call asked for n > 1). */
  choices: ChoiceResult[];
  model: string;
  provider: string;
  /** From the upstream, when it gave one. */
  usage?: Usage;
  attempts: readonly ProviderAttempt[];
}

export interface ModelInfo {
  id: string;
  aliases: string[];
  /** Provider names, in the order they are tried. */
  providers: string[];
  /** What at least one of its providers can do for it (`embeddings`: it makes embeddings). */
  capabilities: Capability[];
}

export type CircuitState = 'closed' | 'open' | 'half-open';

export interface ProviderHealth {
  provider: string;
  state: CircuitState;
  consecutiveFailures: number;
  /** Calls recorded in the recent window. */
  calls: number;
  /** Fraction of recent calls that succeeded (1 when there were none). */
  successRate: number;
  /** Median latency to first chunk of recent successful calls, ms. */
  latencyMs: number | undefined;
  lastError: { code: string; message: string; at: string } | undefined;
  /** When an open circuit will let one probe through (ISO time). */
  retryAt: string | undefined;
}

export interface ProviderInfo {
  name: string;
  url: string;
  models: string[];
  supportsStream: boolean;
  needsAuth: boolean;
  kind: ProviderKind;
  /** The provider's own capabilities (models may differ: see `modelCapabilities`). */
  capabilities: Capabilities;
  modelCapabilities?: Record<string, Partial<Capabilities>>;
  health: ProviderHealth;
}

export interface Router {
  /** The settings, connection pools and clock its providers are called with. */
  readonly runtime: Runtime;
  /** Streams chunks with fallback across the model's providers. Errors are typed G4FErrors. */
  stream(request: RouteRequest): RouteStream;
  /** The whole answer (non-streaming upstream calls). */
  complete(request: RouteRequest): Promise<CompletionResult>;
  /**
   * Embedding vectors from the model's providers that make embeddings, with the same fallback,
   * retries and circuit breakers as chat. None can: UnsupportedError (param `model`).
   */
  embed(request: EmbedRouteRequest): Promise<EmbeddingsRouteResult>;
  /** Every model with its aliases and providers (and starts the model listings that are due). */
  listModels(): ModelInfo[];
  /** Asks the upstreams that list their models (`"models": "auto"`) whose listing is due; never rejects. */
  refreshModels(): Promise<void>;
  /** Every provider with its models and health. */
  listProviders(): ProviderInfo[];
  /** Resolves a model name (alias, `provider/model`) and optional provider to the ordered providers to try. */
  resolve(model: string, provider?: string | Provider): { model: string; providers: Provider[] };
  health(provider: string): ProviderHealth;
}

export type { G4FError, ProviderAttempt };
