/**
 * Model output is untrusted: Markdown is rendered by marked, then sanitised by DOMPurify (no
 * script, no event handler, no style, no form, no frame), links keep only http(s)/mailto targets
 * and open in a new tab with rel="noopener noreferrer"; images become links (raw <img> is dropped). Code blocks get highlight.js classes and a
 * copy button (added as DOM nodes after sanitising).
 */
import DOMPurify from 'dompurify';
import { t } from './i18n.js';
import { Marked, type Tokens } from 'marked';
import hljs from 'highlight.js/lib/core';
import bash from 'highlight.js/lib/languages/bash';
import c from 'highlight.js/lib/languages/c';
import cpp from 'highlight.js/lib/languages/cpp';
import csharp from 'highlight.js/lib/languages/csharp';
import css from 'highlight.js/lib/languages/css';
import diff from 'highlight.js/lib/languages/diff';
import go from 'highlight.js/lib/languages/go';
import java from 'highlight.js/lib/languages/java';
import javascript from 'highlight.js/lib/languages/javascript';
import json from 'highlight.js/lib/languages/json';
import kotlin from 'highlight.js/lib/languages/kotlin';
import markdown from 'highlight.js/lib/languages/markdown';
import php from 'highlight.js/lib/languages/php';
import plaintext from 'highlight.js/lib/languages/plaintext';
import python from 'highlight.js/lib/languages/python';
import ruby from 'highlight.js/lib/languages/ruby';
import rust from 'highlight.js/lib/languages/rust';
import sql from 'highlight.js/lib/languages/sql';
import swift from 'highlight.js/lib/languages/swift';
import typescript from 'highlight.js/lib/languages/typescript';
import xml from 'highlight.js/lib/languages/xml';
import yaml from 'highlight.js/lib/languages/yaml';

const languages = {
  bash,
  c,
  cpp,
  csharp,
  css,
  diff,
  go,
  java,
  javascript,
  json,
  kotlin,
  markdown,
  php,
  plaintext,
  python,
  ruby,
  rust,
  sql,
  swift,
  typescript,
  xml,
  yaml,
};
for (const [name, definition] of Object.entries(languages)) hljs.registerLanguage(name, definition);
hljs.registerAliases(['sh', 'shell', 'zsh'], { languageName: 'bash' });
hljs.registerAliases(['js', 'jsx', 'mjs'], { languageName: 'javascript' });
hljs.registerAliases(['ts', 'tsx'], { languageName: 'typescript' });
hljs.registerAliases(['py'], { languageName: 'python' });
hljs.registerAliases(['html', 'svg'], { languageName: 'xml' });
hljs.registerAliases(['yml'], { languageName: 'yaml' });
hljs.registerAliases(['md'], { languageName: 'markdown' });
hljs.registerAliases(['text', 'txt'], { languageName: 'plaintext' });

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (character) => `&#${character.charCodeAt(0)};`);
}

/**
 * The content of a code block as CommonMark defines it: its lines, each with its line end (a
 * block ending with a blank line ends with two). marked's `text` is not that: it leaves out the
 * last line end, except when the last line is empty, where it keeps it; its own renderer puts the
 * line end back the same way as here.
 */
function codeContent(text: string): string {
  return text === '' ? '' : `${text.replace(/\n$/, '')}\n`;
}

function codeRenderer(highlight: boolean) {
  return ({ text, lang }: Tokens.Code): string => {
    const language = (lang ?? '').trim().split(/\s+/)[0]?.toLowerCase() ?? '';
    const known = language !== '' && hljs.getLanguage(language) !== undefined;
    // No language given: plain text (guessing costs time and often guesses wrong).
    const label = language === '' ? 'text' : language;
    // The <code> element holds exactly the block's content: Copy copies its text.
    const code = codeContent(text);
    const html = highlight && known ? hljs.highlight(code, { language, ignoreIllegals: true }).value : escapeHtml(code);
    return `<pre data-language="${escapeHtml(label)}"><code class="hljs">${html}</code></pre>\n`;
  };
}

/**
 * Images are shown as links: the page's content policy loads no image from elsewhere, and an
 * answer should not make the browser fetch anything by itself.
 */
function imageRenderer({ href, text }: Tokens.Image): string {
  return `<a href="${escapeHtml(href)}" class="image-link">🖼 ${escapeHtml(text === '' ? t('imageLink') : text)}</a>`;
}

const highlighted = new Marked({ gfm: true, breaks: false, renderer: { code: codeRenderer(true), image: imageRenderer } });
const plain = new Marked({ gfm: true, breaks: false, renderer: { code: codeRenderer(false), image: imageRenderer } });

const SAFE_LINK = /^(?:https?:|mailto:)/i;

DOMPurify.addHook('afterSanitizeAttributes', (node) => {
  if (node.nodeName === 'A') {
    const href = node.getAttribute('href') ?? '';
    if (!SAFE_LINK.test(href.trim())) node.removeAttribute('href');
    node.setAttribute('target', '_blank');
    node.setAttribute('rel', 'noopener noreferrer');
  }
});

const PURIFY_CONFIG = {
  FORBID_TAGS: [
    'img',
    'picture',
    'video',
    'audio',
    'source',
    'style',
    'form',
    'input',
    'button',
    'textarea',
    'select',
    'option',
    'iframe',
    'frame',
    'object',
    'embed',
    'link',
    'meta',
    'base',
    'svg',
    'math',
  ],
  FORBID_ATTR: ['style', 'srcset', 'action', 'formaction'],
  ALLOW_DATA_ATTR: false,
  ADD_ATTR: ['target', 'data-language'],
};

/** Sanitised HTML of `text` as a fragment. */
export function renderMarkdown(text: string, options: { highlight: boolean }): DocumentFragment {
  const html = (options.highlight ? highlighted : plain).parse(text, { async: false });
  const fragment = DOMPurify.sanitize(html, { ...PURIFY_CONFIG, RETURN_DOM_FRAGMENT: true });
  decorateCodeBlocks(fragment);
  return fragment;
}

/** Wraps each `<pre>` in a block with its language and a copy button. */
function decorateCodeBlocks(root: DocumentFragment): void {
  for (const pre of root.querySelectorAll('pre')) {
    const block = document.createElement('div');
    block.className = 'code-block';
    const head = document.createElement('div');
    head.className = 'code-head';
    const label = document.createElement('span');
    label.textContent = pre.dataset.language ?? '';
    const copy = document.createElement('button');
    copy.type = 'button';
    copy.className = 'copy-code small';
    copy.dataset.action = 'copy-code';
    copy.dataset.i18n = 'copy';
    copy.textContent = t('copy');
    head.append(label, copy);
    pre.replaceWith(block);
    block.append(head, pre);
  }
}

/** Copies text, with a fallback where the Clipboard API is not allowed. */
export async function copyText(text: string): Promise<void> {
  try {
    await navigator.clipboard.writeText(text);
    return;
  } catch {
    // fall back below
  }
  const area = document.createElement('textarea');
  area.value = text;
  area.setAttribute('readonly', '');
  area.className = 'offscreen';
  document.body.append(area);
  area.select();
  document.execCommand('copy');
  area.remove();
}
