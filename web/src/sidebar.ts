/** The list of conversations: search, open, rename in place, delete. */
import { api, type Conversation } from './api.js';
import { confirmDialog } from './dialogs.js';
import { displayTitle, t } from './i18n.js';

export interface SidebarOptions {
  list: HTMLUListElement;
  search: HTMLInputElement;
  onOpen(id: string): void;
  onDeleted(id: string): void;
  onRenamed(conversation: Conversation): void;
  onError(error: unknown): void;
}

export interface Sidebar {
  refresh(): Promise<void>;
  setActive(id: string | undefined): void;
  conversations(): Conversation[];
}

export function createSidebar(options: SidebarOptions): Sidebar {
  const { list, search } = options;
  let items: Conversation[] = [];
  let active: string | undefined;
  let searchTimer: number | undefined;
  let generation = 0;

  search.addEventListener('input', () => {
    clearTimeout(searchTimer);
    searchTimer = window.setTimeout(() => void sidebar.refresh(), 200);
  });

  list.addEventListener('click', (event) => {
    const target = event.target as HTMLElement;
    const item = target.closest<HTMLLIElement>('li[data-id]');
    if (item === null) return;
    const id = item.dataset.id ?? '';
    const action = target.closest<HTMLElement>('[data-action]')?.dataset.action;
    if (action === 'rename') rename(item, id);
    else if (action === 'delete') void remove(id);
    else if (target.closest('input') === null) options.onOpen(id);
  });

  function rename(item: HTMLLIElement, id: string): void {
    const title = item.querySelector<HTMLElement>('.title');
    const conversation = items.find((entry) => entry.id === id);
    if (title === null || conversation === undefined || item.querySelector('input') !== null) return;
    const input = document.createElement('input');
    input.className = 'rename-input';
    input.value = conversation.title;
    input.setAttribute('aria-label', t('rename'));
    title.replaceWith(input);
    input.focus();
    input.select();
    let done = false;
    const finish = async (save: boolean): Promise<void> => {
      if (done) return;
      done = true;
      const value = input.value.trim();
      if (save && value !== '' && value !== conversation.title) {
        try {
          options.onRenamed(await api.update(id, { title: value }));
        } catch (error) {
          options.onError(error);
        }
      }
      await sidebar.refresh();
    };
    input.addEventListener('keydown', (event) => {
      if (event.key === 'Enter') void finish(true);
      else if (event.key === 'Escape') void finish(false);
    });
    input.addEventListener('blur', () => void finish(true));
  }

  async function remove(id: string): Promise<void> {
    const conversation = items.find((entry) => entry.id === id);
    if (!(await confirmDialog(t('confirmDelete', { title: displayTitle(conversation?.title) })))) return;
    try {
      await api.remove(id);
      options.onDeleted(id);
    } catch (error) {
      options.onError(error);
    }
    await sidebar.refresh();
  }

  function iconButton(action: string, label: string, text: string): HTMLButtonElement {
    const button = document.createElement('button');
    button.type = 'button';
    button.className = 'icon small';
    button.dataset.action = action;
    button.title = label;
    button.setAttribute('aria-label', label);
    button.textContent = text;
    return button;
  }

  function render(): void {
    const fragment = document.createDocumentFragment();
    for (const conversation of items) {
      const item = document.createElement('li');
      item.dataset.id = conversation.id;
      if (conversation.id === active) item.classList.add('active');
      const text = document.createElement('div');
      text.className = 'text';
      const title = document.createElement('span');
      title.className = 'title';
      title.textContent = displayTitle(conversation.title);
      text.append(title);
      if (conversation.snippet !== undefined) {
        const snippet = document.createElement('span');
        snippet.className = 'snippet';
        snippet.textContent = conversation.snippet;
        text.append(snippet);
      }
      item.append(text, iconButton('rename', t('rename'), '✎'), iconButton('delete', t('delete'), '×'));
      fragment.append(item);
    }
    if (items.length === 0) {
      const none = document.createElement('li');
      none.className = 'none';
      none.textContent = search.value.trim() === '' ? t('noConversations') : t('noMatches');
      fragment.append(none);
    }
    list.replaceChildren(fragment);
  }

  const sidebar: Sidebar = {
    async refresh() {
      const mine = ++generation;
      try {
        const result = await api.list(search.value.trim());
        if (mine !== generation) return;
        items = result.data;
        render();
      } catch (error) {
        options.onError(error);
      }
    },
    setActive(id) {
      active = id;
      for (const item of list.querySelectorAll<HTMLElement>('li[data-id]')) item.classList.toggle('active', item.dataset.id === id);
    },
    conversations: () => items,
  };
  return sidebar;
}
