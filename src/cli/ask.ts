/**
 * `g4f ask "prompt"`: one question, the answer streamed to stdout as it arrives.
 * Piped stdin is the prompt, or is appended to it (`cat file.ts | g4f ask "review this"`).
 *
 * Start-up matters here: the upstream request starts before anything that only shows it
 * (the spinner, the JSON output) is loaded.
 */
import { EmptyAnswerError } from '../core/errors.js';
import { createToolCallCollector } from '../core/messages.js';
import type { ChatMessage, Chunk, FinishReason, ImagePart, Usage } from '../core/spec.js';
import type { RouteRequest, Router } from '../routing/types.js';
import type { AskAnswer } from './ask-json.js';
import { DEFAULT_MODEL, openRouter, type GlobalOptions } from './context.js';
import { watchInterrupt } from './interrupt.js';
import type { Spinner } from './spinner.js';
import { readPipedStdin, STDIN_FIRST_BYTE_MS } from './stdin.js';
import { stdoutClosed, writeOut } from './stdout.js';
import { EXIT, UsageError } from './usage-error.js';

export interface AskOptions {
  model?: string;
  provider?: string;
  system?: string;
  temperature?: number;
  /** False with `--no-stream`: one non-streaming upstream call, printed at the end. */
  stream: boolean;
  /** Print one OpenAI-shaped `chat.completion` object instead of the text. */
  json?: boolean;
  /** `--stdin`: wait for piped stdin to end, however long its first byte takes. */
  stdin?: boolean;
  /** `--image PATH|URL`, repeatable: images sent with the prompt (a vision model is needed). */
  image?: string[];
}

export async function runAsk(words: readonly string[], options: AskOptions, globals: GlobalOptions): Promise<number> {
  const interrupt = watchInterrupt();
  const signal = AbortSignal.any([interrupt.signal, stdoutClosed]);
  // The router (and the modules behind it) loads while stdin is read; a failure to open it is
  // reported after the prompt is checked, as before.
  const opening = openRouter(globals);
  opening.catch(() => undefined);
  try {
    const prompt = words.join(' ').trim();
    // With a prompt on the command line, a stdin that stays silent is not waited for (unless
    // --stdin); input that comes too late is not lost without a word.
    const piped = await readPipedStdin({
      signal: interrupt.signal,
      ...(prompt === '' || options.stdin === true ? {} : { firstByteTimeoutMs: STDIN_FIRST_BYTE_MS, onIgnoredInput: warnIgnoredInput }),
    });
    const images = options.image === undefined || options.image.length === 0 ? [] : await loadImages(options.image);
    const messages = buildMessages(prompt, piped, options.system, images);
    const router = await opening;
    const request: RouteRequest = { model: options.model ?? DEFAULT_MODEL, messages, stream: options.stream, signal };
    if (options.provider !== undefined) request.provider = options.provider;
    if (options.temperature !== undefined) request.temperature = options.temperature;
    const print = options.stream && options.json !== true;
    const answer = options.stream ? await streamAnswer(router, request, print) : await complete(router, request);
    if (signal.aborted) return endCode(interrupt.interrupted);
    // An answer without text or tool calls is no answer (a whitespace-only one neither): say so, exit 1.
    if (answer.text.trim() === '' && answer.toolCalls === undefined) throw new EmptyAnswerError(answer.provider || 'the provider');
    if (options.json === true) {
      const { printChatCompletion } = await import('./ask-json.js');
      await printChatCompletion(answer, messages);
    } else if (!print) {
      await writeOut(withNewline(answer.text));
    }
    return endCode(interrupt.interrupted);
  } catch (error) {
    // Stopped on purpose: the reader went away (exit quietly) or the user pressed Ctrl-C.
    if (stdoutClosed.aborted) return EXIT.ok;
    if (interrupt.interrupted) return EXIT.interrupted;
    throw error;
  } finally {
    interrupt.dispose();
  }
}

/** The images of `--image`, read by a module loaded only for them. */
async function loadImages(paths: readonly string[]): Promise<ImagePart[]> {
  const { loadImage } = await import('./images.js');
  return Promise.all(paths.map(loadImage));
}

function warnIgnoredInput(): void {
  process.stderr.write(`g4f: warning: input arrived on stdin after ${STDIN_FIRST_BYTE_MS} ms without any and was ignored; use --stdin to wait for it\n`);
}

function endCode(interrupted: boolean): number {
  if (stdoutClosed.aborted) return EXIT.ok;
  return interrupted ? EXIT.interrupted : EXIT.ok;
}

export function buildMessages(prompt: string, piped: string | undefined, system: string | undefined, images: readonly ImagePart[] = []): ChatMessage[] {
  const input = piped?.trim() ?? '';
  const content = [prompt, input].filter((part) => part !== '').join('\n\n');
  if (content === '') throw new UsageError('no prompt: give it as an argument (g4f ask "...") or on stdin');
  const messages: ChatMessage[] = [];
  if (system !== undefined && system !== '') messages.push({ role: 'system', content: system });
  messages.push({ role: 'user', content: images.length === 0 ? content : [{ type: 'text', text: content }, ...images] });
  return messages;
}

/** The spinner, loaded only for a terminal and only once the request is on its way. */
async function startSpinnerAfterRequest(): Promise<Spinner> {
  if (process.stderr.isTTY !== true) return { update() {}, stop() {} };
  const { startSpinner } = await import('./spinner.js');
  return startSpinner('waiting for the answer…');
}

/**
 * Streams the answer; with `print`, writes the text to stdout as it arrives. Leading
 * whitespace is held back until some real text comes, so that an answer of blanks prints
 * nothing. Stops early (partial answer) when stdout is closed.
 */
async function streamAnswer(router: Router, request: RouteRequest, print: boolean): Promise<AskAnswer> {
  const stream = router.stream(request);
  const iterator = stream[Symbol.asyncIterator]();
  // Starts the upstream request now; the spinner comes after. (A failure is handled below.)
  let first: Promise<IteratorResult<Chunk>> | undefined = iterator.next();
  first.catch(() => undefined);
  const spinner = await startSpinnerAfterRequest();
  let text = '';
  let held = '';
  let reasoning = '';
  const toolCalls = createToolCallCollector();
  let finishReason: FinishReason = 'stop';
  let usage: Usage | undefined;
  try {
    for (;;) {
      const result = await (first ?? iterator.next());
      first = undefined;
      if (result.done === true) break;
      const chunk = result.value;
      if (chunk.type === 'usage') usage = chunk.usage;
      else if (chunk.type === 'finish') finishReason = chunk.reason;
      else if (chunk.type === 'reasoning-delta') reasoning += chunk.text;
      else if (chunk.type === 'tool-call-delta') toolCalls.add(chunk);
      else if (chunk.type === 'text-delta' && chunk.text !== '') {
        text += chunk.text;
        if (!print) continue;
        held += chunk.text;
        if (held.trim() === '') continue;
        spinner.stop();
        const out = held;
        held = '';
        if (!(await writeOut(out))) break;
      }
    }
  } finally {
    spinner.stop();
    // Leaving early ends the stream, which aborts the upstream request.
    await iterator.return?.();
  }
  if (print && text.trim() !== '' && !text.endsWith('\n')) await writeOut('\n');
  const calls = toolCalls.calls();
  const answer: AskAnswer = {
    text,
    model: stream.model,
    provider: stream.provider ?? '',
    finishReason: calls.length > 0 && finishReason === 'stop' ? 'tool_calls' : finishReason,
  };
  if (reasoning !== '') answer.reasoning = reasoning;
  if (calls.length > 0) answer.toolCalls = calls;
  if (usage !== undefined) answer.usage = usage;
  return answer;
}

async function complete(router: Router, request: RouteRequest): Promise<AskAnswer> {
  const pending = router.complete(request);
  pending.catch(() => undefined);
  const spinner = await startSpinnerAfterRequest();
  try {
    const result = await pending;
    const answer: AskAnswer = { text: result.text, model: result.model, provider: result.provider, finishReason: result.finishReason };
    if (result.reasoning !== undefined) answer.reasoning = result.reasoning;
    if (result.toolCalls !== undefined) answer.toolCalls = result.toolCalls;
    if (result.usage !== undefined) answer.usage = result.usage;
    return answer;
  } finally {
    spinner.stop();
  }
}

function withNewline(text: string): string {
  return text === '' || text.endsWith('\n') ? text : `${text}\n`;
}
