/** The page's two languages. Elements carry `data-i18n` (text), `data-i18n-placeholder`, `data-i18n-title`, `data-i18n-aria-label`. */

const en = {
  newChat: 'New chat',
  search: 'Search conversations',
  import: 'Import',
  clearAll: 'Clear all',
  closeSidebar: 'Close the list',
  openSidebar: 'Conversations',
  model: 'Model',
  provider: 'Provider',
  auto: 'auto',
  exportJson: 'Export as JSON',
  exportMarkdown: 'Export as Markdown',
  toggleTheme: 'Light or dark theme',
  demoBanner: 'Demo mode: answers come from the built-in emulated providers, not from a real model.',
  empty: 'Start a conversation: type a message below.',
  systemPrompt: 'System prompt',
  savePreset: 'Save as preset',
  deletePreset: 'Delete preset',
  systemPlaceholder: 'Instructions sent first with every message of this conversation',
  inputPlaceholder: 'Message',
  send: 'Send',
  stop: 'Stop',
  hint: 'Enter sends, Shift+Enter adds a line',
  keyPrompt: 'This server needs an API key. It is kept in this browser only.',
  save: 'Save',
  cancel: 'Cancel',
  saveAndSend: 'Save and send',
  rename: 'Rename',
  delete: 'Delete',
  edit: 'Edit',
  copy: 'Copy',
  copied: 'Copied',
  regenerate: 'Regenerate',
  retry: 'Retry',
  you: 'You',
  assistant: 'Assistant',
  stopped: 'stopped',
  interrupted: 'interrupted',
  streaming: 'writing…',
  errorTitle: 'The answer failed',
  networkError: 'The server could not be reached',
  confirmDelete: 'Delete the conversation “{title}”?',
  confirmClear: 'Delete every conversation?',
  presetName: 'Name of the preset',
  contextOmitted: '{omitted} earlier messages were not sent: the conversation is longer than the context of {model} ({tokens} tokens).',
  noConversations: 'No conversations',
  noMatches: 'Nothing found',
  importFailed: 'Import failed: {reason}',
  newConversation: 'New conversation',
  presetNone: 'No system prompt',
  presetCustom: 'Custom',
  notSent: 'not sent',
  noAnswer: 'no answer',
  unansweredTitle: 'This question has no answer yet.',
  tooLong: 'The message is too long: {length} characters, at most {limit}.',
  allProvidersFailed: 'All providers failed',
  details: 'Details',
  close: 'Close',
  wrongKey: 'The server refused this key. Check it and try again.',
  changeKey: 'API key',
  imageLink: 'image',
  conversationId: 'Conversation id',
  demoTriggers: 'Try: {triggers}',
  attach: 'Attach images (PNG, JPEG, GIF, WebP); you can also paste or drop them here',
  attachDisabled: '{model} does not take images: choose a model with image input to attach them',
  attachedImage: 'Attached image {number}',
  removeImage: 'Remove this image',
  imageType: 'not an image the models take ({type}); use PNG, JPEG, GIF or WebP',
  imageTooLarge: 'the image is {size} MiB; at most {limit} MiB per image',
  imageUnreadable: 'the image could not be read',
  tooManyImages: 'At most {limit} images per message',
  imagesAsText: '{count} images of this conversation were sent as “[image]”: {model} does not take images.',
  reasoning: 'Reasoning',
} as const;

export type MessageKey = keyof typeof en;
export type Language = 'en' | 'ru';

const ru: Record<MessageKey, string> = {
  newChat: 'Новый чат',
  search: 'Поиск по беседам',
  import: 'Импорт',
  clearAll: 'Удалить все',
  closeSidebar: 'Закрыть список',
  openSidebar: 'Беседы',
  model: 'Модель',
  provider: 'Провайдер',
  auto: 'авто',
  exportJson: 'Экспорт в JSON',
  exportMarkdown: 'Экспорт в Markdown',
  toggleTheme: 'Светлая или тёмная тема',
  demoBanner: 'Демо-режим: ответы дают встроенные эмуляторы провайдеров, а не настоящая модель.',
  empty: 'Начните беседу: напишите сообщение ниже.',
  systemPrompt: 'Системный промпт',
  savePreset: 'Сохранить как пресет',
  deletePreset: 'Удалить пресет',
  systemPlaceholder: 'Инструкции, которые отправляются первыми с каждым сообщением этой беседы',
  inputPlaceholder: 'Сообщение',
  send: 'Отправить',
  stop: 'Стоп',
  hint: 'Enter отправляет, Shift+Enter переносит строку',
  keyPrompt: 'Этому серверу нужен API-ключ. Он хранится только в этом браузере.',
  save: 'Сохранить',
  cancel: 'Отмена',
  saveAndSend: 'Сохранить и отправить',
  rename: 'Переименовать',
  delete: 'Удалить',
  edit: 'Изменить',
  copy: 'Копировать',
  copied: 'Скопировано',
  regenerate: 'Ответить заново',
  retry: 'Повторить',
  you: 'Вы',
  assistant: 'Ассистент',
  stopped: 'остановлено',
  interrupted: 'прервано',
  streaming: 'пишет…',
  errorTitle: 'Ответ не получен',
  networkError: 'Сервер недоступен',
  confirmDelete: 'Удалить беседу «{title}»?',
  confirmClear: 'Удалить все беседы?',
  presetName: 'Название пресета',
  contextOmitted: 'Первые сообщения ({omitted}) не отправлены: беседа длиннее контекста {model} ({tokens} токенов).',
  noConversations: 'Бесед нет',
  noMatches: 'Ничего не найдено',
  importFailed: 'Импорт не удался: {reason}',
  newConversation: 'Новая беседа',
  presetNone: 'Без системного промпта',
  presetCustom: 'Свой',
  notSent: 'не отправлено',
  noAnswer: 'без ответа',
  unansweredTitle: 'На этот вопрос ещё нет ответа.',
  tooLong: 'Сообщение слишком длинное: {length} символов, можно не больше {limit}.',
  allProvidersFailed: 'Все провайдеры не ответили',
  details: 'Подробности',
  close: 'Закрыть',
  wrongKey: 'Сервер не принял этот ключ. Проверьте его и попробуйте снова.',
  changeKey: 'API-ключ',
  imageLink: 'изображение',
  conversationId: 'Id беседы',
  demoTriggers: 'Попробуйте: {triggers}',
  attach: 'Прикрепить изображения (PNG, JPEG, GIF, WebP); их можно также вставить или перетащить сюда',
  attachDisabled: '{model} не принимает изображения: чтобы их прикрепить, выберите модель, которая их принимает',
  attachedImage: 'Изображение {number}',
  removeImage: 'Убрать это изображение',
  imageType: 'модели не принимают такой файл ({type}); подойдут PNG, JPEG, GIF и WebP',
  imageTooLarge: 'изображение занимает {size} МиБ; можно не больше {limit} МиБ',
  imageUnreadable: 'изображение не удалось прочитать',
  tooManyImages: 'Не больше {limit} изображений в сообщении',
  imagesAsText: 'Изображения этой беседы ({count}) отправлены как «[image]»: {model} не принимает изображения.',
  reasoning: 'Рассуждение',
};

const dictionaries: Record<Language, Record<MessageKey, string>> = { en, ru };
const STORAGE_KEY = 'g4f.language';
let language: Language = initialLanguage();

function initialLanguage(): Language {
  const saved = localStorage.getItem(STORAGE_KEY);
  if (saved === 'en' || saved === 'ru') return saved;
  return navigator.language.toLowerCase().startsWith('ru') ? 'ru' : 'en';
}

export function currentLanguage(): Language {
  return language;
}

export function t(key: MessageKey, values: Record<string, string | number> = {}): string {
  const template = dictionaries[language][key];
  return template.replace(/\{(\w+)\}/g, (whole, name: string) => (name in values ? String(values[name]) : whole));
}

export function setLanguage(next: Language): void {
  language = next;
  localStorage.setItem(STORAGE_KEY, next);
  applyTranslations(document);
}

/** Fills every marked element of `root` in the current language. */
export function applyTranslations(root: ParentNode): void {
  document.documentElement.lang = language;
  for (const element of root.querySelectorAll<HTMLElement>('[data-i18n]')) element.textContent = t(element.dataset.i18n as MessageKey);
  for (const element of root.querySelectorAll<HTMLInputElement>('[data-i18n-placeholder]')) {
    element.placeholder = t(element.dataset.i18nPlaceholder as MessageKey);
  }
  for (const element of root.querySelectorAll<HTMLElement>('[data-i18n-title]')) element.title = t(element.dataset.i18nTitle as MessageKey);
  for (const element of root.querySelectorAll<HTMLElement>('[data-i18n-aria-label]')) {
    element.setAttribute('aria-label', t(element.dataset.i18nAriaLabel as MessageKey));
  }
}

/** The server's default title, shown in the page's language. */
export const SERVER_DEFAULT_TITLE = 'New conversation';

export function displayTitle(title: string | undefined): string {
  return title === undefined || title === SERVER_DEFAULT_TITLE ? t('newConversation') : title;
}
