/** The chat page: wires the sidebar, the pickers, the system prompt, the composer and the message view. */
import { api, ApiError, getApiKey, setUnauthorizedHandler, type Conversation, type PageModel } from './api.js';
import { createChatView } from './chat-view.js';
import { createComposerImages } from './composer-images.js';
import { confirmDialog, promptDialog } from './dialogs.js';
import { createKeyDialog } from './key-dialog.js';
import { showToast } from './toast.js';
import { applyTranslations, currentLanguage, displayTitle, setLanguage, t } from './i18n.js';
import { deletePreset, listPresets, presetOf, savePreset } from './presets.js';
import { createSidebar } from './sidebar.js';
import { initTheme, toggleTheme } from './theme.js';

const element = <T extends HTMLElement>(id: string): T => {
  const found = document.getElementById(id);
  if (found === null) throw new Error(`#${id} is missing`);
  return found as T;
};

const ui = {
  messages: element<HTMLElement>('messages'),
  input: element<HTMLTextAreaElement>('input'),
  send: element<HTMLButtonElement>('send'),
  stop: element<HTMLButtonElement>('stop'),
  model: element<HTMLSelectElement>('model'),
  provider: element<HTMLSelectElement>('provider'),
  preset: element<HTMLSelectElement>('preset'),
  systemPrompt: element<HTMLTextAreaElement>('system-prompt'),
  title: element<HTMLElement>('chat-title'),
  demo: element<HTMLElement>('demo-banner'),
  keyDialog: element<HTMLDialogElement>('key-dialog'),
  keyForm: element<HTMLFormElement>('key-form'),
  keyInput: element<HTMLInputElement>('key-input'),
  importFile: element<HTMLInputElement>('import-file'),
  langToggle: element<HTMLButtonElement>('lang-toggle'),
  backdrop: element<HTMLElement>('backdrop'),
};

let models: PageModel[] = [];
let providerNames: string[] = [];
let currentId: string | undefined;
let current: Conversation | undefined;
/** A conversation created by a send whose message the server has not saved yet. */
let createdForSend: string | undefined;

const sidebar = createSidebar({
  list: element<HTMLUListElement>('conversation-list'),
  search: element<HTMLInputElement>('search'),
  onOpen: (id) => void open(id),
  onDeleted: (id) => {
    if (id === currentId) newChat();
  },
  onRenamed: (conversation) => {
    if (conversation.id === currentId) ui.title.textContent = displayTitle(conversation.title);
  },
  onError: report,
});

const chat = createChatView({
  container: ui.messages,
  settings: () => ({ model: ui.model.value, provider: ui.provider.value, systemPrompt: ui.systemPrompt.value }),
  async ensureConversation() {
    if (currentId !== undefined) return currentId;
    const created = await api.create({ systemPrompt: ui.systemPrompt.value, model: ui.model.value, provider: ui.provider.value });
    select(created);
    createdForSend = created.id;
    return created.id;
  },
  onUnsaved(conversationId) {
    // The conversation was made for this send and holds nothing: do not leave an empty entry behind.
    if (conversationId !== createdForSend) return;
    createdForSend = undefined;
    void api
      .remove(conversationId)
      .catch(() => undefined)
      .then(() => {
        if (currentId === conversationId) select(undefined);
        return sidebar.refresh();
      });
  },
  onStreamingChange(streaming) {
    ui.send.hidden = streaming;
    ui.stop.hidden = !streaming;
    document.body.classList.toggle('streaming', streaming);
  },
  onSaved() {
    createdForSend = undefined;
    void sidebar.refresh().then(() => {
      const entry = sidebar.conversations().find((conversation) => conversation.id === currentId);
      if (entry !== undefined) ui.title.textContent = displayTitle(entry.title);
    });
  },
});

const composerImages = createComposerImages({
  button: element<HTMLButtonElement>('attach'),
  input: element<HTMLInputElement>('attach-file'),
  strip: element<HTMLElement>('attachments'),
  dropZone: element<HTMLElement>('composer'),
  pasteTarget: ui.input,
  report: (message) => showToast(message),
});

/** Whether the chosen model takes images through the chosen provider (any of its providers for auto). */
function takesImages(): boolean {
  const model = models.find((entry) => entry.id === ui.model.value);
  if (model === undefined) return false;
  const provider = ui.provider.value;
  return provider === '' || provider === 'auto' ? model.vision : model.visionProviders.includes(provider);
}

/** Attaching follows the chosen model and provider. */
function syncAttach(): void {
  const provider = ui.provider.value;
  composerImages.setEnabled(takesImages(), provider === '' || provider === 'auto' ? ui.model.value : `${ui.model.value} (${provider})`);
}

function report(error: unknown): void {
  showToast(error instanceof Error ? error.message : String(error));
}

function select(conversation: Conversation | undefined): void {
  current = conversation;
  currentId = conversation?.id;
  ui.title.textContent = displayTitle(conversation?.title);
  for (const id of ['export-json', 'export-md']) element<HTMLButtonElement>(id).disabled = currentId === undefined;
  const shownId = element<HTMLElement>('conversation-id');
  shownId.textContent = currentId ?? '';
  shownId.hidden = currentId === undefined;
  // The address names the open conversation (#/c/<id>); Back and Forward move between them.
  const hash = currentId === undefined ? '#/' : `#/c/${currentId}`;
  if (location.hash !== hash && !(hash === '#/' && location.hash === '')) history.pushState(null, '', hash);
  if (currentId === undefined) localStorage.removeItem('g4f.current');
  else localStorage.setItem('g4f.current', currentId);
  sidebar.setActive(currentId);
}

async function open(id: string): Promise<void> {
  closeSidebar();
  try {
    const conversation = await api.get(id);
    select(conversation);
    if (conversation.model !== '' && models.some((model) => model.id === conversation.model)) ui.model.value = conversation.model;
    fillProviders(conversation.provider);
    ui.systemPrompt.value = conversation.systemPrompt;
    syncPreset();
    chat.show(conversation);
  } catch (error) {
    if (error instanceof ApiError && error.status === 404) {
      select(undefined);
      chat.show(undefined);
      await sidebar.refresh();
    } else report(error);
  }
}

function newChat(): void {
  select(undefined);
  chat.show(undefined);
  closeSidebar();
  ui.input.focus();
}

/** The model last chosen here, else the command line's default. */
const DEFAULT_MODEL = 'gpt-3.5-turbo';

function fillModels(): void {
  const wanted = ui.model.value || localStorage.getItem('g4f.model') || DEFAULT_MODEL;
  ui.model.replaceChildren(...models.map((model) => new Option(model.id, model.id)));
  if (models.some((model) => model.id === wanted)) ui.model.value = wanted;
  else if (models.some((model) => model.id === DEFAULT_MODEL)) ui.model.value = DEFAULT_MODEL;
}

function fillProviders(wanted = localStorage.getItem('g4f.provider') ?? ''): void {
  const model = models.find((entry) => entry.id === ui.model.value);
  const names = model?.providers ?? providerNames;
  const auto = new Option(t('auto'), 'auto');
  auto.dataset.i18n = 'auto';
  ui.provider.replaceChildren(auto, ...names.map((name) => new Option(name, name)));
  ui.provider.value = names.includes(wanted) ? wanted : 'auto';
  syncAttach();
}

/** Fills the preset picker; `chosen` stays chosen if its prompt is the one in the field. */
function fillPresets(chosen = ui.preset.value): void {
  const none = new Option(t('presetNone'), '');
  const custom = new Option(t('presetCustom'), 'custom');
  custom.disabled = true;
  ui.preset.replaceChildren(none, ...listPresets().map((preset) => new Option(preset.name, preset.id)), custom);
  syncPreset(chosen);
}

/** Shows the preset whose prompt is in the field (`chosen` if several have it), else Custom. */
function syncPreset(chosen = ui.preset.value): void {
  const prompt = ui.systemPrompt.value;
  ui.preset.value = prompt.trim() === '' ? '' : (presetOf(prompt, chosen)?.id ?? 'custom');
  const preset = listPresets().find((entry) => entry.id === ui.preset.value);
  element<HTMLButtonElement>('delete-preset').hidden = preset === undefined || preset.builtin;
}

let promptTimer: number | undefined;
function saveSystemPrompt(): void {
  clearTimeout(promptTimer);
  promptTimer = window.setTimeout(() => {
    if (currentId !== undefined) void api.update(currentId, { systemPrompt: ui.systemPrompt.value }).catch(report);
  }, 400);
}

function openSidebar(): void {
  document.body.classList.add('sidebar-open');
  ui.backdrop.hidden = false;
}

function closeSidebar(): void {
  document.body.classList.remove('sidebar-open');
  ui.backdrop.hidden = true;
}

const keyDialog = createKeyDialog({
  dialog: ui.keyDialog,
  form: ui.keyForm,
  input: ui.keyInput,
  cancel: element<HTMLButtonElement>('key-cancel'),
  wrong: element<HTMLElement>('key-wrong'),
});
const askKey = keyDialog.ask;

async function download(format: 'json' | 'markdown'): Promise<void> {
  if (currentId === undefined) return;
  const text = await api.exportText(currentId, format);
  const blob = new Blob([text], { type: format === 'json' ? 'application/json' : 'text/markdown' });
  const link = document.createElement('a');
  link.href = URL.createObjectURL(blob);
  const title = sidebar.conversations().find((conversation) => conversation.id === currentId)?.title ?? current?.title;
  link.download = `${(title ?? 'conversation').replace(/[^\p{L}\p{N}_ -]+/gu, '').trim() || 'conversation'}.${format === 'json' ? 'json' : 'md'}`;
  link.click();
  setTimeout(() => URL.revokeObjectURL(link.href), 10_000);
}

function sendFromComposer(): void {
  const content = ui.input.value;
  const pending = composerImages.images();
  // An image still being read would be left behind: Enter waits for it.
  if ((content.trim() === '' && pending.length === 0) || chat.streaming() || document.body.classList.contains('preparing-images')) return;
  if (pending.length > 0 && !composerImages.enabled()) {
    showToast(t('attachDisabled', { model: ui.model.value }));
    return;
  }
  const images = composerImages.take();
  ui.input.value = '';
  autosize();
  void chat.send(content, images).then((outcome) => {
    // Not saved by the server: the text and images go back to the composer (unless something new was typed).
    if (outcome !== 'unsaved' && outcome !== 'refused') return;
    if (ui.input.value === '') {
      ui.input.value = content;
      autosize();
    }
    if (outcome === 'refused') for (const image of images) URL.revokeObjectURL(image.url);
    composerImages.restore(images.map((image) => ({ ...image, url: URL.createObjectURL(image.blob) })));
  });
}

function autosize(): void {
  ui.input.style.height = 'auto';
  ui.input.style.height = `${Math.min(ui.input.scrollHeight, 240)}px`;
}

function wire(): void {
  ui.input.addEventListener('keydown', (event) => {
    if (event.key === 'Enter' && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      sendFromComposer();
    }
  });
  ui.input.addEventListener('input', autosize);
  ui.send.addEventListener('click', sendFromComposer);
  ui.stop.addEventListener('click', () => chat.stop());
  element('new-chat').addEventListener('click', newChat);
  element('toggle-sidebar').addEventListener('click', openSidebar);
  element('close-sidebar').addEventListener('click', closeSidebar);
  ui.backdrop.addEventListener('click', closeSidebar);
  element('theme-toggle').addEventListener('click', () => toggleTheme());
  ui.langToggle.addEventListener('click', () => {
    setLanguage(currentLanguage() === 'en' ? 'ru' : 'en');
    ui.langToggle.textContent = currentLanguage() === 'en' ? 'RU' : 'EN';
    fillPresets();
    syncAttach();
    ui.title.textContent = displayTitle(current?.title);
    void sidebar.refresh();
  });
  ui.model.addEventListener('change', () => {
    localStorage.setItem('g4f.model', ui.model.value);
    fillProviders(ui.provider.value);
  });
  ui.provider.addEventListener('change', () => {
    localStorage.setItem('g4f.provider', ui.provider.value);
    syncAttach();
  });
  ui.preset.addEventListener('change', () => {
    const preset = listPresets().find((entry) => entry.id === ui.preset.value);
    ui.systemPrompt.value = preset?.prompt ?? '';
    syncPreset();
    saveSystemPrompt();
  });
  ui.systemPrompt.addEventListener('input', () => {
    syncPreset();
    saveSystemPrompt();
  });
  element('save-preset').addEventListener('click', () => {
    const prompt = ui.systemPrompt.value.trim();
    if (prompt === '') return;
    void promptDialog(t('presetName')).then((name) => {
      if (name === undefined) return;
      fillPresets(savePreset(name, prompt).id);
    });
  });
  element('delete-preset').addEventListener('click', () => {
    deletePreset(ui.preset.value);
    fillPresets();
  });
  element('export-json').addEventListener('click', () => void download('json').catch(report));
  element('export-md').addEventListener('click', () => void download('markdown').catch(report));
  element('import').addEventListener('click', () => ui.importFile.click());
  ui.importFile.addEventListener('change', async () => {
    const file = ui.importFile.files?.[0];
    ui.importFile.value = '';
    if (file === undefined) return;
    try {
      const text = await file.text();
      const format = /\.json$/i.test(file.name) || text.trimStart().startsWith('{') ? 'json' : 'markdown';
      const imported = await api.importText(format, text);
      await sidebar.refresh();
      await open(imported.id);
    } catch (error) {
      report(new Error(t('importFailed', { reason: error instanceof Error ? error.message : String(error) })));
    }
  });
  element('clear-all').addEventListener('click', async () => {
    if (!(await confirmDialog(t('confirmClear')))) return;
    try {
      await api.clear();
    } catch (error) {
      report(error);
    }
    newChat();
    await sidebar.refresh();
  });
}

/** The demo banner lists the trigger prompts; a click puts one in the composer. */
function showDemoTriggers(triggers: Array<{ prompt: string; description: string }>): void {
  const list = element<HTMLElement>('demo-triggers');
  list.replaceChildren(
    ...triggers.map((trigger) => {
      const button = document.createElement('button');
      button.type = 'button';
      button.className = 'small ghost demo-trigger';
      button.textContent = trigger.prompt;
      button.title = trigger.description;
      button.addEventListener('click', () => {
        ui.input.value = trigger.prompt;
        autosize();
        ui.input.focus();
      });
      return button;
    }),
  );
  list.hidden = triggers.length === 0;
}

/** Models, providers, presets and the conversation list (again after a new API key). */
async function load(): Promise<void> {
  const [modelList, providerList] = await Promise.all([api.models(), api.providers()]);
  models = modelList.data;
  providerNames = providerList.data.map((provider) => provider.name);
  fillModels();
  fillProviders();
  fillPresets();
  await sidebar.refresh();
  const fromAddress = idFromAddress();
  const saved = currentId ?? fromAddress ?? localStorage.getItem('g4f.current');
  if (fromAddress !== undefined && saved === fromAddress) await open(fromAddress);
  else if (saved !== null && sidebar.conversations().some((conversation) => conversation.id === saved)) await open(saved);
  else newChat();
}

/** The conversation id in the address, if any. */
function idFromAddress(): string | undefined {
  const match = /^#\/c\/([A-Za-z0-9_-]{1,64})$/.exec(location.hash);
  return match?.[1];
}

window.addEventListener('popstate', () => {
  const id = idFromAddress();
  if (id === currentId) return;
  if (id === undefined) newChat();
  else void open(id);
});

async function boot(): Promise<void> {
  initTheme();
  applyTranslations(document);
  ui.langToggle.textContent = currentLanguage() === 'en' ? 'RU' : 'EN';
  wire();
  setUnauthorizedHandler(keyDialog.onUnauthorized);
  try {
    const config = await api.config();
    ui.demo.hidden = !config.demo;
    showDemoTriggers(config.demoTriggers ?? []);
    document.body.classList.toggle('demo', config.demo);
    const keyButton = element<HTMLButtonElement>('key-button');
    keyButton.hidden = !config.keysRequired;
    keyButton.addEventListener('click', () => {
      void askKey().then((saved) => (saved ? load().catch(report) : undefined));
    });
    if (config.keysRequired && (getApiKey() ?? '') === '') await askKey();
    await load();
  } catch (error) {
    report(error);
  } finally {
    // Usable even when loading failed (the key button, the theme and language stay available).
    document.body.dataset.ready = 'true';
  }
}

boot().catch(report);
