/**
 * `g4f ask "prompt"`: one question, the answer streamed to stdout as it arrives.
 * Piped stdin is the prompt, or is appended to it (`cat file.ts | g4f ask "review this"`).
 */
import { randomBytes } from 'node:crypto';
import type { ChatMessage, FinishReason, Usage } from '../core/spec.js';
import type { RouteRequest, Router } from '../routing/types.js';
import { DEFAULT_MODEL, openRouter, type GlobalOptions } from './context.js';
import { watchInterrupt } from './interrupt.js';
import { startSpinner } from './spinner.js';
import { readPipedStdin } from './stdin.js';
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
}

interface Answer {
  text: string;
  model: string;
  provider: string;
  finishReason: FinishReason;
  usage?: Usage;
}

export async function runAsk(words: readonly string[], options: AskOptions, globals: GlobalOptions): Promise<number> {
  const interrupt = watchInterrupt();
  const signal = AbortSignal.any([interrupt.signal, stdoutClosed]);
  try {
    const messages = buildMessages(words.join(' ').trim(), await readPipedStdin(interrupt.signal), options.system);
    const router = await openRouter(globals);
    const request: RouteRequest = { model: options.model ?? DEFAULT_MODEL, messages, stream: options.stream, signal };
    if (options.provider !== undefined) request.provider = options.provider;
    if (options.temperature !== undefined) request.temperature = options.temperature;
    if (options.json === true) {
      const answer = options.stream ? await collectStream(router, request) : await complete(router, request);
      await writeOut(`${JSON.stringify(toChatCompletion(answer), null, 2)}\n`);
    } else if (!options.stream) {
      const answer = await complete(router, request);
      await writeOut(withNewline(answer.text));
    } else {
      await streamToStdout(router, request);
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

function endCode(interrupted: boolean): number {
  if (stdoutClosed.aborted) return EXIT.ok;
  return interrupted ? EXIT.interrupted : EXIT.ok;
}

export function buildMessages(prompt: string, piped: string | undefined, system: string | undefined): ChatMessage[] {
  const input = piped?.trim() ?? '';
  const content = [prompt, input].filter((part) => part !== '').join('\n\n');
  if (content === '') throw new UsageError('no prompt: give it as an argument (g4f ask "...") or on stdin');
  const messages: ChatMessage[] = [];
  if (system !== undefined && system !== '') messages.push({ role: 'system', content: system });
  messages.push({ role: 'user', content });
  return messages;
}

async function streamToStdout(router: Router, request: RouteRequest): Promise<void> {
  const spinner = startSpinner('waiting for the answer…');
  const stream = router.stream(request);
  let last = '';
  try {
    for await (const chunk of stream) {
      if (chunk.type !== 'text-delta' || chunk.text === '') continue;
      spinner.stop();
      last = chunk.text;
      // Leaving the loop ends the stream, which aborts the upstream request.
      if (!(await writeOut(chunk.text))) break;
    }
  } finally {
    spinner.stop();
  }
  if (last !== '' && !last.endsWith('\n')) await writeOut('\n');
}

async function collectStream(router: Router, request: RouteRequest): Promise<Answer> {
  const spinner = startSpinner('waiting for the answer…');
  const stream = router.stream(request);
  let text = '';
  let finishReason: FinishReason = 'stop';
  let usage: Usage | undefined;
  try {
    for await (const chunk of stream) {
      if (chunk.type === 'text-delta') text += chunk.text;
      else if (chunk.type === 'usage') usage = chunk.usage;
      else finishReason = chunk.reason;
    }
  } finally {
    spinner.stop();
  }
  const answer: Answer = { text, model: stream.model, provider: stream.provider ?? '', finishReason };
  if (usage !== undefined) answer.usage = usage;
  return answer;
}

async function complete(router: Router, request: RouteRequest): Promise<Answer> {
  const spinner = startSpinner('waiting for the answer…');
  try {
    const result = await router.complete(request);
    const answer: Answer = { text: result.text, model: result.model, provider: result.provider, finishReason: result.finishReason };
    if (result.usage !== undefined) answer.usage = result.usage;
    return answer;
  } finally {
    spinner.stop();
  }
}

function withNewline(text: string): string {
  return text === '' || text.endsWith('\n') ? text : `${text}\n`;
}

/** An OpenAI `chat.completion` object, plus the provider that answered. */
export function toChatCompletion(answer: Answer): Record<string, unknown> {
  const completion: Record<string, unknown> = {
    id: `chatcmpl-${randomBytes(12).toString('hex')}`,
    object: 'chat.completion',
    created: Math.floor(Date.now() / 1000),
    model: answer.model,
    provider: answer.provider,
    choices: [
      { index: 0, message: { role: 'assistant', content: answer.text }, logprobs: null, finish_reason: answer.finishReason },
    ],
  };
  if (answer.usage !== undefined) {
    completion.usage = {
      prompt_tokens: answer.usage.promptTokens,
      completion_tokens: answer.usage.completionTokens,
      total_tokens: answer.usage.totalTokens,
    };
  }
  return completion;
}
