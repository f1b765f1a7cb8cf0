/**
 * One message of the list: its header (who, model, status), a user message's images, an
 * answer's reasoning (folded), its content and its action buttons.
 */
import type { Message } from './api.js';
import { t, type MessageKey } from './i18n.js';
import { renderStatic } from './stream-render.js';

/** Statuses a bubble can show: a stored message's, or the page's own for a user message whose request failed. */
export type BubbleStatus = Message['status'] | 'not-sent' | 'no-answer';

const STATUS_LABELS: Partial<Record<BubbleStatus, MessageKey>> = {
  stopped: 'stopped',
  interrupted: 'interrupted',
  streaming: 'streaming',
  'not-sent': 'notSent',
  'no-answer': 'noAnswer',
};

export function actionButton(action: string, key: MessageKey): HTMLButtonElement {
  const element = document.createElement('button');
  element.type = 'button';
  element.className = 'small ghost';
  element.dataset.action = action;
  element.dataset.i18n = key;
  element.textContent = t(key);
  return element;
}

/** An image shown in a user message: a URL to show now, or a stored image's id (`data-image-id`) whose URL the view fills in. */
export interface BubbleImage {
  url?: string;
  id?: string;
}

/** The thumbnails of a user message's images; each opens the image in a new tab. */
export function imageStrip(images: readonly BubbleImage[]): HTMLElement {
  const strip = document.createElement('div');
  strip.className = 'images';
  images.forEach((image, index) => {
    const link = document.createElement('a');
    link.className = 'image-link';
    link.target = '_blank';
    link.rel = 'noopener';
    const picture = document.createElement('img');
    picture.alt = t('attachedImage', { number: index + 1 });
    if (image.id !== undefined) picture.dataset.imageId = image.id;
    if (image.url !== undefined) {
      picture.src = image.url;
      link.href = image.url;
    }
    link.append(picture);
    strip.append(link);
  });
  return strip;
}

/** The answer's reasoning, folded: a `<details>` above the answer (`live` while it is arriving). */
export function reasoningBlock(bubble: HTMLElement): HTMLElement {
  let block = bubble.querySelector<HTMLElement>(':scope > details.reasoning');
  if (block !== null) return block;
  block = document.createElement('details');
  block.className = 'reasoning';
  const summary = document.createElement('summary');
  summary.dataset.i18n = 'reasoning';
  summary.textContent = t('reasoning');
  const text = document.createElement('div');
  text.className = 'reasoning-text';
  block.append(summary, text);
  bubble.insertBefore(block, contentOf(bubble));
  return block;
}

/** Adds reasoning text to the bubble's folded block. */
export function appendReasoning(bubble: HTMLElement, text: string): void {
  const body = reasoningBlock(bubble).querySelector<HTMLElement>('.reasoning-text') as HTMLElement;
  const last = body.lastChild;
  if (last instanceof Text) last.appendData(text);
  else body.append(text);
}

/** `onRendered` runs after each step of rendering a stored answer (it renders over several frames, last message first). */
export function createBubble(
  message: Pick<Message, 'role' | 'content' | 'status'> & Partial<Message>,
  onRendered?: () => void,
  images?: readonly BubbleImage[],
): HTMLElement {
  const bubble = document.createElement('article');
  bubble.className = `message ${message.role}`;
  bubble.dataset.role = message.role;
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
  if (message.role === 'user') actions.append(actionButton('edit', 'edit'), actionButton('copy-message', 'copy'));
  else actions.append(actionButton('copy-message', 'copy'), actionButton('regenerate', 'regenerate'));
  bubble.append(head, body, actions);
  const shown = images ?? message.images?.map((image) => ({ id: image.id })) ?? [];
  if (message.role === 'user' && shown.length > 0) bubble.insertBefore(imageStrip(shown), body);
  if (message.role === 'assistant' && message.reasoning !== undefined && message.reasoning !== '') appendReasoning(bubble, message.reasoning);
  setMeta(bubble, message);
  setStatus(bubble, message.status);
  if (message.role === 'user') body.textContent = message.content;
  else if (message.content !== '') renderStatic(body, message.content, { urgent: true, ...(onRendered === undefined ? {} : { onUpdate: onRendered }) });
  return bubble;
}

export function setMeta(bubble: HTMLElement, message: Partial<Message>): void {
  const meta = bubble.querySelector('.meta');
  if (meta !== null && message.role === 'assistant') meta.textContent = [message.model, message.provider].filter(Boolean).join(' · ');
}

export function setStatus(bubble: HTMLElement, status: BubbleStatus): void {
  bubble.dataset.status = status;
  const label = bubble.querySelector<HTMLElement>(':scope > header .status');
  if (label === null) return;
  const key = STATUS_LABELS[status];
  if (key === undefined) {
    label.textContent = '';
    delete label.dataset.i18n;
  } else {
    label.dataset.i18n = key;
    label.textContent = t(key);
  }
}

export function contentOf(bubble: HTMLElement): HTMLElement {
  return bubble.querySelector<HTMLElement>(':scope > .content') as HTMLElement;
}
