/**
 * The error shown in place of an answer: a short headline, one short reason per provider tried,
 * the raw details (upstream bodies) folded behind a "Details" toggle, and a Retry button.
 */
import type { ApiErrorBody } from './api.js';
import { t } from './i18n.js';

/** What a Retry does: resend this text, or answer again the saved user message `userId`. */
export interface Failure {
  content?: string;
  /** The images sent with `content` (data URLs). */
  images?: Array<{ url: string }>;
  replaceFrom?: string;
  keepImages?: true;
  userId?: string;
  /** The user bubble the failed request belongs to. */
  bubble?: HTMLElement;
}

function translated(tag: string, key: Parameters<typeof t>[0]): HTMLElement {
  const element = document.createElement(tag);
  element.dataset.i18n = key;
  element.textContent = t(key);
  return element;
}

/** `Lockchat: HTTP 500, server error` (the code as words, never the upstream body). */
function shortReason(attempt: NonNullable<ApiErrorBody['attempts']>[number]): string {
  const parts = [attempt.status === undefined ? '' : `HTTP ${attempt.status}`, attempt.code.replace(/_/g, ' ')].filter((part) => part !== '');
  return `${attempt.provider}: ${parts.join(', ')}`;
}

/** The first sentence of a message, without what follows a colon listing providers, at most 160 characters. */
function headlineOf(error: ApiErrorBody): { key?: 'allProvidersFailed'; text: string } {
  if (error.code === 'all_providers_failed' || (error.attempts !== undefined && error.attempts.length > 0))
    return { key: 'allProvidersFailed', text: t('allProvidersFailed') };
  const firstLine = error.message.split('\n')[0] ?? '';
  return { text: firstLine.length > 160 ? `${firstLine.slice(0, 157)}…` : firstLine };
}

export function createErrorBubble(status: number, error: ApiErrorBody): HTMLElement {
  const box = document.createElement('div');
  box.className = 'message error-bubble';
  box.setAttribute('role', 'alert');
  box.append(translated('strong', 'errorTitle'));
  const headline = headlineOf(error);
  const reason = document.createElement('p');
  reason.className = 'reason';
  if (headline.key !== undefined) reason.dataset.i18n = headline.key;
  reason.textContent = headline.text;
  box.append(reason);
  const attempts = error.attempts ?? [];
  if (attempts.length > 0) {
    const list = document.createElement('ul');
    list.className = 'attempts';
    for (const attempt of attempts) {
      const item = document.createElement('li');
      item.textContent = shortReason(attempt);
      list.append(item);
    }
    box.append(list);
  }
  const raw = [status > 0 ? `HTTP ${status}` : '', error.code ?? '', error.message, ...attempts.map((attempt) => `${attempt.provider}: ${attempt.message}`)]
    .filter((line) => line !== '')
    .join('\n');
  if (raw !== headline.text) {
    const details = document.createElement('details');
    details.className = 'error-details';
    const summary = translated('summary', 'details');
    const pre = document.createElement('pre');
    pre.textContent = raw;
    details.append(summary, pre);
    box.append(details);
  }
  const retry = translated('button', 'retry') as HTMLButtonElement;
  retry.type = 'button';
  retry.className = 'small primary';
  retry.dataset.action = 'retry';
  box.append(retry);
  return box;
}
