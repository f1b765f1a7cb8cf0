/**
 * Types of the upstream emulators: what a request is answered with (a {@link Plan}), what is
 * recorded about each request, and the emulator's public surface. Pure types, no runtime code.
 */
import type { Server } from 'node:http';

/**
 * Which upstream wire protocol an emulator speaks.
 * - `lockchat`: `POST /v1/chat/completions?auth=<token>`, always server-sent events.
 * - `openai`: OpenAI-compatible (Mishalsgpt, Ollama, vLLM...): `POST /v1/chat/completions` and
 *   `POST /api/openai/v1/chat/completions` (SSE when `"stream": true`, else one JSON),
 *   `POST /v1/embeddings` (deterministic vectors, see embeddings.ts), plus `GET /v1/models`
 *   (each also under `/api/openai`).
 */
export type EmulatorProtocol = 'lockchat' | 'openai';

/** How a model-not-found answer is framed. */
export type ModelNotFoundFraming = 'line' | 'data' | 'json';

/**
 * How one chat request is answered. Every field is optional; an empty plan is a normal,
 * successful echo answer. An embeddings request takes a plan too: its error fields, timing,
 * `disconnectAfterChunks` (half the body, then the socket is destroyed), `stallAfterChunks`,
 * `invalidJson`, `usage` and `model` apply; the rest is for chat. A plan is complete on its own: queued plans are NOT merged with the
 * default plan.
 *
 * Chunk counts (`disconnectAfterChunks`, `stallAfterChunks`, `malformedAfterChunks`) count
 * CONTENT chunks only: every delta event after the role chunk (text, reasoning and tool-call
 * deltas, of every choice). A streamed answer always starts with a role chunk
 * (`delta: {"role":"assistant","content":""}`, as OpenAI does) that carries no text and is not
 * counted; a fault "after 0 chunks" therefore comes right after that role chunk (set
 * `roleInFirstChunk` to merge the role into the first content chunk instead, then "after 0
 * chunks" comes right after the headers).
 */
export interface Plan {
  // ---- the reply text ----
  /**
   * Where the text comes from when neither `chunks`, `text` nor `tokens` is given:
   * `echo` (default) = `Echo: <content of the last user message>`, followed by ` [1 image]` /
   * ` [n images]` when that message has image parts;
   * `demo` = a friendly deterministic Markdown answer with a short code block, saying it is
   * an emulated answer (chunked word by word unless `chunkCount` is given).
   */
  reply?: 'echo' | 'demo';
  /** The exact reply text (split into `chunkCount` chunks). */
  text?: string;
  /** The exact content chunks; the reply text is their concatenation. Wins over everything. */
  chunks?: readonly string[];
  /** Number of content chunks the text is split into (default 5; fewer if the text is shorter). See `splitText`. */
  chunkCount?: number;
  /**
   * A huge reply for benchmarks: this many small word chunks (`"lorem "`, `"ipsum "`, ... with a
   * newline every 16 words). Precomputed and cached, so 20,000 chunks cost little.
   */
  tokens?: number;
  /** The `model` written in answers (default: the requested model, else `gpt-3.5-turbo`). */
  model?: string;
  /** Put `role:"assistant"` in the first content chunk instead of a separate empty role chunk. */
  roleInFirstChunk?: boolean;
  /** The `finish_reason` of every choice (default `stop`, or `tool_calls` when there are tool calls). */
  finishReason?: string;

  // ---- tool calls, reasoning, choices, logprobs (OpenAI's chat-completions wire format) ----
  /**
   * Answer with these function calls, after the text. With tool calls the text comes only from
   * `text` or `chunks` (no echo): a turn of calls alone has no content (`content: null` in JSON).
   * Streamed as OpenAI does: per call a first `delta.tool_calls` entry with `index`, `id`,
   * `type: "function"`, `function.name` and `arguments: ""`, then entries with `index` and
   * `function.arguments` fragments only (see `toolCallStyle`, `toolCallContinuation`).
   * Not streamed: `message.tool_calls`. Ids default to `call_emu-<chatIndex>_<position>`
   * (`call_emu-<chatIndex>_c<choice>_<position>` for choices after the first).
   */
  toolCalls?: readonly PlanToolCall[];
  /**
   * How tool calls are streamed:
   * - `fragments` (default): OpenAI's first delta, then argument fragments;
   * - `whole`: each call in one delta (index, id, type, name and all its arguments);
   * - `together`: every call, whole, in one delta's `tool_calls` list.
   */
  toolCallStyle?: 'fragments' | 'whole' | 'together';
  /** Argument fragments per call (`fragments` style) when the call gives no `cuts`; default 3. */
  toolCallChunkCount?: number;
  /** Interleave the deltas of parallel calls (first deltas of every call, then their fragments, round robin). */
  interleaveToolCalls?: boolean;
  /**
   * Continuation deltas (`fragments` style):
   * - `arguments` (default, OpenAI): `{"index":i,"function":{"arguments":"…"}}`;
   * - `repeat`: id, type and name again on every fragment (as some servers do);
   * - `index-only`: also a `{"index":i}` entry with nothing else before each fragment.
   */
  toolCallContinuation?: 'arguments' | 'repeat' | 'index-only';
  /**
   * Reasoning text sent before the content, split like the text: streamed as
   * `delta.reasoning_content` (DeepSeek, vLLM), whole as `message.reasoning_content`.
   */
  reasoning?: string;
  /** Name the reasoning field `reasoning` (OpenRouter, Ollama) instead of `reasoning_content`. */
  reasoningField?: 'reasoning_content' | 'reasoning';
  /**
   * Number of choices. Default: the request's `n` (1 when absent). Streamed choices are
   * interleaved: each choice's first delta, then each choice's second... Choice `i > 0` says the
   * reply text followed by ` (choice i)` unless `choiceTexts` gives its text.
   */
  choiceCount?: number;
  /** The text of each choice (by index); missing ones fall back to the default. */
  choiceTexts?: readonly string[];
  /**
   * Send logprobs (default: when the request says `"logprobs": true`): one entry per content
   * chunk, `{token, logprob, bytes, top_logprobs}` with the request's `top_logprobs` alternatives,
   * in `choices[i].logprobs.content` (streamed: with the chunk that carries the token).
   */
  logprobs?: boolean;

  // ---- errors ----
  /**
   * Answer OpenAI's model-not-found error, with the requested model in backticks:
   * ``The model: `gpt-4` does not exist``.
   * - `line`: status 200 `text/event-stream`, the message as a bare non-SSE line, then the end;
   * - `data` (also `true`): status 200 SSE `data: {"error":{"message":…,"type":"invalid_request_error","param":null,"code":"model_not_found"}}`, then the end (no `[DONE]`);
   * - `json`: status 404 `application/json` with that same `{"error":{…}}` body (OpenAI's real shape).
   */
  modelNotFound?: true | ModelNotFoundFraming;
  /**
   * HTTP status. >= 400: an OpenAI-shaped JSON error body
   * `{"error":{"message","type","param":null,"code"}}` (429 → `rate_limit_exceeded`, 5xx →
   * `server_error`...). Below 400: the normal answer with that status.
   */
  status?: number;
  /** Raw error body text (sent as is, `text/plain` unless `contentType`); status defaults to 500. */
  errorBody?: string;
  /** Message inside the generated JSON error body. */
  errorMessage?: string;
  /** Raw `Retry-After` header value (seconds, or an HTTP date). Sent with any answer. */
  retryAfter?: string | number;
  /** `retry-after-ms` header value. Sent with any answer. */
  retryAfterMs?: number;
  /** Extra response headers. */
  headers?: Readonly<Record<string, string>>;
  /** Override the response `content-type`. */
  contentType?: string;

  // ---- timing ----
  /** Delay before the status line and headers are sent. */
  headerDelayMs?: number;
  /**
   * Delay between the headers (and role chunk) and the first content chunk. For JSON answers:
   * delay between the headers (flushed) and the body.
   */
  firstChunkDelayMs?: number;
  /** Delay between two content chunks (0 = everything written in one go). */
  chunkDelayMs?: number;

  // ---- broken streams ----
  /**
   * Destroy the socket after this many content chunks (no finish chunk, no `[DONE]`, no final
   * HTTP chunk). JSON answers: half the body is sent, then the socket is destroyed.
   */
  disconnectAfterChunks?: number;
  /**
   * Send this many content chunks, then nothing, keeping the connection open until the client
   * goes away or the emulator closes. JSON answers: headers only, then silence.
   */
  stallAfterChunks?: number;
  /** While stalled, send a `: keep-alive` comment every this many ms (default: none). */
  keepAliveIntervalMs?: number;
  /**
   * After this many content chunks, send the broken event `data: {"choices":[{"delta":`
   * (then a blank line) and end the response (no `[DONE]`). JSON answers: like `invalidJson`.
   */
  malformedAfterChunks?: number;
  /**
   * After this many content chunks, an error inside the stream, as OpenAI-compatible servers send
   * one: `data: {"error":{"message":<errorMessage>,"type":"server_error",…}}`, then the end.
   */
  errorEventAfterChunks?: number;
  /**
   * Write the raw response body in pieces cut at these byte offsets (into the body, not counting
   * headers; may cut inside a multi-byte UTF-8 character), waiting `splitDelayMs` between writes
   * so the client gets separate reads. Ignores `chunkDelayMs`/`firstChunkDelayMs`.
   */
  splitAt?: readonly number[];
  /** Delay between two `splitAt` pieces (default 5 ms). */
  splitDelayMs?: number;

  // ---- SSE framing variations ----
  /** Send a `: keep-alive` comment line (then a blank line) before every content chunk but the first. */
  keepAlive?: boolean;
  /**
   * Send SSE lines that carry no chunk: a comment with the word content
   * (`: content-type note from the emulator`), a data-less `event: ping`, `retry: 1000`, and an
   * `id: <n>` field on every data event. They come first and before every content chunk.
   */
  noise?: boolean;
  /** Use `\r\n` line endings in the SSE framing. */
  crlf?: boolean;

  // ---- JSON answer variations (Mishalsgpt typed-error tests) ----
  /** Answer one plain JSON `chat.completion` even when a stream was asked (or in lockchat mode). */
  forceJson?: boolean;
  /** `false`: no `usage` in JSON answers and no usage chunk in streams. */
  usage?: boolean;
  /** `choices: []` in the JSON answer (in streams: in every chunk, usage chunk aside). */
  emptyChoices?: boolean;
  /** No `choices` key at all in the JSON answer (in streams: in every chunk, usage chunk aside). */
  missingChoices?: boolean;
  /** A 200 `application/json` answer whose body is not JSON (a truncated object). */
  invalidJson?: boolean;
}

/** One function call of an answer (see {@link Plan.toolCalls}). */
export interface PlanToolCall {
  name: string;
  /** The arguments: sent as this exact JSON text (an object is serialized with `JSON.stringify`). */
  arguments: string | Readonly<Record<string, unknown>>;
  /** The call id (default `call_emu-<chatIndex>_<position>`). */
  id?: string;
  /**
   * Cut the arguments text at these offsets (UTF-16 code units, so a cut may fall inside a key,
   * a string or an escape's text; a cut inside a surrogate pair moves one on). Overrides
   * `toolCallChunkCount`. To cut the bytes on the wire anywhere, use `splitAt`.
   */
  cuts?: readonly number[];
}

/** Chooses the plan of a request when the queue is empty. `index` = {@link RecordedRequest.chatIndex}. */
export type PlanScript = (request: RecordedRequest, index: number) => Plan;

/** What happened to the answer of a request. */
export type ResponseOutcome =
  /** the answer is still being written (or stalled) */
  | 'pending'
  /** the answer was written completely */
  | 'completed'
  /** the client went away before the answer was complete */
  | 'aborted'
  /** the emulator destroyed the socket on purpose (`disconnectAfterChunks`) */
  | 'disconnected'
  /** the emulator was closed while the answer was in progress */
  | 'closed';

/** One request as received, in arrival order in `emulator.requests`. */
export interface RecordedRequest {
  /** Position in `emulator.requests` (-1 when `recordRequests` is false). */
  index: number;
  /**
   * Ordinal among answered requests with a valid JSON body (chat completions and embeddings,
   * which take their plans from the same queue), 0-based, else -1.
   */
  chatIndex: number;
  method: string;
  /** Path without the query string. */
  path: string;
  /** Query parameters (last value wins). */
  query: Record<string, string>;
  /** Headers, lower-cased names; repeated headers joined with `, `. */
  headers: Record<string, string>;
  /** The parsed JSON body, or undefined (no body, or not JSON). */
  body: unknown;
  rawBody: string;
  /** `Date.now()` when the body was complete. */
  receivedAt: number;
  /** The plan the request was answered with (chat and embeddings requests only). */
  plan?: Plan;
  /** True when the client went away before the answer was complete. */
  aborted: boolean;
  outcome: ResponseOutcome;
  /** `Date.now()` when the outcome stopped being `pending`. */
  endedAt?: number;
}

/** Options of `createEmulator`. */
export interface EmulatorOptions {
  /** Default `openai`. */
  protocol?: EmulatorProtocol;
  /** Default `127.0.0.1`. */
  host?: string;
  /** Default 0 (a free port). */
  port?: number;
  /** Plan used when the queue is empty and there is no script. Default `{}` (echo). */
  defaultPlan?: Plan;
  /** Initial queue. */
  plans?: readonly Plan[];
  script?: PlanScript;
  /** Ids listed by `GET /v1/models`. */
  models?: readonly string[];
  /**
   * Keep every request in `requests` (default true). A long-running emulator (demo server)
   * passes false: records still go to the events (with `index` -1) but are not kept.
   */
  recordRequests?: boolean;
}

/** Events of an emulator and their payload. */
export interface EmulatorEvents {
  /** A request was recorded (before it is answered). */
  request: RecordedRequest;
  /** An answer ended, whatever the outcome (completed, aborted, disconnected, closed). */
  'response-end': RecordedRequest;
  /** The client went away before the answer was complete. */
  aborted: RecordedRequest;
}

export interface WaitForIdleOptions {
  /**
   * Close idle keep-alive sockets while waiting (default true), so that a pooled idle socket
   * does not count as open. Sockets with an answer in progress are never closed by this.
   */
  closeIdleConnections?: boolean;
}

/**
 * A running emulator.
 *
 * Proving that an aborted client closed its upstream request: the key signals are
 * `await emulator.waitForAbort(index)` (the record's `aborted` is true: the socket closed while
 * the answer was unfinished) and `inFlight() === 0` (no answer still in progress). Sockets stay
 * open between requests because clients pool them (HTTP keep-alive), so `openConnections()`
 * alone means little; `waitForIdle()` closes the sockets that carry no answer and then waits
 * until no answer is in flight and no socket is open.
 */
export interface Emulator {
  /** `http://127.0.0.1:<port>` */
  readonly url: string;
  readonly port: number;
  readonly protocol: EmulatorProtocol;
  /** Every request so far, in arrival order (live array; cleared by `reset`). */
  readonly requests: readonly RecordedRequest[];
  /** The underlying node:http server. */
  readonly server: Server;
  /** Add plans to the FIFO queue; each chat request takes one. */
  enqueue(...plans: Plan[]): void;
  /** Queue `plan` `count` times (then the default plan / script answers). Default plan: `{ modelNotFound: 'data' }`. */
  failTimes(count: number, plan?: Plan): void;
  /** Plans still queued. */
  queued(): number;
  setDefaultPlan(plan: Plan): void;
  /** Replaces the ids `GET /v1/models` lists. */
  setModels(models: readonly string[]): void;
  setScript(script: PlanScript | undefined): void;
  /** Clear the queue and the records (script and default plan stay). */
  reset(): void;
  /** Sockets currently open (in flight or idle keep-alive). */
  openConnections(): number;
  /** Requests whose answer is not finished yet (including stalled ones). */
  inFlight(): number;
  /**
   * Destroy the sockets that carry no answer in progress: idle keep-alive sockets, and sockets a
   * client opened without sending a request yet (undici may open one after an abort). Call it
   * when the client is done; a request whose head is only partly received would be cut.
   */
  closeIdleConnections(): void;
  /**
   * Resolve when no answer is in flight and no socket is open (idle keep-alive sockets are
   * closed unless told otherwise); reject after `timeoutMs` (default 5000) with the list of
   * what is still open.
   */
  waitForIdle(timeoutMs?: number, options?: WaitForIdleOptions): Promise<void>;
  /**
   * Resolve with the record once request `index` (default: any request, past or future) is
   * aborted by its client; reject if it ends otherwise, or after `timeoutMs` (default 5000).
   */
  waitForAbort(index?: number, timeoutMs?: number): Promise<RecordedRequest>;
  /** Resolve with the record once the answer of request `index` ended, whatever the outcome. */
  waitForEnd(index: number, timeoutMs?: number): Promise<RecordedRequest>;
  /** Resolve once at least `count` requests were recorded. */
  waitForRequests(count: number, timeoutMs?: number): Promise<readonly RecordedRequest[]>;
  /** Subscribe; returns the unsubscribe function. */
  on<E extends keyof EmulatorEvents>(event: E, listener: (record: EmulatorEvents[E]) => void): () => void;
  /** Destroy every socket, stop every timer and stall, close the server. */
  close(): Promise<void>;
}
