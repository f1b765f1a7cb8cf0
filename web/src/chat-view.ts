/**
 * The message list of the open conversation: rendering, sending (with images), streaming (the
 * answer, and its reasoning folded above it), stop, regenerate, edit and resend, errors and retry.
 */
import { CONVERSATION_LIMITS } from '../../src/store/limits.js';
import { ApiError, streamChat, type ApiErrorBody, type ChatRequest, type Conversation } from './api.js';
import { createErrorBubble, type Failure } from './error-bubble.js';
import { t, type MessageKey } from './i18n.js';
import { releaseStoredImages, storedImageUrl, type PendingImage } from './images.js';
import { copyText } from './markdown.js';
import { actionButton, appendReasoning, contentOf, createBubble, setMeta, setStatus } from './message-bubble.js';
import { cancelRendering, createStreamRenderer, type StreamRenderer } from './stream-render.js';

/** The server's limit on one message (the one shared by every way in), checked before sending. */
export const MAX_MESSAGE_CHARS = CONVERSATION_LIMITS.messageChars;

export interface ChatSettings {
  model: string;
  provider: string;
  systemPrompt: string;
}

export interface ChatViewOptions {
  container: HTMLElement;
  settings(): ChatSettings;
  /** The open conversation's id, creating the conversation first if there is none. */
  ensureConversation(): Promise<string>;
  onStreamingChange(streaming: boolean): void;
  /** Something was saved (titles and order in the list may have changed). */
  onSaved(): void;
  /** A request failed before the server saved its user message. */
  onUnsaved?(conversationId: string): void;
}

/** How a send ended: `saved` once the server stored the user message (even if the answer then failed). */
export type SendOutcome = 'answered' | 'saved' | 'unsaved' | 'refused';

export interface ChatView {
  show(conversation: Conversation | undefined): void;
  /** Sends a message; the view owns the images' object URLs from then on. */
  send(content: string, images?: readonly PendingImage[]): Promise<SendOutcome>;
  regenerate(): Promise<void>;
  stop(): void;
  streaming(): boolean;
}

interface Streaming {
  controller: AbortController;
  renderer: StreamRenderer | undefined;
  bubble: HTMLElement;
  stopped: boolean;
  /** Another conversation was opened: the answer goes on in the background (the server saves it), off the page. */
  detached: boolean;
}

type RunRequest = Omit<ChatRequest, 'model' | 'provider' | 'systemPrompt'>;

export function createChatView(options: ChatViewOptions): ChatView {
  const { container } = options;
  const empty = container.querySelector<HTMLElement>('#empty');
  const failures = new WeakMap<HTMLElement, Failure>();
  /** Object URLs of images sent from this page, shown in their bubbles until the view is cleared. */
  const localUrls = new Set<string>();
  let shownId: string | undefined;
  let current: Streaming | undefined;
  let stick = true;

  container.addEventListener('scroll', () => {
    stick = container.scrollHeight - container.scrollTop - container.clientHeight < 80;
  });
  const scroll = (): void => {
    if (stick) container.scrollTop = container.scrollHeight;
  };

  container.addEventListener('click', (event) => {
    const target = event.target as HTMLElement;
    const button = target.closest<HTMLElement>('[data-action]');
    if (button === null) return;
    const bubble = button.closest<HTMLElement>('.message');
    const action = button.dataset.action;
    if (action === 'copy-code') {
      const pieces: string[] = [];
      // A long code block is rendered in pieces: the ones after it are marked `continued`. Each
      // piece's <code> holds its lines with their line ends, so the pieces join as they are.
      for (let block = button.closest('.code-block'); block !== null; block = block.nextElementSibling) {
        if (pieces.length > 0 && !block.classList.contains('continued')) break;
        pieces.push(block.querySelector('code')?.textContent ?? '');
      }
      // Without the last line end (the one before the closing fence): a pasted command should
      // not run before the user presses Enter. Blank lines before it are content and stay.
      const code = pieces.join('').replace(/\r?\n$/, '');
      void copyText(code).then(() => flash(button));
    } else if (action === 'copy-message' && bubble !== null) {
      void copyText(bubble.dataset.text ?? '').then(() => flash(button));
    } else if (action === 'regenerate') {
      void view.regenerate();
    } else if (action === 'retry' && bubble !== null) {
      const failure = failures.get(bubble);
      if (failure !== undefined) void retry(bubble, failure);
    } else if (action === 'edit' && bubble !== null) {
      startEditing(bubble);
    }
  });

  function flash(button: HTMLElement): void {
    const key = (button.dataset.i18n ?? 'copy') as MessageKey;
    button.textContent = t('copied');
    setTimeout(() => {
      button.textContent = t(key);
    }, 1200);
  }

  function clear(): void {
    cancelRendering(container);
    for (const node of [...container.children]) if (node !== empty) node.remove();
    releaseStoredImages();
    for (const url of localUrls) URL.revokeObjectURL(url);
    localUrls.clear();
  }

  /** Fills in the stored images of the bubbles shown (read with the API key). */
  function showStoredImages(conversationId: string): void {
    for (const picture of container.querySelectorAll<HTMLImageElement>('img[data-image-id]:not([src])')) {
      const imageId = picture.dataset.imageId ?? '';
      void storedImageUrl(conversationId, imageId).then(
        (url) => {
          if (!picture.isConnected) return;
          picture.src = url;
          const link = picture.closest('a');
          if (link !== null) link.href = url;
        },
        () => picture.classList.add('missing'),
      );
    }
  }

  function updateEmpty(): void {
    if (empty !== null) empty.hidden = container.querySelector('.message') !== null;
  }

  function add(element: HTMLElement): HTMLElement {
    container.append(element);
    updateEmpty();
    scroll();
    return element;
  }

  /** Error bubbles, notices, and user bubbles the server never saved. */
  function removeTransient(): void {
    for (const node of container.querySelectorAll('.error-bubble, .notice, .message.user[data-status="not-sent"]')) node.remove();
  }

  function removeAfter(bubble: HTMLElement): void {
    let node = bubble.nextElementSibling;
    while (node !== null) {
      const next = node.nextElementSibling;
      if (node !== empty) node.remove();
      node = next;
    }
  }

  function showError(status: number, error: ApiErrorBody, failure: Failure): void {
    const box = createErrorBubble(status, error);
    failures.set(box, failure);
    add(box);
  }

  async function retry(errorBubble: HTMLElement, failure: Failure): Promise<void> {
    if (current !== undefined) return;
    errorBubble.remove();
    const user =
      failure.userId === undefined
        ? failure.bubble
        : (container.querySelector<HTMLElement>(`.message.user[data-id="${CSS.escape(failure.userId)}"]`) ?? undefined);
    if (user?.isConnected) removeAfter(user);
    if (failure.userId !== undefined) {
      await run({ regenerate: true, replyTo: failure.userId }, user);
      return;
    }
    const content = failure.content ?? '';
    const bubble = user?.isConnected ? user : add(createBubble({ role: 'user', content, status: 'complete' }, undefined, failure.images ?? []));
    setStatus(bubble, 'complete');
    await run(
      {
        content,
        ...(failure.images === undefined ? {} : { images: failure.images }),
        ...(failure.replaceFrom === undefined ? {} : { replaceFrom: failure.replaceFrom }),
        ...(failure.keepImages === undefined ? {} : { keepImages: failure.keepImages }),
      },
      bubble,
    );
  }

  async function run(request: RunRequest, userBubble: HTMLElement | undefined): Promise<SendOutcome> {
    const settings = options.settings();
    const controller = new AbortController();
    const bubble = createBubble({ role: 'assistant', content: '', status: 'streaming' });
    bubble.classList.add('pending');
    const state: Streaming = { controller, renderer: undefined, bubble, stopped: false, detached: false };
    current = state;
    options.onStreamingChange(true);
    add(bubble);
    stick = true;
    const body = contentOf(bubble);
    let renderer: StreamRenderer | undefined;
    let conversationId: string | undefined;
    // A regenerate answers a message that is saved already.
    let savedUserId: string | undefined = request.replyTo;
    let outcome: SendOutcome = 'unsaved';
    let finishing: Promise<void> | undefined;
    const full: ChatRequest = { ...request, model: settings.model, systemPrompt: settings.systemPrompt };
    if (settings.provider !== '' && settings.provider !== 'auto') full.provider = settings.provider;
    const fail = (status: number, error: ApiErrorBody): void => {
      if (state.detached) return;
      bubble.querySelector('details.reasoning')?.classList.remove('live');
      renderer?.finish();
      if (renderer === undefined || renderer.text === '') bubble.remove();
      else {
        bubble.dataset.text = renderer.text;
        setStatus(bubble, 'interrupted');
      }
      if (userBubble !== undefined && renderer === undefined) setStatus(userBubble, savedUserId === undefined ? 'not-sent' : 'no-answer');
      const failure: Failure =
        savedUserId !== undefined
          ? { userId: savedUserId }
          : {
              content: request.content ?? '',
              ...(request.images === undefined ? {} : { images: request.images }),
              ...(request.replaceFrom === undefined ? {} : { replaceFrom: request.replaceFrom }),
              ...(request.keepImages === undefined ? {} : { keepImages: request.keepImages }),
            };
      if (userBubble !== undefined) failure.bubble = userBubble;
      showError(status, error, failure);
    };
    try {
      conversationId = await options.ensureConversation();
      await streamChat(
        conversationId,
        full,
        {
          user(message) {
            savedUserId = message.id;
            outcome = 'saved';
            if (userBubble !== undefined) {
              userBubble.dataset.id = message.id;
              setStatus(userBubble, 'complete');
            }
            options.onSaved();
          },
          context(info) {
            if (state.detached) return;
            const notes: string[] = [];
            if (info.omitted > 0) notes.push(t('contextOmitted', { omitted: info.omitted, model: settings.model, tokens: info.contextTokens }));
            if ((info.imagesAsText ?? 0) > 0) notes.push(t('imagesAsText', { count: info.imagesAsText ?? 0, model: settings.model }));
            for (const note of notes) {
              const notice = document.createElement('div');
              notice.className = 'notice';
              notice.textContent = note;
              container.insertBefore(notice, bubble);
            }
          },
          reasoning(text) {
            if (state.detached) return;
            appendReasoning(bubble, text);
            bubble.querySelector('details.reasoning')?.classList.add('live');
            scroll();
          },
          start(message) {
            bubble.dataset.id = message.id;
            bubble.classList.remove('pending');
            setMeta(bubble, message);
            if (state.detached) return;
            renderer = createStreamRenderer(body, { onUpdate: scroll });
            state.renderer = renderer;
          },
          delta(text) {
            renderer?.append(text);
          },
          done(message) {
            bubble.dataset.text = message.content;
            bubble.querySelector('details.reasoning')?.classList.remove('live');
            setMeta(bubble, message);
            outcome = 'answered';
            // Complete once the last blocks are on the page (they render over a few frames).
            finishing = (renderer?.finish() ?? Promise.resolve()).then(() => {
              if (!state.stopped) setStatus(bubble, 'complete');
            });
          },
          error: fail,
        },
        controller.signal,
      );
      await finishing;
    } catch (error) {
      if (!state.stopped) {
        if (error instanceof ApiError) fail(error.status, error.body);
        else fail(0, { message: `${t('networkError')}: ${error instanceof Error ? error.message : String(error)}` });
      }
    } finally {
      if (current === state) {
        current = undefined;
        options.onStreamingChange(false);
      }
      if (savedUserId === undefined && conversationId !== undefined && !state.stopped) options.onUnsaved?.(conversationId);
      options.onSaved();
      updateEmpty();
    }
    return outcome;
  }

  function startEditing(bubble: HTMLElement): void {
    if (current !== undefined || bubble.dataset.id === undefined) return;
    const body = contentOf(bubble);
    if (bubble.classList.contains('editing')) return;
    bubble.classList.add('editing');
    const area = document.createElement('textarea');
    area.value = bubble.dataset.text ?? '';
    area.rows = Math.min(12, Math.max(2, area.value.split('\n').length));
    const save = actionButton('save-edit', 'saveAndSend');
    save.className = 'small primary';
    const cancel = actionButton('cancel-edit', 'cancel');
    const row = document.createElement('div');
    row.className = 'edit-row';
    row.append(save, cancel);
    body.replaceChildren(area, row);
    area.focus();
    const restore = (): void => {
      bubble.classList.remove('editing');
      body.textContent = bubble.dataset.text ?? '';
    };
    const images = bubble.querySelector<HTMLElement>(':scope > .images');
    const submit = (): void => {
      const content = area.value.trim();
      const messageId = bubble.dataset.id;
      if ((content === '' && images === null) || messageId === undefined || current !== undefined) return;
      if (content.length > MAX_MESSAGE_CHARS) {
        showTooLong(content.length);
        return;
      }
      removeTransient();
      removeAfter(bubble);
      bubble.remove();
      const user = add(createBubble({ role: 'user', content, status: 'complete' }));
      // The edited message keeps its images: the server copies them; the page shows the same ones.
      if (images !== null) user.insertBefore(images, contentOf(user));
      void run({ content, replaceFrom: messageId, ...(images === null ? {} : { keepImages: true as const }) }, user);
    };
    cancel.addEventListener('click', restore);
    save.addEventListener('click', submit);
    area.addEventListener('keydown', (event) => {
      if (event.key === 'Enter' && !event.shiftKey && !event.isComposing) {
        event.preventDefault();
        submit();
      } else if (event.key === 'Escape') {
        event.preventDefault();
        restore();
      }
    });
  }

  function showTooLong(length: number): void {
    for (const node of container.querySelectorAll('.notice.too-long')) node.remove();
    const notice = document.createElement('div');
    notice.className = 'notice too-long';
    notice.setAttribute('role', 'alert');
    notice.textContent = t('tooLong', { length: length.toLocaleString(), limit: MAX_MESSAGE_CHARS.toLocaleString() });
    add(notice);
  }

  /** Marks stored user messages that never got an answer; the last one gets a Retry. */
  function markUnanswered(): void {
    const bubbles = [...container.querySelectorAll<HTMLElement>('article.message')];
    bubbles.forEach((bubble, index) => {
      if (bubble.dataset.role !== 'user' || bubble.dataset.id === undefined) return;
      const next = bubbles[index + 1];
      if (next?.dataset.role === 'assistant') return;
      setStatus(bubble, 'no-answer');
      if (next === undefined) {
        showError(0, { message: t('unansweredTitle') }, { userId: bubble.dataset.id, bubble });
        const box = container.lastElementChild;
        if (box instanceof HTMLElement) box.classList.add('unanswered');
      }
    });
  }

  const view: ChatView = {
    show(conversation) {
      const running = current;
      if (running !== undefined) {
        // Not stopped: the answer finishes in the background and is saved; this view moves on.
        running.detached = true;
        running.renderer?.cancel();
        current = undefined;
        options.onStreamingChange(false);
      }
      clear();
      shownId = conversation?.id;
      for (const message of conversation?.messages ?? []) add(createBubble(message, scroll));
      if (shownId !== undefined) showStoredImages(shownId);
      markUnanswered();
      updateEmpty();
      stick = true;
      scroll();
    },
    async send(content, images = []) {
      if (current !== undefined || (content.trim() === '' && images.length === 0)) return 'refused';
      if (content.length > MAX_MESSAGE_CHARS) {
        showTooLong(content.length);
        return 'refused';
      }
      removeTransient();
      for (const image of images) localUrls.add(image.url);
      const user = add(
        createBubble(
          { role: 'user', content, status: 'complete' },
          undefined,
          images.map((image) => ({ url: image.url })),
        ),
      );
      return run(images.length === 0 ? { content } : { content, images: images.map((image) => ({ url: image.dataUrl })) }, user);
    },
    async regenerate() {
      if (current !== undefined) return;
      removeTransient();
      const users = [...container.querySelectorAll<HTMLElement>('article.message.user[data-id]')];
      const last = users.at(-1);
      if (last === undefined || last.dataset.id === undefined) return;
      removeAfter(last);
      await run({ regenerate: true, replyTo: last.dataset.id }, last);
    },
    stop() {
      const state = current;
      if (state === undefined) return;
      state.stopped = true;
      state.controller.abort();
      current = undefined;
      state.bubble.querySelector('details.reasoning')?.classList.remove('live');
      state.renderer?.finish();
      const text = state.renderer?.text ?? '';
      if (text === '') state.bubble.remove();
      else {
        state.bubble.dataset.text = text;
        setStatus(state.bubble, 'stopped');
      }
      options.onStreamingChange(false);
      updateEmpty();
    },
    streaming: () => current !== undefined,
  };
  return view;
}
