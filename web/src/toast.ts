/** Short messages in a stack at the top right (never over the composer), each with a close button; gone after 8 s. */
import { t } from './i18n.js';

const LIFETIME_MS = 8_000;

function stack(): HTMLElement {
  let element = document.getElementById('toasts');
  if (element === null) {
    element = document.createElement('div');
    element.id = 'toasts';
    element.className = 'toasts';
    document.body.append(element);
  }
  return element;
}

export function showToast(message: string): void {
  const box = document.createElement('div');
  box.className = 'toast';
  box.setAttribute('role', 'alert');
  const text = document.createElement('span');
  text.textContent = message;
  const close = document.createElement('button');
  close.type = 'button';
  close.className = 'icon small toast-close';
  close.textContent = '×';
  close.setAttribute('aria-label', t('close'));
  close.addEventListener('click', () => box.remove());
  box.append(text, close);
  const toasts = stack();
  toasts.append(box);
  // At most three at once: the oldest go first.
  while (toasts.children.length > 3) toasts.firstElementChild?.remove();
  setTimeout(() => box.remove(), LIFETIME_MS);
}
