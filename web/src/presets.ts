/** Preset system prompts: a few built-in ones (plain instructions, nothing else) and the user's own, kept in localStorage. */
import { currentLanguage } from './i18n.js';

export interface Preset {
  id: string;
  name: string;
  prompt: string;
  builtin: boolean;
}

const STORAGE_KEY = 'g4f.presets';

const BUILTIN: Array<{ id: string; name: { en: string; ru: string }; prompt: { en: string; ru: string } }> = [
  {
    id: 'assistant',
    name: { en: 'Helpful assistant', ru: 'Помощник' },
    prompt: {
      en: 'You are a helpful assistant. Answer clearly and accurately; say so when you are not sure.',
      ru: 'Ты полезный ассистент. Отвечай ясно и точно; если не уверен, так и скажи.',
    },
  },
  {
    id: 'concise',
    name: { en: 'Concise', ru: 'Кратко' },
    prompt: { en: 'Answer as briefly as possible, without losing accuracy.', ru: 'Отвечай как можно короче, но точно.' },
  },
  {
    id: 'programmer',
    name: { en: 'Programmer', ru: 'Программист' },
    prompt: {
      en: 'You are an experienced software engineer. Give working code in fenced blocks with the language named, and explain the key points briefly.',
      ru: 'Ты опытный программист. Давай рабочий код в блоках с указанием языка и кратко объясняй главное.',
    },
  },
  {
    id: 'translator',
    name: { en: 'Translator EN↔RU', ru: 'Переводчик EN↔RU' },
    prompt: {
      en: 'Translate the user’s text between English and Russian (into the other language), keeping meaning, tone and formatting. Reply with the translation only.',
      ru: 'Переводи текст пользователя между английским и русским (на другой язык), сохраняя смысл, тон и форматирование. Отвечай только переводом.',
    },
  },
  {
    id: 'teacher',
    name: { en: 'Patient teacher', ru: 'Терпеливый учитель' },
    prompt: {
      en: 'Explain step by step, with simple examples, and check understanding with a short question at the end.',
      ru: 'Объясняй шаг за шагом, на простых примерах, и в конце проверяй понимание коротким вопросом.',
    },
  },
];

function custom(): Preset[] {
  try {
    const value: unknown = JSON.parse(localStorage.getItem(STORAGE_KEY) ?? '[]');
    if (!Array.isArray(value)) return [];
    return value
      .filter(
        (item): item is { id: string; name: string; prompt: string } =>
          typeof item === 'object' && item !== null && typeof item.id === 'string' && typeof item.name === 'string' && typeof item.prompt === 'string',
      )
      .map((item) => ({ ...item, builtin: false }));
  } catch {
    return [];
  }
}

export function listPresets(): Preset[] {
  const language = currentLanguage();
  return [...BUILTIN.map((preset) => ({ id: preset.id, name: preset.name[language], prompt: preset.prompt[language], builtin: true })), ...custom()];
}

export function savePreset(name: string, prompt: string): Preset {
  const presets = custom().filter((preset) => preset.name !== name);
  const preset: Preset = { id: `custom-${Date.now().toString(36)}`, name, prompt, builtin: false };
  presets.push(preset);
  localStorage.setItem(STORAGE_KEY, JSON.stringify(presets.map(({ id, name: title, prompt: text }) => ({ id, name: title, prompt: text }))));
  return preset;
}

export function deletePreset(id: string): void {
  const presets = custom().filter((preset) => preset.id !== id);
  localStorage.setItem(STORAGE_KEY, JSON.stringify(presets.map(({ id: key, name, prompt }) => ({ id: key, name, prompt }))));
}

/**
 * The preset whose prompt is `prompt` (white space at the ends aside: a preset is saved trimmed):
 * `preferred` when it is one of them, else the first.
 */
export function presetOf(prompt: string, preferred?: string): Preset | undefined {
  const wanted = prompt.trim();
  const matching = listPresets().filter((preset) => preset.prompt.trim() === wanted);
  return matching.find((preset) => preset.id === preferred) ?? matching[0];
}
