/** Light and dark themes: the system's choice until the user picks one, which is remembered. */

export type Theme = 'light' | 'dark';
const STORAGE_KEY = 'g4f.theme';
const media = window.matchMedia('(prefers-color-scheme: dark)');

function saved(): Theme | undefined {
  const value = localStorage.getItem(STORAGE_KEY);
  return value === 'light' || value === 'dark' ? value : undefined;
}

export function currentTheme(): Theme {
  return saved() ?? (media.matches ? 'dark' : 'light');
}

function apply(): void {
  document.documentElement.dataset.theme = currentTheme();
}

export function initTheme(): void {
  apply();
  media.addEventListener('change', apply);
}

export function toggleTheme(): Theme {
  const next: Theme = currentTheme() === 'dark' ? 'light' : 'dark';
  localStorage.setItem(STORAGE_KEY, next);
  apply();
  return next;
}
