/**
 * Types of the emulators of the native upstream protocols (Anthropic Messages, Ollama's
 * /api/chat, Gemini's generateContent): what a request is answered with (a {@link NativePlan}),
 * what is recorded about each request, and the emulator's surface, shaped like the
 * OpenAI-compatible emulator's (`plan.ts`). Pure types, no runtime code.
 */
import type { Server } from 'node:http';
import type { RecordedRequest, WaitForIdleOptions } from './plan.js';

/**
 * - `anthropic`: `POST /v1/messages` (server-sent events when `"stream": true`, else one message).
 * - `ollama`: `POST /api/chat` (newline-delimited JSON unless `"stream": false`), `GET /api/tags`.
 * - `gemini`: `POST /v1beta/models/{model}:streamGenerateContent?alt=sse` and `:generateContent`.
 */
export type NativeProtocol = 'anthropic' | 'ollama' | 'gemini';

/** A tool call the emulated model makes. */
export interface NativeToolCall {
  name: string;
  /** The arguments as JSON text (a JSON object). */
  arguments: string;
  /** Default: `toolu_emu_<n>` (Anthropic); Ollama and Gemini send calls without ids. */
  id?: string;
  /** Where the arguments text is cut into streamed fragments (Anthropic streams them; the others send calls whole). */
  cuts?: readonly number[];
}

/**
 * How one chat request is answered. Every field is optional; an empty plan is a normal answer
 * echoing the last user message (`Echo: <text>`). Fault counts (`disconnectAfterChunks`…) count
 * content events: each reasoning piece, text piece and tool call fragment (a whole call in the
 * protocols that send calls whole).
 */
export interface NativePlan {
  // ---- the answer ----
  /** The exact text (split into `chunkCount` pieces). */
  text?: string;
  /** The exact text pieces. Wins over `text`. */
  chunks?: readonly string[];
  /** Default 3. */
  chunkCount?: number;
  /** Reasoning pieces sent before the text (thinking, thought parts). */
  reasoning?: readonly string[];
  toolCalls?: readonly NativeToolCall[];
  /**
   * The protocol's own stop word: `end_turn`, `max_tokens`, `tool_use`, `refusal`… (Anthropic),
   * `stop`, `length` (Ollama), `STOP`, `MAX_TOKENS`, `SAFETY`… (Gemini). Default: the normal
   * stop, or the tool-use one when there are calls.
   */
  finishReason?: string;
  /** Anthropic: the `stop_sequence` that ended the answer (with `finishReason: 'stop_sequence'`). */
  stopSequence?: string;
  /**
   * Gemini's `thoughtSignature`: on the first function call part of the answer, else on its last
   * part (streamed: the last event's), as thinking models send it.
   */
  thoughtSignature?: string;
  /** Token counts; `false` for none. Default: words of the prompt and of the answer. */
  usage?: { input: number; output: number } | false;
  /** The model named in answers (default: the requested one). */
  model?: string;

  // ---- errors ----
  /** HTTP status; >= 400 answers the protocol's error body. */
  status?: number;
  /** The error's type: Anthropic's `overloaded_error`…, Gemini's `RESOURCE_EXHAUSTED`… (default: by status). */
  errorType?: string;
  errorMessage?: string;
  /** A raw error body (sent as is; status default 500). */
  errorBody?: string;
  /** Gemini's RetryInfo `retryDelay` (e.g. `"2s"`) in the error details. */
  retryDelay?: string;
  /** A `Retry-After` header. */
  retryAfter?: string | number;
  headers?: Readonly<Record<string, string>>;
  contentType?: string;
  /** The protocol's model-not-found answer (404). */
  modelNotFound?: boolean;
  /** After this many content events, the protocol's in-stream error (an `error` event, an `{"error"}` line). */
  errorEventAfterChunks?: number;

  // ---- timing ----
  headerDelayMs?: number;
  firstChunkDelayMs?: number;
  chunkDelayMs?: number;

  // ---- broken streams ----
  /** Destroy the socket after this many content events (JSON answers: after half the body). */
  disconnectAfterChunks?: number;
  /** Send this many content events, then nothing, keeping the connection open. */
  stallAfterChunks?: number;
  /** After this many content events, a broken event (or line), then the end. */
  malformedAfterChunks?: number;
  /** After this many content events, end the body cleanly without the protocol's last event. */
  truncateAfterChunks?: number;
  /** Write the body in pieces cut at these byte offsets (may cut inside a UTF-8 character). */
  splitAt?: readonly number[];
  /** Delay between two `splitAt` pieces (default 5 ms). */
  splitDelayMs?: number;
}

export type NativePlanScript = (request: NativeRecordedRequest, index: number) => NativePlan;

/** One request as received (the OpenAI emulator's record, with a native plan). */
export interface NativeRecordedRequest extends Omit<RecordedRequest, 'plan'> {
  plan?: NativePlan;
}

export interface NativeEmulatorOptions {
  protocol: NativeProtocol;
  /** Default 0 (a free port). */
  port?: number;
  defaultPlan?: NativePlan;
  plans?: readonly NativePlan[];
  script?: NativePlanScript;
  /** When set, a chat request without this key (`x-api-key`, `x-goog-api-key`, or a bearer token) is refused. */
  apiKey?: string;
  /** Models listed by Ollama's `GET /api/tags`, Anthropic's `GET /v1/models`, Gemini's `GET /v1beta/models`. */
  models?: readonly string[];
}

export interface NativeEmulatorEvents {
  /** A request was recorded (before it is answered). */
  request: NativeRecordedRequest;
  /** An answer ended, whatever the outcome. */
  'response-end': NativeRecordedRequest;
  /** The client went away before the answer was complete. */
  aborted: NativeRecordedRequest;
}

export interface NativeEmulator {
  /** `http://127.0.0.1:<port>` */
  readonly url: string;
  readonly port: number;
  readonly protocol: NativeProtocol;
  /** Every request so far, in arrival order (live array; cleared by `reset`). */
  readonly requests: readonly NativeRecordedRequest[];
  readonly server: Server;
  enqueue(...plans: NativePlan[]): void;
  queued(): number;
  setDefaultPlan(plan: NativePlan): void;
  /** Replaces the models the listing names. */
  setModels(models: readonly string[]): void;
  setScript(script: NativePlanScript | undefined): void;
  /** Clear the queue and the records. */
  reset(): void;
  openConnections(): number;
  inFlight(): number;
  closeIdleConnections(): void;
  waitForIdle(timeoutMs?: number, options?: WaitForIdleOptions): Promise<void>;
  waitForAbort(index?: number, timeoutMs?: number): Promise<NativeRecordedRequest>;
  waitForEnd(index: number, timeoutMs?: number): Promise<NativeRecordedRequest>;
  waitForRequests(count: number, timeoutMs?: number): Promise<readonly NativeRecordedRequest[]>;
  on<E extends keyof NativeEmulatorEvents>(event: E, listener: (record: NativeEmulatorEvents[E]) => void): () => void;
  close(): Promise<void>;
}
