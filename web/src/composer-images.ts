/**
 * Images attached in the composer: the attach button (a file picker), pasted images and files
 * dropped on the composer; thumbnails with a remove button. Attaching is off (the button disabled,
 * its title saying why) while the chosen model takes no images.
 */
import { CONVERSATION_LIMITS, IMAGE_MEDIA_TYPES } from '../../src/store/limits.js';
import { t } from './i18n.js';
import { isPendingImage, prepareImage, type ImageProblem, type PendingImage } from './images.js';

export interface ComposerImagesOptions {
  button: HTMLButtonElement;
  input: HTMLInputElement;
  strip: HTMLElement;
  /** Where images are dropped (and pasted, for the text field inside it). */
  dropZone: HTMLElement;
  pasteTarget: HTMLElement;
  report(message: string): void;
}

export interface ComposerImages {
  /** The images waiting to be sent, in order. */
  images(): PendingImage[];
  /** Takes the images away from the composer (they were sent): their URLs are the taker's now. */
  take(): PendingImage[];
  /** Puts images back (a send that was not saved), after any attached since. */
  restore(images: PendingImage[]): void;
  /** On when the chosen model takes images; `model` names it in the reason when off. */
  setEnabled(enabled: boolean, model: string): void;
  enabled(): boolean;
}

function mebibytes(bytes: number): string {
  return (bytes / 1024 / 1024).toLocaleString(undefined, { maximumFractionDigits: 1 });
}

export function createComposerImages(options: ComposerImagesOptions): ComposerImages {
  const { button, input, strip, dropZone, pasteTarget } = options;
  let pending: PendingImage[] = [];
  let on = false;
  let model = '';
  /** Files being prepared: they count toward the per-message limit already. */
  let preparing = 0;

  input.accept = IMAGE_MEDIA_TYPES.join(',');

  function render(): void {
    strip.replaceChildren(
      ...pending.map((image, index) => {
        const item = document.createElement('figure');
        item.className = 'attachment';
        const picture = document.createElement('img');
        picture.src = image.url;
        picture.alt = t('attachedImage', { number: index + 1 });
        const remove = document.createElement('button');
        remove.type = 'button';
        remove.className = 'remove-image';
        remove.textContent = '×';
        remove.title = t('removeImage');
        remove.setAttribute('aria-label', t('removeImage'));
        remove.addEventListener('click', () => {
          URL.revokeObjectURL(image.url);
          pending = pending.filter((entry) => entry !== image);
          render();
        });
        item.append(picture, remove);
        return item;
      }),
    );
    strip.hidden = pending.length === 0;
    strip.classList.toggle('unsupported', !on);
    strip.title = on ? '' : t('attachDisabled', { model });
  }

  function problemText(problem: ImageProblem): string {
    if (problem.reason === 'type') return t('imageType', { type: problem.type || '?' });
    if (problem.reason === 'size') return t('imageTooLarge', { size: mebibytes(problem.bytes), limit: mebibytes(CONVERSATION_LIMITS.imageBytes) });
    return t('imageUnreadable');
  }

  async function add(files: readonly File[]): Promise<void> {
    if (files.length === 0) return;
    if (!on) {
      options.report(t('attachDisabled', { model }));
      return;
    }
    const room = CONVERSATION_LIMITS.messageImages - pending.length - preparing;
    if (files.length > room) options.report(t('tooManyImages', { limit: CONVERSATION_LIMITS.messageImages }));
    const accepted = files.slice(0, Math.max(0, room));
    let left = accepted.length;
    preparing += left;
    document.body.classList.add('preparing-images');
    try {
      for (const file of accepted) {
        const prepared = await prepareImage(file);
        preparing -= 1;
        left -= 1;
        if (isPendingImage(prepared)) pending.push(prepared);
        else options.report(`${file.name === '' ? '' : `${file.name}: `}${problemText(prepared)}`);
        render();
      }
    } finally {
      preparing -= left;
      if (preparing === 0) document.body.classList.remove('preparing-images');
    }
  }

  function imageFiles(data: DataTransfer | null): File[] {
    return [...(data?.files ?? [])];
  }

  button.addEventListener('click', () => {
    if (on) input.click();
  });
  input.addEventListener('change', () => {
    const files = [...(input.files ?? [])];
    input.value = '';
    void add(files);
  });
  pasteTarget.addEventListener('paste', (event) => {
    const files = imageFiles(event.clipboardData).filter((file) => file.type.startsWith('image/'));
    if (files.length === 0) return; // text: pasted as usual
    event.preventDefault();
    void add(files);
  });
  const hasFiles = (event: DragEvent): boolean => event.dataTransfer?.types.includes('Files') === true;
  dropZone.addEventListener('dragover', (event) => {
    if (!hasFiles(event)) return;
    event.preventDefault();
    if (event.dataTransfer !== null) event.dataTransfer.dropEffect = on ? 'copy' : 'none';
    dropZone.classList.toggle('dropping', on);
  });
  dropZone.addEventListener('dragleave', (event) => {
    if (event.relatedTarget === null || !dropZone.contains(event.relatedTarget as Node)) dropZone.classList.remove('dropping');
  });
  dropZone.addEventListener('drop', (event) => {
    if (!hasFiles(event)) return;
    event.preventDefault();
    dropZone.classList.remove('dropping');
    void add(imageFiles(event.dataTransfer));
  });
  // A file dropped anywhere else must not make the browser leave the page to show it.
  for (const name of ['dragover', 'drop'] as const) {
    window.addEventListener(name, (event) => {
      if (hasFiles(event) && !dropZone.contains(event.target as Node)) event.preventDefault();
    });
  }

  return {
    images: () => [...pending],
    take() {
      const taken = pending;
      pending = [];
      render();
      return taken;
    },
    restore(images) {
      const all = [...images, ...pending];
      for (const dropped of all.slice(CONVERSATION_LIMITS.messageImages)) URL.revokeObjectURL(dropped.url);
      pending = all.slice(0, CONVERSATION_LIMITS.messageImages);
      render();
    },
    setEnabled(enabled, name) {
      on = enabled;
      model = name;
      button.disabled = !enabled;
      button.title = enabled ? t('attach') : t('attachDisabled', { model: name });
      button.setAttribute('aria-label', button.title);
      render();
    },
    enabled: () => on,
  };
}
