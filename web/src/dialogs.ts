/** Small in-page dialogs instead of the browser's confirm() and prompt(): styled, translated, Escape cancels. */
import { t } from './i18n.js';

function open(message: string, withInput: boolean): Promise<string | undefined> {
  return new Promise((resolve) => {
    const dialog = document.createElement('dialog');
    dialog.className = 'ask-dialog';
    const form = document.createElement('form');
    form.method = 'dialog';
    const text = document.createElement('p');
    text.textContent = message;
    form.append(text);
    const input = document.createElement('input');
    if (withInput) {
      input.type = 'text';
      input.required = true;
      input.setAttribute('aria-label', message);
      form.append(input);
    }
    const menu = document.createElement('menu');
    const cancel = document.createElement('button');
    cancel.type = 'button';
    cancel.dataset.answer = 'cancel';
    cancel.textContent = t('cancel');
    const ok = document.createElement('button');
    ok.type = 'submit';
    ok.className = withInput ? 'primary' : 'primary danger-fill';
    ok.dataset.answer = 'ok';
    ok.textContent = withInput ? t('save') : t('delete');
    menu.append(cancel, ok);
    form.append(menu);
    dialog.append(form);
    document.body.append(dialog);
    let answer: string | undefined;
    form.addEventListener('submit', (event) => {
      event.preventDefault();
      const value = withInput ? input.value.trim() : 'ok';
      if (value === '') {
        // Only spaces: the field is empty, and says it is required.
        input.value = '';
        input.reportValidity();
        return;
      }
      answer = value;
      dialog.close();
    });
    cancel.addEventListener('click', () => dialog.close());
    dialog.addEventListener('close', () => {
      dialog.remove();
      resolve(answer);
    });
    dialog.showModal();
    (withInput ? input : cancel).focus();
  });
}

/** True when the user confirms. */
export async function confirmDialog(message: string): Promise<boolean> {
  return (await open(message, false)) !== undefined;
}

/** The text entered, or undefined when cancelled. */
export function promptDialog(message: string): Promise<string | undefined> {
  return open(message, true);
}
