/** The message list of the open conversation: rendering, sending, streaming, stop, regenerate, edit and resend, errors. */
import { ApiError, streamChat, type ApiErrorBody, type ChatRequest, type Conversation, type Message } from './api.js';
import { t, type MessageKey } from './i18n.js';
import { copyText } from './markdown.js';
import { createStreamRenderer, renderStatic, type StreamRenderer } from './stream-render.js';

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
}

export interface ChatView {
  show(conversation: Conversation | undefined): void;
  send(content: string): Promise<void>;
  regenerate(): Promise<void>;
  stop(): void;
  streaming(): boolean;
}

interface Streaming {
  controller: AbortController;
  renderer: StreamRenderer | undefined;
  bubble: HTMLElement;
  stopped: boolean;
}

export function createChatView(options: ChatViewOptions): ChatView {
  const { container } = options;
  const empty = container.querySelector<HTMLElement>('#empty');
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
      const code = button.closest('.code-block')?.querySelector('code')?.textContent ?? '';
      void copyText(code).then(() => flash(button));
    } else if (action === 'copy-message' && bubble !== null) {
      void copyText(bubble.dataset.text ?? '').then(() => flash(button));
    } else if (action === 'regenerate' || action === 'retry') {
      void view.regenerate();
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
    for (const node of [...container.children]) if (node !== empty) node.remove();
  }

  function updateEmpty(): void {
    if (empty !== null) empty.hidden = container.querySelector('.message') !== null;
  }

  function button(action: string, key: MessageKey): HTMLButtonElement {
    const element = document.createElement('button');
    element.type = 'button';
    element.className = 'small ghost';
    element.dataset.action = action;
    element.dataset.i18n = key;
    element.textContent = t(key);
    return element;
  }

  function bubbleFor(message: Pick<Message, 'role' | 'content' | 'status'> & Partial<Message>): HTMLElement {
    const bubble = document.createElement('article');
    bubble.className = `message ${message.role}`;
    bubble.dataset.role = message.role;
    bubble.dataset.status = message.status;
    if (message.id !== undefined) bubble.dataset.id = message.id;
    bubble.dataset.text = message.content;
    const head = document.createElement('header');
    const who = document.createElement('span');
    who.className = 'who';
    who.dataset.i18n = message.role === 'user' ? 'you' : 'assistant';
    who.textContent = t(message.role === 'user' ? 'you' : 'assistant');
    const meta = document.createElement('span');
    meta.className = 'meta';
    const status = document.createElement('span');
    status.className = 'status';
    head.append(who, meta, status);
    const body = document.createElement('div');
    body.className = 'content';
    const actions = document.createElement('div');
    actions.className = 'actions';
    if (message.role === 'user') actions.append(button('edit', 'edit'), button('copy-message', 'copy'));
    else actions.append(button('copy-message', 'copy'), button('regenerate', 'regenerate'));
    bubble.append(head, body, actions);
    setMeta(bubble, message);
    setStatus(bubble, message.status);
    if (message.role === 'user') body.textContent = message.content;
    else if (message.content !== '') renderStatic(body, message.content);
    return bubble;
  }

  function setMeta(bubble: HTMLElement, message: Partial<Message>): void {
    const meta = bubble.querySelector('.meta');
    if (meta !== null && message.role === 'assistant') meta.textContent = [message.model, message.provider].filter(Boolean).join(' · ');
  }

  function setStatus(bubble: HTMLElement, status: Message['status']): void {
    bubble.dataset.status = status;
    const label = bubble.querySelector<HTMLElement>('.status');
    if (label === null) return;
    const key: MessageKey | undefined = status === 'stopped' ? 'stopped' : status === 'interrupted' ? 'interrupted' : status === 'streaming' ? 'streaming' : undefined;
    if (key === undefined) {
      label.textContent = '';
      delete label.dataset.i18n;
    } else {
      label.dataset.i18n = key;
      label.textContent = t(key);
    }
  }

  function add(element: HTMLElement): HTMLElement {
    container.append(element);
    updateEmpty();
    scroll();
    return element;
  }

  function removeTransient(): void {
    for (const node of container.querySelectorAll('.error-bubble, .notice')) node.remove();
  }

  function showError(status: number, error: ApiErrorBody): void {
    const box = document.createElement('div');
    box.className = 'message error-bubble';
    box.setAttribute('role', 'alert');
    const title = document.createElement('strong');
    title.dataset.i18n = 'errorTitle';
    title.textContent = t('errorTitle');
    const text = document.createElement('p');
    text.className = 'reason';
    text.textContent = `${error.message}${status > 0 ? ` (HTTP ${status})` : ''}`;
    box.append(title, text);
    if (error.attempts !== undefined && error.attempts.length > 0) {
      const list = document.createElement('ul');
      for (const attempt of error.attempts) {
        const item = document.createElement('li');
        item.textContent = `${attempt.provider}: ${attempt.code}${attempt.status === undefined ? '' : ` ${attempt.status}`}: ${attempt.message}`;
        list.append(item);
      }
      box.append(list);
    }
    const retry = button('retry', 'retry');
    retry.className = 'small primary';
    box.append(retry);
    add(box);
  }

  function lastUserIndex(bubbles: HTMLElement[]): number {
    return bubbles.findLastIndex((bubble) => bubble.dataset.role === 'user');
  }

  async function run(request: Omit<ChatRequest, 'model' | 'provider' | 'systemPrompt'>, userBubble: HTMLElement | undefined): Promise<void> {
    const conversationId = await options.ensureConversation();
    const settings = options.settings();
    const controller = new AbortController();
    const bubble = bubbleFor({ role: 'assistant', content: '', status: 'streaming' });
    bubble.classList.add('pending');
    const state: Streaming = { controller, renderer: undefined, bubble, stopped: false };
    current = state;
    options.onStreamingChange(true);
    add(bubble);
    stick = true;
    const body = bubble.querySelector<HTMLElement>('.content') as HTMLElement;
    let renderer: StreamRenderer | undefined;
    const full: ChatRequest = { ...request, model: settings.model, systemPrompt: settings.systemPrompt };
    if (settings.provider !== '' && settings.provider !== 'auto') full.provider = settings.provider;
    try {
      await streamChat(conversationId, full, {
        user(message) {
          if (userBubble !== undefined) userBubble.dataset.id = message.id;
          options.onSaved();
        },
        context(info) {
          if (info.omitted > 0) {
            const notice = document.createElement('div');
            notice.className = 'notice';
            notice.textContent = t('contextOmitted', { omitted: info.omitted, model: settings.model, tokens: info.contextTokens });
            container.insertBefore(notice, bubble);
          }
        },
        start(message) {
          bubble.dataset.id = message.id;
          bubble.classList.remove('pending');
          setMeta(bubble, message);
          renderer = createStreamRenderer(body, { onUpdate: scroll });
          state.renderer = renderer;
        },
        delta(text) {
          renderer?.append(text);
        },
        done(message) {
          renderer?.finish();
          bubble.dataset.text = message.content;
          setMeta(bubble, message);
          setStatus(bubble, 'complete');
        },
        error(status, error) {
          renderer?.finish();
          if (renderer === undefined || renderer.text === '') bubble.remove();
          else {
            bubble.dataset.text = renderer.text;
            setStatus(bubble, 'interrupted');
          }
          showError(status, error);
        },
      }, controller.signal);
    } catch (error) {
      if (!state.stopped) {
        renderer?.finish();
        if (renderer === undefined || renderer.text === '') bubble.remove();
        else setStatus(bubble, 'interrupted');
        if (error instanceof ApiError) showError(error.status, error.body);
        else showError(0, { message: `${t('networkError')}: ${error instanceof Error ? error.message : String(error)}` });
      }
    } finally {
      if (current === state) current = undefined;
      options.onStreamingChange(false);
      options.onSaved();
      updateEmpty();
    }
  }

  function startEditing(bubble: HTMLElement): void {
    if (current !== undefined || bubble.dataset.id === undefined) return;
    const body = bubble.querySelector<HTMLElement>('.content');
    if (body === null || bubble.classList.contains('editing')) return;
    bubble.classList.add('editing');
    const area = document.createElement('textarea');
    area.value = bubble.dataset.text ?? '';
    area.rows = Math.min(12, Math.max(2, area.value.split('\n').length));
    const save = button('save-edit', 'saveAndSend');
    save.className = 'small primary';
    const cancel = button('cancel-edit', 'cancel');
    const row = document.createElement('div');
    row.className = 'edit-row';
    row.append(save, cancel);
    body.replaceChildren(area, row);
    area.focus();
    const restore = (): void => {
      bubble.classList.remove('editing');
      body.textContent = bubble.dataset.text ?? '';
    };
    cancel.addEventListener('click', restore);
    save.addEventListener('click', () => {
      const content = area.value.trim();
      const messageId = bubble.dataset.id;
      if (content === '' || messageId === undefined) return;
      removeTransient();
      let node: Element | null = bubble;
      while (node !== null) {
        const next: Element | null = node.nextElementSibling;
        node.remove();
        node = next;
      }
      const user = add(bubbleFor({ role: 'user', content, status: 'complete' }));
      void run({ content, replaceFrom: messageId }, user);
    });
  }

  const view: ChatView = {
    show(conversation) {
      view.stop();
      clear();
      for (const message of conversation?.messages ?? []) add(bubbleFor(message));
      updateEmpty();
      stick = true;
      scroll();
    },
    async send(content) {
      if (current !== undefined || content.trim() === '') return;
      removeTransient();
      const user = add(bubbleFor({ role: 'user', content, status: 'complete' }));
      await run({ content }, user);
    },
    async regenerate() {
      if (current !== undefined) return;
      removeTransient();
      const bubbles = [...container.querySelectorAll<HTMLElement>('.message')];
      const last = lastUserIndex(bubbles);
      if (last < 0) return;
      for (const bubble of bubbles.slice(last + 1)) bubble.remove();
      await run({ regenerate: true }, undefined);
    },
    stop() {
      const state = current;
      if (state === undefined) return;
      state.stopped = true;
      state.controller.abort();
      current = undefined;
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
