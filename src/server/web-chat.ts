/**
 * The chat endpoint of the page: `POST /api/conversations/:id/messages`, answered as server-sent
 * events. The user's message is saved before the upstream is called; the answer is saved as it
 * grows (status `streaming`, checkpointed about once a second) and finally as `complete`,
 * `stopped` (the client went away) or `interrupted` (the provider failed after it started). A
 * provider failure before any text is an `error` event and nothing is stored for it.
 *
 * A user message that never got an answer (its request failed) stays stored, but is not sent
 * upstream as context with later questions. `regenerate` may name the question it answers
 * (`replyTo`): a 409 when that is no longer the last question, so a stale retry deletes nothing.
 *
 * Events, each `data:` one JSON object:
 *   user     {message}                               the saved user message (send / edit)
 *   context  {sent, omitted, promptTokens, contextTokens}
 *   start    {message}                               the answer's row, when its first text arrives
 *   delta    {text}                                  answer text, coalesced
 *   done     {message, finishReason}
 *   error    {status, error: {message, type, param, code, attempts?}, message?}
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { z } from 'zod';
import { isG4FError, StreamParseError } from '../core/errors.js';
import type { ChatMessage } from '../core/spec.js';
import type { Router } from '../routing/types.js';
import { CONVERSATION_LIMITS, DEFAULT_TITLE, fitToContext, type ConversationStore, type Message } from '../store/index.js';
import type { Logger } from './logger.js';
import { HttpRequestError, toOpenAIError } from './openai-errors.js';

export interface ChatStreamerOptions {
  router: Router;
  store: ConversationStore;
  logger?: Logger;
  /** How often a growing answer is saved (default 1000 ms). */
  checkpointMs?: number;
  /** Conversations whose failures must not count against the providers' health (demo fault prompts). */
  healthExempt?: (messages: readonly ChatMessage[]) => boolean;
}

export interface ChatStreamer {
  /** Answers one chat request; `body` is the parsed JSON body. */
  stream(conversationId: string, body: unknown, request: IncomingMessage, response: ServerResponse): Promise<void>;
  /** Aborts the answers in progress and waits until they are saved. */
  close(): Promise<void>;
}

const chatBody = z
  .object({
    content: z.string().min(1).max(CONVERSATION_LIMITS.messageChars).optional(),
    regenerate: z.literal(true).optional(),
    replaceFrom: z.string().max(64).optional(),
    /** With `regenerate`: the id of the user message to answer; refused when it is no longer the last one. */
    replyTo: z.string().max(64).optional(),
    model: z.string().min(1).max(CONVERSATION_LIMITS.modelChars),
    provider: z.string().max(CONVERSATION_LIMITS.providerChars).optional(),
    systemPrompt: z.string().max(CONVERSATION_LIMITS.systemPromptChars).optional(),
  })
  .strict()
  .refine((body) => (body.content === undefined) !== (body.regenerate === undefined), {
    message: 'send either content (a new or edited message) or regenerate: true',
  });

export function createChatStreamer(options: ChatStreamerOptions): ChatStreamer {
  const { router, store } = options;
  const checkpointMs = options.checkpointMs ?? 1000;
  const active = new Set<{ controller: AbortController; done: Promise<void> }>();

  async function prepare(conversationId: string, body: z.infer<typeof chatBody>): Promise<{ history: ChatMessage[]; user?: Message }> {
    const conversation = await store.get(conversationId);
    if (conversation === undefined) throw new HttpRequestError(404, `No conversation with id ${conversationId}`, { code: 'conversation_not_found' });
    const provider = body.provider === undefined || body.provider === 'auto' ? '' : body.provider;
    const patch: { model: string; provider: string; systemPrompt?: string; title?: string } = { model: body.model, provider };
    if (body.systemPrompt !== undefined) patch.systemPrompt = body.systemPrompt;
    if (body.content !== undefined && conversation.title === DEFAULT_TITLE && conversation.messages.length === 0) {
      patch.title = titleFrom(body.content);
    }
    await store.update(conversationId, patch);
    let user: Message | undefined;
    if (body.content !== undefined) {
      user = await store.appendMessage(
        conversationId,
        { role: 'user', content: body.content },
        body.replaceFrom === undefined ? {} : { replaceFrom: body.replaceFrom },
      );
      if (user === undefined) throw new HttpRequestError(404, `No message ${body.replaceFrom ?? ''} in conversation ${conversationId}`, { code: 'message_not_found', param: 'replaceFrom' });
    } else {
      const lastUser = conversation.messages.findLastIndex((message) => message.role === 'user');
      if (lastUser < 0) throw new HttpRequestError(400, 'There is no user message to answer again.', { code: 'nothing_to_regenerate' });
      if (body.replyTo !== undefined && conversation.messages[lastUser]?.id !== body.replyTo) {
        throw new HttpRequestError(409, 'That message is no longer the last question of the conversation.', { code: 'conversation_changed', param: 'replyTo' });
      }
      const next = conversation.messages[lastUser + 1];
      if (next !== undefined) await store.deleteMessagesFrom(conversationId, next.id);
    }
    const current = await store.get(conversationId);
    const systemPrompt = current?.systemPrompt ?? '';
    const history: ChatMessage[] = systemPrompt.trim() === '' ? [] : [{ role: 'system', content: systemPrompt }];
    history.push(...answeredHistory(current?.messages ?? []));
    return user === undefined ? { history } : { history, user };
  }

  async function run(conversationId: string, body: z.infer<typeof chatBody>, response: ServerResponse, controller: AbortController): Promise<void> {
    const { history, user } = await prepare(conversationId, body);
    const fit = fitToContext(history, { model: body.model });
    response.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-store',
      'x-accel-buffering': 'no',
    });
    const sink = createEventSink(response);
    if (user !== undefined) sink.send('user', { message: user });
    sink.send('context', {
      sent: fit.messages.length,
      omitted: fit.omitted,
      promptTokens: fit.promptTokens,
      contextTokens: fit.contextTokens,
    });

    let answer: Message | undefined;
    let text = '';
    let savedLength = 0;
    let lastCheckpoint = Date.now();
    let finishReason: string = 'stop';
    const checkpoint = async (force: boolean): Promise<void> => {
      if (answer === undefined || text.length === savedLength) return;
      if (!force && Date.now() - lastCheckpoint < checkpointMs) return;
      lastCheckpoint = Date.now();
      savedLength = text.length;
      await store.updateMessage(conversationId, answer.id, { content: text });
    };
    const provider = body.provider === undefined || body.provider === '' || body.provider === 'auto' ? undefined : body.provider;
    try {
      const stream = router.stream({
        model: body.model,
        messages: fit.messages,
        stream: true,
        signal: controller.signal,
        // An answer is stored as one message: no longer than a message may be (an export must import again).
        limits: { answerChars: CONVERSATION_LIMITS.messageChars },
        ...(provider === undefined ? {} : { provider }),
        ...(options.healthExempt?.(fit.messages) === true ? { healthExempt: true } : {}),
      });
      for await (const chunk of stream) {
        if (chunk.type === 'finish') finishReason = chunk.reason;
        if (chunk.type !== 'text-delta' || chunk.text === '') continue;
        if (answer === undefined) {
          const created = await store.appendMessage(conversationId, {
            role: 'assistant',
            content: '',
            status: 'streaming',
            model: stream.model,
            ...(stream.provider === undefined ? {} : { provider: stream.provider }),
          });
          if (created === undefined) throw new HttpRequestError(404, 'The conversation was deleted while answering.', { code: 'conversation_not_found' });
          answer = created;
          sink.send('start', { message: answer });
        }
        text += chunk.text;
        sink.delta(chunk.text);
        await checkpoint(false);
        if (response.writableNeedDrain) await sink.drained();
      }
      if (answer === undefined) {
        throw new StreamParseError('The provider returned an empty answer', stream.provider === undefined ? {} : { provider: stream.provider });
      }
      const final = await store.updateMessage(conversationId, answer.id, { content: text, status: 'complete' });
      sink.flush();
      sink.send('done', { message: final ?? answer, finishReason });
    } catch (error) {
      const aborted = controller.signal.aborted || isG4FError(error, 'AbortError');
      if (answer !== undefined) {
        await store.updateMessage(conversationId, answer.id, { content: text, status: aborted ? 'stopped' : 'interrupted' });
      }
      if (!aborted) {
        const mapped = toOpenAIError(error);
        sink.flush();
        sink.send('error', { status: mapped.status, error: mapped.body.error, ...(answer === undefined ? {} : { messageId: answer.id }) });
        options.logger?.log('warn', { event: 'web-chat-error', conversationId, code: mapped.body.error.code, message: mapped.body.error.message });
      }
    } finally {
      sink.end();
    }
  }

  return {
    async stream(conversationId, rawBody, request, response) {
      const body = chatBody.parse(rawBody);
      const controller = new AbortController();
      const onClose = (): void => {
        if (!response.writableFinished) controller.abort();
      };
      response.once('close', onClose);
      request.once('aborted', onClose);
      const entry = { controller, done: Promise.resolve() };
      const done = run(conversationId, body, response, controller);
      entry.done = done.then(
        () => undefined,
        () => undefined,
      );
      active.add(entry);
      try {
        await done;
      } finally {
        active.delete(entry);
        response.off('close', onClose);
      }
    },
    async close() {
      for (const entry of active) entry.controller.abort();
      await Promise.all([...active].map((entry) => entry.done));
    },
  };
}

interface EventSink {
  send(event: string, data: unknown): void;
  /** Queues answer text; consecutive deltas of one tick go out as one event. */
  delta(text: string): void;
  flush(): void;
  drained(): Promise<void>;
  end(): void;
}

function createEventSink(response: ServerResponse): EventSink {
  let pending = '';
  let scheduled: NodeJS.Immediate | undefined;
  const write = (event: string, data: unknown): void => {
    if (response.destroyed || response.writableEnded) return;
    response.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
  };
  const flush = (): void => {
    if (scheduled !== undefined) clearImmediate(scheduled);
    scheduled = undefined;
    if (pending === '') return;
    const text = pending;
    pending = '';
    write('delta', { text });
  };
  return {
    send(event, data) {
      flush();
      write(event, data);
    },
    delta(text) {
      pending += text;
      scheduled ??= setImmediate(flush);
    },
    flush,
    drained() {
      if (!response.writableNeedDrain || response.destroyed) return Promise.resolve();
      return new Promise((resolve) => {
        const done = (): void => {
          response.off('drain', done);
          response.off('close', done);
          resolve();
        };
        response.once('drain', done);
        response.once('close', done);
      });
    },
    end() {
      flush();
      if (!response.writableEnded && !response.destroyed) response.end();
    },
  };
}

/**
 * The turns sent upstream: a user message that never got an answer (its request failed) is left
 * out, except the last one, which is the question being answered now. Empty messages are left out.
 */
export function answeredHistory(messages: readonly Pick<Message, 'role' | 'content'>[]): ChatMessage[] {
  const history: ChatMessage[] = [];
  messages.forEach((message, index) => {
    if (message.content === '') return;
    const next = messages[index + 1];
    if (message.role === 'user' && next !== undefined && next.role !== 'assistant') return;
    history.push({ role: message.role, content: message.content });
  });
  return history;
}

/** The first line of the first message, at most 60 characters. */
function titleFrom(content: string): string {
  const line = content.trim().split('\n')[0]?.replace(/\s+/g, ' ').trim() ?? '';
  const characters = Array.from(line);
  return characters.length > 60 ? `${characters.slice(0, 57).join('')}…` : line || DEFAULT_TITLE;
}
