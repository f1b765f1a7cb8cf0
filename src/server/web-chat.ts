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
 * A message may carry images (`images: [{url}]`, base64 data URLs within the limits of
 * store/limits.ts), stored with it and sent upstream as image parts with every later question, to
 * a model that takes images; to one that does not, each is sent as the text `[image]` (and
 * `context` says how many), and a new message with images is refused (400 `unsupported`).
 * The model's reasoning is streamed apart from the answer and stored with it, never sent back.
 *
 * Events, each `data:` one JSON object:
 *   user      {message}                              the saved user message (send / edit)
 *   context   {sent, omitted, promptTokens, contextTokens, images, imagesAsText}
 *   reasoning {text}                                 the model's reasoning, coalesced (may come before start)
 *   start     {message}                              the answer's row, when its first text arrives
 *   delta     {text}                                 answer text, coalesced
 *   done      {message, finishReason}
 *   error     {status, error: {message, type, param, code, attempts?}, message?}
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { z } from 'zod';
import { AbortError, InvalidRequestError, isG4FError, StreamParseError, UnsupportedError } from '../core/errors.js';
import { capabilitiesOf } from '../core/messages.js';
import type { ChatMessage } from '../core/spec.js';
import { loadTokenizer } from '../core/token-count.js';
import type { Router } from '../routing/types.js';
import {
  answeredHistory,
  CONVERSATION_LIMITS,
  DEFAULT_TITLE,
  decodeImageDataUrl,
  fitToContext,
  imagesProblem,
  storedImageIds,
  withImageData,
  type ConversationStore,
  type Message,
  type NewImage,
} from '../store/index.js';
import { readJsonBody } from './body.js';
import type { Logger } from './logger.js';
import { createGatherer, waitForDrain } from './write-gatherer.js';
import { HttpRequestError, toOpenAIError } from './openai-errors.js';

export interface ChatStreamerOptions {
  router: Router;
  store: ConversationStore;
  logger?: Logger;
  /** How often a growing answer is saved (default 1000 ms). */
  checkpointMs?: number;
  /** Conversations whose failures must not count against the providers' health (demo fault prompts). */
  healthExempt?: (messages: readonly ChatMessage[]) => boolean;
  /**
   * The bytes of images that answers being made may send upstream at once (default a
   * conversation's limit). An answer whose images do not fit waits for earlier ones to end: each
   * holds its images as base64 in the heap while it runs.
   */
  imageBytesInFlight?: number;
  /**
   * The bytes of request bodies read and parsed at once (default one body at the send limit):
   * a body's base64 images are in the heap twice while it is parsed, until they are decoded.
   */
  bodyBytesInFlight?: number;
}

export interface ChatStreamer {
  /** Reads one chat request's body (at most `sendBodyBytes` of limits.ts) and answers it. */
  stream(conversationId: string, request: IncomingMessage, response: ServerResponse): Promise<void>;
  /** Aborts the answers in progress and waits until they are saved. */
  close(): Promise<void>;
}

const chatBody = z
  .object({
    /** May be empty when the message has images. */
    content: z.string().max(CONVERSATION_LIMITS.messageChars).optional(),
    /** Images of the new message; their own limits are checked after parsing (imagesProblem). */
    images: z.array(z.object({ url: z.string() }).strict()).optional(),
    regenerate: z.literal(true).optional(),
    replaceFrom: z.string().max(64).optional(),
    /** With `replaceFrom`: the edited message keeps the images of the one it replaces. */
    keepImages: z.literal(true).optional(),
    /** With `regenerate`: the id of the user message to answer; refused when it is no longer the last one. */
    replyTo: z.string().max(64).optional(),
    model: z.string().min(1).max(CONVERSATION_LIMITS.modelChars),
    provider: z.string().max(CONVERSATION_LIMITS.providerChars).optional(),
    systemPrompt: z.string().max(CONVERSATION_LIMITS.systemPromptChars).optional(),
  })
  .strict()
  .refine((body) => (body.content === undefined) !== (body.regenerate === undefined), {
    message: 'send either content (a new or edited message) or regenerate: true',
  })
  .refine((body) => body.content !== '' || (body.images !== undefined && body.images.length > 0) || body.keepImages === true, {
    message: 'a message without images needs some text',
    path: ['content'],
  })
  .refine((body) => body.images === undefined || body.content !== undefined, { message: 'images go with content, not with regenerate', path: ['images'] })
  .refine((body) => body.keepImages === undefined || body.replaceFrom !== undefined, { message: 'keepImages goes with replaceFrom', path: ['keepImages'] });

type ChatBody = z.infer<typeof chatBody>;

/**
 * The images of a send, decoded and checked (each, and how many), or a 400 naming the field.
 * Their base64 text is let go (the answer may run for minutes; the bytes are what is kept).
 */
function decodeImages(body: ChatBody): NewImage[] {
  const images = body.images ?? [];
  const count = imagesProblem(images.slice(0, CONVERSATION_LIMITS.messageImages + 1).map(() => ({ mediaType: 'image/png', bytes: 1 })));
  if (count !== undefined) throw new InvalidRequestError(count.message, count.param);
  const decoded = images.map((image, index) => decodeImageDataUrl(image.url, `images.${index}.url`));
  for (const image of images) image.url = '';
  return decoded;
}

/** A budget of bytes shared by waiters in arrival order; one larger than the whole budget runs alone. */
function createByteBudget(limit: number): { acquire(bytes: number, signal: AbortSignal): Promise<() => void> } {
  let used = 0;
  const queue: Array<{ bytes: number; start(): void }> = [];
  const fits = (bytes: number): boolean => used === 0 || used + bytes <= limit;
  const grant = (bytes: number): (() => void) => {
    used += bytes;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      used -= bytes;
      while (queue.length > 0 && fits(queue[0]?.bytes ?? 0)) queue.shift()?.start();
    };
  };
  return {
    acquire(bytes, signal) {
      if (bytes === 0) return Promise.resolve(() => undefined);
      if (signal.aborted) return Promise.reject(new AbortError('The client went away while its request waited for its turn'));
      if (queue.length === 0 && fits(bytes)) return Promise.resolve(grant(bytes));
      return new Promise((resolve, reject) => {
        const entry = {
          bytes,
          start: () => {
            signal.removeEventListener('abort', onAbort);
            resolve(grant(bytes));
          },
        };
        const onAbort = (): void => {
          queue.splice(queue.indexOf(entry), 1);
          reject(new AbortError('The client went away while its request waited for its turn'));
        };
        signal.addEventListener('abort', onAbort, { once: true });
        queue.push(entry);
      });
    },
  };
}

export function createChatStreamer(options: ChatStreamerOptions): ChatStreamer {
  const { router, store } = options;
  const checkpointMs = options.checkpointMs ?? 1000;
  const active = new Set<{ controller: AbortController; done: Promise<void> }>();
  const imageBudget = createByteBudget(options.imageBytesInFlight ?? CONVERSATION_LIMITS.conversationImageBytes);
  const bodyBudget = createByteBudget(options.bodyBytesInFlight ?? CONVERSATION_LIMITS.sendBodyBytes);

  /** The body, parsed and checked, its images decoded: read within the budget of bodies in flight. */
  async function readChatBody(request: IncomingMessage, response: ServerResponse, signal: AbortSignal): Promise<{ body: ChatBody; images: NewImage[] }> {
    const limit = CONVERSATION_LIMITS.sendBodyBytes;
    const declared = Number(request.headers['content-length']);
    const release = await bodyBudget.acquire(Number.isFinite(declared) && declared >= 0 ? Math.min(declared, limit) : limit, signal);
    try {
      const body = chatBody.parse(await readJsonBody(request, limit, response));
      return { body, images: decodeImages(body) };
    } finally {
      release();
    }
  }

  /** Whether the model (through the chosen provider, or any of its providers) takes images; undefined for a model the router does not know. */
  function takesImages(model: string, provider: string | undefined): boolean | undefined {
    try {
      const resolved = router.resolve(model, provider);
      return resolved.providers.some((candidate) => capabilitiesOf(candidate, resolved.model).vision);
    } catch {
      return undefined;
    }
  }

  async function prepare(
    conversationId: string,
    body: ChatBody,
    images: NewImage[],
    vision: boolean,
  ): Promise<{ history: ChatMessage[]; imagesAsText: number; user?: Message }> {
    const conversation = await store.get(conversationId);
    if (conversation === undefined) throw new HttpRequestError(404, `No conversation with id ${conversationId}`, { code: 'conversation_not_found' });
    const keeps = body.keepImages === true && (conversation.messages.find((message) => message.id === body.replaceFrom)?.images?.length ?? 0) > 0;
    if (!vision && (images.length > 0 || keeps)) {
      throw new UnsupportedError(
        `${body.model} does not take images${body.provider === undefined || body.provider === 'auto' ? '' : ` through ${body.provider}`}: choose a model with image input, or send the message without images.`,
        { param: 'images' },
      );
    }
    if (body.content === '' && images.length === 0 && !keeps) {
      throw new InvalidRequestError('A message without images needs some text.', 'content');
    }
    const provider = body.provider === undefined || body.provider === 'auto' ? '' : body.provider;
    const patch: { model: string; provider: string; systemPrompt?: string; title?: string } = { model: body.model, provider };
    if (body.systemPrompt !== undefined) patch.systemPrompt = body.systemPrompt;
    if (body.content !== undefined && conversation.title === DEFAULT_TITLE && conversation.messages.length === 0) {
      patch.title = body.content.trim() === '' ? 'Image' : titleFrom(body.content);
    }
    await store.update(conversationId, patch);
    let user: Message | undefined;
    if (body.content !== undefined) {
      user = await store.appendMessage(
        conversationId,
        { role: 'user', content: body.content, ...(images.length === 0 ? {} : { images }) },
        body.replaceFrom === undefined ? {} : { replaceFrom: body.replaceFrom, ...(body.keepImages === true ? { keepImages: true } : {}) },
      );
      if (user === undefined)
        throw new HttpRequestError(404, `No message ${body.replaceFrom ?? ''} in conversation ${conversationId}`, {
          code: 'message_not_found',
          param: 'replaceFrom',
        });
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
    const turns = answeredHistory(current?.messages ?? [], { images: vision });
    history.push(...turns.history);
    return user === undefined ? { history, imagesAsText: turns.imagesAsText } : { history, imagesAsText: turns.imagesAsText, user };
  }

  /**
   * Puts the stored images' bytes, as data URLs, into the image parts that are sent, once their
   * bytes fit the budget of images in flight; returns how many and the budget's release.
   */
  async function loadImages(conversationId: string, messages: ChatMessage[], signal: AbortSignal): Promise<{ count: number; release(): void }> {
    const ids = storedImageIds(messages);
    if (ids.length === 0) return { count: 0, release: () => undefined };
    const data = await store.imageData(conversationId, ids);
    let bytes = 0;
    for (const value of data.values()) bytes += value.byteLength;
    const release = await imageBudget.acquire(bytes, signal);
    withImageData(messages, data);
    return { count: ids.length, release };
  }

  async function run(conversationId: string, body: ChatBody, images: NewImage[], response: ServerResponse, controller: AbortController): Promise<void> {
    const providerName = body.provider === undefined || body.provider === '' || body.provider === 'auto' ? undefined : body.provider;
    const vision = takesImages(body.model, providerName) ?? true;
    const { history, imagesAsText, user } = await prepare(conversationId, body, images, vision);
    images.length = 0; // stored: the answer reads them back with the rest of the history
    const fit = fitToContext(history, { model: body.model, count: await loadTokenizer() });
    const loaded = await loadImages(conversationId, fit.messages, controller.signal);
    try {
      await answer(conversationId, body, fit, { images: loaded.count, imagesAsText }, user, response, controller);
    } finally {
      loaded.release();
    }
  }

  async function answer(
    conversationId: string,
    body: ChatBody,
    fit: ReturnType<typeof fitToContext>,
    images: { images: number; imagesAsText: number },
    user: Message | undefined,
    response: ServerResponse,
    controller: AbortController,
  ): Promise<void> {
    const providerName = body.provider === undefined || body.provider === '' || body.provider === 'auto' ? undefined : body.provider;
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
      ...images,
    });

    let answer: Message | undefined;
    let text = '';
    let reasoning = '';
    let savedLength = 0;
    let lastCheckpoint = Date.now();
    let finishReason: string = 'stop';
    const saved = (): { content: string; reasoning?: string } => (reasoning === '' ? { content: text } : { content: text, reasoning });
    const checkpoint = async (force: boolean): Promise<void> => {
      if (answer === undefined || text.length + reasoning.length === savedLength) return;
      if (!force && Date.now() - lastCheckpoint < checkpointMs) return;
      lastCheckpoint = Date.now();
      savedLength = text.length + reasoning.length;
      await store.updateMessage(conversationId, answer.id, saved());
    };
    try {
      const stream = router.stream({
        model: body.model,
        messages: fit.messages,
        stream: true,
        signal: controller.signal,
        // An answer is stored as one message: no longer than a message may be (an export must import again).
        limits: { answerChars: CONVERSATION_LIMITS.messageChars },
        ...(providerName === undefined ? {} : { provider: providerName }),
        ...(options.healthExempt?.(fit.messages) === true ? { healthExempt: true } : {}),
      });
      for await (const chunk of stream) {
        if (chunk.type === 'finish') finishReason = chunk.reason;
        if (chunk.type === 'reasoning-delta' && chunk.text !== '' && (chunk.choice ?? 0) === 0) {
          // Shown as it comes; stored with the answer once its text begins (an answer is never only reasoning).
          reasoning += chunk.text;
          sink.delta('reasoning', chunk.text);
          await checkpoint(false);
          if (response.writableNeedDrain) await sink.drained();
          continue;
        }
        if (chunk.type !== 'text-delta' || chunk.text === '') continue;
        if (answer === undefined) {
          const created = await store.appendMessage(conversationId, {
            role: 'assistant',
            content: '',
            status: 'streaming',
            model: stream.model,
            ...(reasoning === '' ? {} : { reasoning }),
            ...(stream.provider === undefined ? {} : { provider: stream.provider }),
          });
          if (created === undefined) throw new HttpRequestError(404, 'The conversation was deleted while answering.', { code: 'conversation_not_found' });
          answer = created;
          savedLength = reasoning.length;
          sink.send('start', { message: answer });
        }
        text += chunk.text;
        sink.delta('delta', chunk.text);
        await checkpoint(false);
        if (response.writableNeedDrain) await sink.drained();
      }
      if (answer === undefined) {
        throw new StreamParseError('The provider returned an empty answer', stream.provider === undefined ? {} : { provider: stream.provider });
      }
      const final = await store.updateMessage(conversationId, answer.id, { ...saved(), status: 'complete' });
      sink.flush();
      sink.send('done', { message: final ?? answer, finishReason });
    } catch (error) {
      const aborted = controller.signal.aborted || isG4FError(error, 'AbortError');
      if (answer !== undefined) {
        await store.updateMessage(conversationId, answer.id, { ...saved(), status: aborted ? 'stopped' : 'interrupted' });
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
    async stream(conversationId, request, response) {
      const controller = new AbortController();
      const onClose = (): void => {
        if (!response.writableFinished) controller.abort();
      };
      response.once('close', onClose);
      request.once('aborted', onClose);
      const entry = { controller, done: Promise.resolve() };
      const done = readChatBody(request, response, controller.signal).then(({ body, images }) => run(conversationId, body, images, response, controller));
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
  /** Queues answer (`delta`) or reasoning text; consecutive pieces of one kind and tick go out as one event. */
  delta(event: 'delta' | 'reasoning', text: string): void;
  flush(): void;
  drained(): Promise<void>;
  end(): void;
}

function createEventSink(response: ServerResponse): EventSink {
  let pendingEvent: 'delta' | 'reasoning' = 'delta';
  const write = (event: string, data: unknown): void => {
    if (response.destroyed || response.writableEnded) return;
    response.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
  };
  // Pieces of one kind gathered in one turn become one event of their joined text.
  const pieces = createGatherer((text) => write(pendingEvent, { text }));
  return {
    send(event, data) {
      pieces.flush();
      write(event, data);
    },
    delta(event, text) {
      if (event !== pendingEvent) {
        pieces.flush();
        pendingEvent = event;
      }
      pieces.add(text);
    },
    flush: pieces.flush,
    drained() {
      if (!response.writableNeedDrain || response.destroyed) return Promise.resolve();
      return waitForDrain(response);
    },
    end() {
      pieces.flush();
      if (!response.writableEnded && !response.destroyed) response.end();
    },
  };
}

/** The first line of the first message, at most 60 characters. */
function titleFrom(content: string): string {
  const line = content.trim().split('\n')[0]?.replace(/\s+/g, ' ').trim() ?? '';
  const characters = Array.from(line);
  return characters.length > 60 ? `${characters.slice(0, 57).join('')}…` : line || DEFAULT_TITLE;
}
