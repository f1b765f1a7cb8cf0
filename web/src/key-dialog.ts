/**
 * The API key dialog: asked when the server needs a key and none is stored, again (saying the key
 * was refused) on every 401, and on demand from the key button. Escape or Cancel closes it and
 * answers `false`; one dialog serves every request that is waiting for a key.
 */
import { getApiKey, setApiKey } from './api.js';

export interface KeyDialogElements {
  dialog: HTMLDialogElement;
  form: HTMLFormElement;
  input: HTMLInputElement;
  cancel: HTMLButtonElement;
  wrong: HTMLElement;
}

/** Resolves true when a new key was saved, false when the dialog was dismissed. */
export type AskKey = (options?: { wrong?: boolean }) => Promise<boolean>;

export interface KeyDialog {
  /** Opens the dialog (the key button). */
  ask: AskKey;
  /** For a request refused with 401: asks, unless the user dismissed the dialog since the last ask. */
  onUnauthorized(options: { wrong: boolean }): Promise<boolean>;
}

export function createKeyDialog(elements: KeyDialogElements): KeyDialog {
  let pending: Promise<boolean> | undefined;
  let dismissed = false;
  const ask: AskKey = (options = {}) => {
    dismissed = false;
    elements.wrong.hidden = options.wrong !== true;
    if (pending !== undefined) return pending;
    pending = new Promise<boolean>((resolve) => {
      elements.input.value = options.wrong === true ? '' : (getApiKey() ?? '');
      const finish = (saved: boolean): void => {
        elements.form.removeEventListener('submit', submit);
        elements.dialog.removeEventListener('cancel', dismiss);
        elements.cancel.removeEventListener('click', dismiss);
        if (elements.dialog.open) elements.dialog.close();
        pending = undefined;
        dismissed = !saved;
        resolve(saved);
      };
      const submit = (event: Event): void => {
        event.preventDefault();
        const key = elements.input.value.trim();
        if (key === '') return;
        setApiKey(key);
        finish(true);
      };
      const dismiss = (event: Event): void => {
        event.preventDefault();
        finish(false);
      };
      elements.form.addEventListener('submit', submit);
      elements.dialog.addEventListener('cancel', dismiss);
      elements.cancel.addEventListener('click', dismiss);
      elements.dialog.showModal();
      elements.input.focus();
    });
    return pending;
  };
  return {
    ask,
    onUnauthorized: (options) => (dismissed ? Promise.resolve(false) : ask(options)),
  };
}
