/**
 * `g4f chat`: an interactive conversation that keeps its history, streams answers and
 * understands a few slash commands. Ctrl-C during an answer stops that answer and keeps
 * the session; Ctrl-C at the prompt (exit 130) or Ctrl-D (exit 0) leaves.
 */
import { EmptyAnswerError, isG4FError } from '../core/errors.js';
import type { ChatMessage } from '../core/spec.js';
import type { ChatTurn } from './chat-log.js';
import type { RouteRequest, Router } from '../routing/types.js';
import { runSlashCommand, type ChatSession } from './chat-commands.js';
import { openConversationLog } from './chat-log.js';
import { DEFAULT_MODEL, openRouter, type GlobalOptions } from './context.js';
import { describeFailure, describeFailureVerbose } from './failure.js';
import { createLineReader } from './line-reader.js';
import { recentTurns } from './recent-turns.js';
import { startSpinner } from './spinner.js';
import { stdoutClosed, writeOut } from './stdout.js';
import { createStyle, type Style } from './style.js';
import { EXIT } from './usage-error.js';

export interface ChatOptions {
  model?: string;
  provider?: string;
  system?: string;
  /** Id of a stored conversation to continue. */
  resume?: string;
  dataDir?: string;
  /** False with `--no-save`. */
  save: boolean;
}

export async function runChat(options: ChatOptions, globals: GlobalOptions): Promise<number> {
  const router = await openRouter(globals);
  const style = createStyle(process.stdout);
  const errorStyle = createStyle(process.stderr);
  const session: ChatSession = {
    model: options.model ?? DEFAULT_MODEL,
    provider: options.provider,
    system: options.system ?? '',
    history: [],
  };
  const log = await openConversationLog(options, session);
  // Fail early on an unknown model or provider given on the command line.
  router.resolve(session.model, session.provider);

  const reader = createLineReader(process.stdin, process.stdout);
  let answering: AbortController | undefined;
  let interrupted = false;
  // SIGINT as a signal (kill -INT, or Ctrl-C when stdin is not a terminal).
  const onSignal = (): void => {
    if (answering !== undefined) {
      answering.abort();
      return;
    }
    interrupted = true;
    reader.close();
  };
  process.on('SIGINT', onSignal);

  const say = (text: string): Promise<boolean> => writeOut(`${text}\n`);
  try {
    if (reader.terminal) {
      const resumed = session.history.length > 0 ? ` · resumed ${session.history.length} messages` : '';
      await say(style.dim(`g4f chat · ${session.model}${resumed} · /help for commands, Ctrl-D to leave`));
      for (const line of recentTurns(session.history, style)) await say(line);
    }
    const prompt = style.cyan('> ');
    while (!interrupted && !stdoutClosed.aborted) {
      const result = await reader.read(prompt);
      if (result.kind === 'interrupt') interrupted = true;
      if (result.kind !== 'line') break;
      const line = result.line.trim();
      if (line === '') continue;
      if (line.startsWith('/')) {
        const outcome = await runSlashCommand(line, { session, router, log, style, say });
        if (outcome === 'exit') break;
        continue;
      }
      const controller = new AbortController();
      answering = controller;
      const stopListening = reader.whileBusy(() => controller.abort());
      try {
        await answer(line, controller.signal);
      } finally {
        stopListening();
        answering = undefined;
      }
    }
  } finally {
    process.off('SIGINT', onSignal);
    reader.close();
    // Only a conversation that is still stored is named (none when no question was answered).
    const saved = reader.terminal ? await log.savedId() : undefined;
    if (saved !== undefined) await say(style.dim(`Saved as ${saved}: continue with g4f chat --resume ${saved}`));
    await log.close();
  }
  return interrupted ? EXIT.interrupted : EXIT.ok;

  async function answer(text: string, signal: AbortSignal): Promise<void> {
    const user: ChatTurn = { role: 'user', content: text };
    session.history.push(user);
    await log.append(user);
    const outcome = await streamAnswer(router, session, AbortSignal.any([signal, stdoutClosed]), style);
    // Blanks are no answer either.
    const answered = outcome.text.trim() !== '';
    if (answered) {
      const assistant: ChatTurn = { role: 'assistant', content: outcome.text };
      session.history.push(assistant);
      await log.append(assistant, {
        status: outcome.stopped ? 'stopped' : outcome.error === undefined ? 'complete' : 'interrupted',
        model: outcome.model,
        provider: outcome.provider,
      });
    } else {
      // Nothing was answered: forget the question (here and in the store), so that the next
      // request does not carry two questions in a row.
      session.history.pop();
      await log.dropLast();
    }
    const dropped = 'the question was not kept in the conversation';
    if (outcome.stopped) {
      await say(style.dim(answered ? '[stopped]' : `[stopped] (${dropped})`));
      return;
    }
    if (outcome.error === undefined && !answered) {
      const who = outcome.provider === '' ? 'the provider' : outcome.provider;
      reportChatError(new EmptyAnswerError(who), globals.verbose, errorStyle);
    } else if (outcome.error !== undefined) {
      reportChatError(outcome.error, globals.verbose, errorStyle);
    }
    if (!answered) process.stderr.write(`${errorStyle.dim(`(${dropped}: ask again to retry)`)}\n`);
  }
}

interface AnswerOutcome {
  text: string;
  stopped: boolean;
  error?: unknown;
  model: string;
  provider: string;
}

async function streamAnswer(router: Router, session: ChatSession, signal: AbortSignal, style: Style): Promise<AnswerOutcome> {
  const messages: ChatMessage[] = session.system === '' ? [] : [{ role: 'system', content: session.system }];
  messages.push(...session.history);
  const request: RouteRequest = { model: session.model, messages, stream: true, signal };
  if (session.provider !== undefined) request.provider = session.provider;
  const spinner = startSpinner('thinking…', process.stdout);
  const outcome: AnswerOutcome = { text: '', stopped: false, model: session.model, provider: '' };
  const stream = router.stream(request);
  try {
    let reasoning = false;
    for await (const chunk of stream) {
      if (chunk.type === 'reasoning-delta' && chunk.text !== '') {
        // The model's reasoning, dimmed and apart from the answer (not kept in the conversation).
        spinner.stop();
        reasoning = true;
        if (!(await writeOut(style.dim(chunk.text)))) break;
        continue;
      }
      if (chunk.type !== 'text-delta' || chunk.text === '') continue;
      spinner.stop();
      if (reasoning) {
        reasoning = false;
        if (!(await writeOut('\n\n'))) break;
      }
      outcome.text += chunk.text;
      if (!(await writeOut(chunk.text))) break;
    }
  } catch (error) {
    if (signal.aborted) outcome.stopped = true;
    else outcome.error = error;
  } finally {
    spinner.stop();
  }
  if (signal.aborted) outcome.stopped = true;
  outcome.model = stream.model;
  outcome.provider = stream.provider ?? '';
  if (outcome.text !== '' && !outcome.text.endsWith('\n')) await writeOut('\n');
  if (outcome.error === undefined && !outcome.stopped && stream.attempts.length > 0 && style.enabled) {
    const failed = stream.attempts.map((attempt) => attempt.provider).join(', ');
    await writeOut(`${style.dim(`(answered by ${outcome.provider} after ${failed} failed)`)}\n`);
  }
  return outcome;
}

function reportChatError(error: unknown, verbose: boolean, style: Style): void {
  const label = isG4FError(error, 'StreamInterruptedError') ? 'the answer was cut:' : 'error:';
  process.stderr.write(`${style.red(label)} ${describeFailure(error)}\n`);
  if (verbose) process.stderr.write(`${style.dim(describeFailureVerbose(error))}\n`);
}
