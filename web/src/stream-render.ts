/**
 * Incremental rendering of Markdown answers, so that a very long answer never freezes the page:
 * - text is only appended on each network read; the DOM is touched in animation frames, through
 *   the page's shared render queue (a time budget per frame, see render-queue.ts);
 * - the answer is cut into blocks where a cut cannot change what is shown: finished blocks are
 *   rendered once (with highlighting) and appended, only the last, open block is re-rendered;
 * - a line scanner follows the block structure (code fences, also inside list items and block
 *   quotes, list items, block quotes, raw HTML blocks, paragraphs) and cuts only:
 *   - before a line that starts at column 0 after a blank line, outside any code fence or raw HTML
 *     block, unless it is a list marker after a list or a `>` after a block quote (it could
 *     continue them: a loose list, a quote); lines indented after a blank line may belong to a
 *     list item, so a list with indented code is one block;
 *   - past FORCED_SPLIT characters: at a line end inside a top-level code fence (the fence is
 *     closed there and reopened in the next block; the pieces of one code block show and copy as
 *     one), or before a plain line of a top-level paragraph (a paragraph longer than that shows as
 *     several);
 * - the code of a fence inside a list item or block quote is taken out of its block: it is
 *   rendered on its own in pieces of at most FORCED_SPLIT characters (each highlighted once), and
 *   the block is rendered with one placeholder line in its place, which the pieces then replace;
 *   so the cost of re-rendering an open list does not grow with the code inside it;
 * - the scan for cut points only looks at text it has not seen;
 * - a stored answer is rendered the same way, all of it as finished blocks.
 */
import { renderMarkdown } from './markdown.js';
import { schedule, unschedule } from './render-queue.js';

/** Longest open block (or piece of code) before it is cut at a line end, where that is safe. */
const FORCED_SPLIT = 2_000;

/** A fence opening: its indentation, its marker, its info string (no backtick after backticks). */
const FENCE_OPEN = /^( {0,3})(`{3,}|~{3,})(.*)$/;
const FENCE_CLOSE = /^ {0,3}(`{3,}|~{3,})[ \t]*$/;
const QUOTE = /^ {0,3}> ?/;
const LIST_ITEM = /^( {0,3})([-+*]|\d{1,9}[.)])([ \t]*)(.*)$/;
const THEMATIC_BREAK = /^ {0,3}([-*_])[ \t]*(?:\1[ \t]*){2,}$/;
const HEADING = /^ {0,3}#{1,6}(?:[ \t]|$)/;
const SETEXT_UNDERLINE = /^ {0,3}(?:=+|-+)[ \t]*$/;
/** Raw HTML blocks that may hold blank lines, with what ends them. */
const RAW_HTML: Array<[RegExp, RegExp]> = [
  [/^ {0,3}<(?:pre|script|style|textarea)(?:[\s>]|$)/i, /<\/(?:pre|script|style|textarea)>/i],
  [/^ {0,3}<!--/, /-->/],
];

/** `line` without its first `columns` columns of indentation (a tab reaches the next multiple of 4), or undefined if it is indented less. */
function dedent(line: string, columns: number): string | undefined {
  let column = 0;
  let index = 0;
  while (column < columns) {
    const character = line[index];
    if (character === ' ') {
      column += 1;
    } else if (character === '\t') {
      const next = column + 4 - (column % 4);
      if (next > columns) return ' '.repeat(next - columns) + line.slice(index + 1);
      column = next;
    } else {
      return undefined;
    }
    index += 1;
  }
  return line.slice(index);
}

function columnsOf(spaces: string): number {
  let column = 0;
  for (const character of spaces) column = character === '\t' ? column + 4 - (column % 4) : column + 1;
  return column;
}

/** A line (after its containers' markers) that starts a block, so it is no lazy continuation of a paragraph. */
function startsBlock(rest: string): boolean {
  const item = LIST_ITEM.exec(rest);
  return (
    QUOTE.test(rest) ||
    FENCE_OPEN.test(rest) ||
    HEADING.test(rest) ||
    THEMATIC_BREAK.test(rest) ||
    (item !== null && item[3] !== '' && item[4] !== '' && (!/\d/.test(item[2] ?? '') || /^0*1\D/.test(item[2] ?? '')))
  );
}

let placeholders = 0;

export interface StreamRenderer {
  append(text: string): void;
  /** Renders what is left as finished blocks, over the next frames; resolves when all is shown. */
  finish(): Promise<void>;
  /** Stops rendering (the element is going away). */
  cancel(): void;
  readonly text: string;
}

export interface StreamRendererOptions {
  /** Runs after each DOM update (keep the view scrolled, re-translate buttons...). */
  onUpdate?: (root: HTMLElement) => void;
  /** Render before other queued work (what the user is looking at). */
  urgent?: boolean;
}

/** The code of a fence inside a list item or block quote, rendered apart from its block. */
interface DetachedCode {
  /** The placeholder's code: the block renders it as the code block that the pieces replace. */
  token: string;
  /** The line put in the block's Markdown instead of the code: the containers' prefix and the token. */
  placeholder: string;
  /** The fence's opening and closing lines, without containers and indentation. */
  open: string;
  close: string;
  /** Where the code starts in the text, and ends (-1 while the fence is open). */
  start: number;
  end: number;
  /** Finished pieces of the code (lines with their line ends) and, once rendered, their elements. */
  pieces: string[];
  rendered: HTMLElement[];
  /** Code after the finished pieces. */
  current: string;
}

interface Block {
  markdown: string;
  /** The Markdown without placeholders (rendered instead if a placeholder is not found). */
  raw: string;
  /** The block continues the code block the previous one ended with. */
  continuation: boolean;
  codes: DetachedCode[];
}

type Work = { block: Block } | { code: DetachedCode; index: number };

interface Container {
  quote: boolean;
  /** Columns of a list item's content. */
  indent: number;
}

interface OpenFence {
  marker: string;
  indent: number;
  /** Containers the fence is in. */
  depth: number;
  /** The opening line as written (reopens a top-level fence after a forced cut). */
  line: string;
  code: DetachedCode | undefined;
}

function renderPiece(code: DetachedCode, piece: string, highlight: boolean): HTMLElement {
  const fragment = renderMarkdown(`${code.open}\n${piece}${code.close}\n`, { highlight });
  const element = fragment.firstElementChild;
  if (element instanceof HTMLElement) return element;
  const empty = document.createElement('div');
  empty.className = 'code-block';
  return empty;
}

/**
 * Puts the pieces of each detached code in place of its placeholder. False if a placeholder is not
 * found (the scanner read the structure differently from the renderer): render the raw text then.
 */
function fillPlaceholders(fragment: DocumentFragment, codes: DetachedCode[], live: boolean): boolean {
  if (codes.length === 0) return true;
  const byToken = new Map(codes.map((code) => [`${code.token}\n`, code]));
  const found = new Map<DetachedCode, Element>();
  for (const block of fragment.querySelectorAll('.code-block')) {
    const code = byToken.get(block.querySelector('code')?.textContent ?? '');
    if (code !== undefined) found.set(code, block);
  }
  if (found.size !== codes.length) return false;
  for (const [code, block] of found) {
    const elements = [...code.rendered];
    if (live && (code.current !== '' || code.pieces.length === 0)) elements.push(renderPiece(code, code.current, false));
    elements.forEach((element, index) => {
      element.classList.toggle('continued', index > 0);
      element.classList.toggle('continues', index < elements.length - 1);
      if (index > 0) element.querySelector('.code-head')?.remove();
    });
    block.replaceWith(...elements);
  }
  return true;
}

export function createStreamRenderer(host: HTMLElement, options: StreamRendererOptions = {}): StreamRenderer {
  const stable = document.createElement('div');
  stable.className = 'blocks';
  const live = document.createElement('div');
  live.className = 'blocks live';
  host.replaceChildren(stable, live);
  host.dataset.rendering = 'true';

  let text = '';
  /** Start of the open block (everything before it is cut into blocks). */
  let blockStart = 0;
  /** Text prepended to the open block: a reopened code fence after a forced cut inside it. */
  let prefix = '';
  let scanPosition = 0;
  /** The block structure at the scan position. */
  let containers: Container[] = [];
  let fence: OpenFence | undefined;
  /** The last line was paragraph text (the next may continue it lazily). */
  let paragraph = false;
  /** The last line was blank. */
  let blank = false;
  /** The end of the raw HTML block the scan is in. */
  let html: RegExp | undefined;
  /** What the last top-level construct was: a following marker could continue it. */
  let lastTop: 'list' | 'quote' | 'other' = 'other';
  /** Detached codes of the open block. */
  let codes: DetachedCode[] = [];
  /** Work not done yet, oldest first: finished blocks to show, pieces of code to render. */
  const pending: Work[] = [];
  let liveRendered = -1;
  let finished = false;
  let resolveDone: (() => void) | undefined;
  const done = new Promise<void>((resolve) => {
    resolveDone = resolve;
  });

  /** The Markdown of text[from, to) with each detached code replaced by its placeholder. */
  function structure(from: number, to: number, inside: DetachedCode[]): string {
    let markdown = '';
    let position = from;
    for (const code of inside) {
      markdown += `${text.slice(position, code.start)}${code.placeholder}\n`;
      position = code.end < 0 ? to : code.end;
    }
    return markdown + text.slice(position, to);
  }

  function cut(end: number, suffix = ''): void {
    const markdown = prefix + structure(blockStart, end, codes) + suffix;
    if (markdown.trim() !== '') {
      pending.push({ block: { markdown, raw: prefix + text.slice(blockStart, end) + suffix, continuation: prefix !== '', codes } });
    }
    codes = [];
    blockStart = end;
  }

  function finishPiece(code: DetachedCode): void {
    code.pieces.push(code.current);
    code.current = '';
    pending.push({ code, index: code.pieces.length - 1 });
  }

  function endFence(end: number): void {
    const code = fence?.code;
    fence = undefined;
    if (code === undefined) return;
    code.end = end;
    if (code.current !== '' || code.pieces.length === 0) finishPiece(code);
  }

  /** Reads one line (`end`: after its line end); cuts before or after it where that is safe. */
  function readLine(line: string, start: number, end: number): void {
    const columnZero = /^[^\s]/.test(line);
    if (blank && columnZero && fence === undefined && html === undefined) {
      const continues = (lastTop === 'list' && LIST_ITEM.test(line) && !THEMATIC_BREAK.test(line)) || (lastTop === 'quote' && line.startsWith('>'));
      if (!continues) {
        cut(start);
        prefix = '';
      }
    } else if (
      paragraph &&
      containers.length === 0 &&
      fence === undefined &&
      html === undefined &&
      start - blockStart > FORCED_SPLIT &&
      columnZero &&
      !startsBlock(line) &&
      !LIST_ITEM.test(line) &&
      !SETEXT_UNDERLINE.test(line) &&
      !line.includes('|')
    ) {
      cut(start);
      prefix = '';
    }

    let rest = line;
    let matched = 0;
    for (const container of containers) {
      if (container.quote) {
        const marker = QUOTE.exec(rest);
        if (marker === null) break;
        rest = rest.slice(marker[0].length);
      } else if (rest.trim() === '') {
        rest = '';
      } else {
        const inner = dedent(rest, container.indent);
        if (inner === undefined) break;
        rest = inner;
      }
      matched += 1;
    }

    if (fence !== undefined) {
      if (matched >= fence.depth) {
        const close = FENCE_CLOSE.exec(rest);
        if (close?.[1] !== undefined && close[1][0] === fence.marker[0] && close[1].length >= fence.marker.length) {
          endFence(start);
        } else if (fence.code !== undefined) {
          const code = fence.code;
          code.current += `${rest.replace(new RegExp(`^ {0,${fence.indent}}`), '')}\n`;
          if (code.current.length > FORCED_SPLIT) finishPiece(code);
        } else if (end - blockStart > FORCED_SPLIT) {
          cut(end, `${fence.marker}\n`);
          prefix = `${fence.line}\n`;
        }
        paragraph = false;
        blank = false;
        return;
      }
      // A container of the fence ended: so did the fence.
      endFence(start);
    }

    const lineBlank = rest.trim() === '';
    if (matched < containers.length) {
      if (paragraph && !lineBlank && !startsBlock(rest)) {
        // A lazy continuation line of the paragraph: the containers stay open.
        blank = false;
        return;
      }
      containers = containers.slice(0, matched);
    }

    if (html !== undefined) {
      if (html.test(line)) html = undefined;
      blank = false;
      return;
    }

    for (;;) {
      const quote = QUOTE.exec(rest);
      if (quote !== null) {
        containers.push({ quote: true, indent: 0 });
        rest = rest.slice(quote[0].length);
        paragraph = false;
        continue;
      }
      if (THEMATIC_BREAK.test(rest)) break;
      const item = LIST_ITEM.exec(rest);
      if (item === null || (item[3] === '' && item[4] !== '')) break;
      const [, indentation = '', marker = '', spaces = '', content = ''] = item;
      const empty = content.trim() === '';
      // An empty item, or a numbered one not starting at 1, cannot interrupt a paragraph.
      if (paragraph && (empty || (/\d/.test(marker) && !/^0*1\D/.test(marker)))) break;
      const width = indentation.length + marker.length;
      const gap = columnsOf(spaces);
      if (empty) {
        containers.push({ quote: false, indent: width + 1 });
        rest = '';
      } else if (gap >= 5) {
        containers.push({ quote: false, indent: width + 1 });
        rest = ' '.repeat(gap - 1) + content;
      } else {
        containers.push({ quote: false, indent: width + gap });
        rest = content;
      }
      paragraph = false;
    }

    if (rest.trim() === '') {
      paragraph = false;
      blank = true;
      return;
    }
    blank = false;
    const first = containers[0];
    lastTop = first === undefined ? 'other' : first.quote ? 'quote' : 'list';

    const open = FENCE_OPEN.exec(rest);
    const marker = open?.[2];
    if (open !== null && marker !== undefined && !(marker[0] === '`' && (open[3] ?? '').includes('`'))) {
      const indent = open[1]?.length ?? 0;
      fence = { marker, indent, depth: containers.length, line, code: undefined };
      if (containers.length > 0) {
        placeholders += 1;
        const token = `code-placeholder-${placeholders}-${Math.random().toString(36).slice(2)}`;
        const lead = containers.map((container) => (container.quote ? '> ' : ' '.repeat(container.indent))).join('');
        fence.code = {
          token,
          placeholder: `${lead}${' '.repeat(indent)}${token}`,
          open: `${marker}${open[3] ?? ''}`,
          close: marker,
          start: end,
          end: -1,
          pieces: [],
          rendered: [],
          current: '',
        };
        codes.push(fence.code);
      }
      paragraph = false;
      return;
    }
    if (containers.length === 0) {
      const raw = RAW_HTML.find(([opening]) => opening.test(rest));
      if (raw !== undefined) {
        if (!raw[1].test(rest)) html = raw[1];
        paragraph = false;
        return;
      }
    }
    if (HEADING.test(rest) || THEMATIC_BREAK.test(rest) || (!paragraph && dedent(rest, 4) !== undefined)) {
      paragraph = false;
      return;
    }
    paragraph = true;
  }

  /** Cuts blocks out of the complete lines not seen yet (with `all`, the last line too). */
  function scan(all = false): void {
    for (;;) {
      let newline = text.indexOf('\n', scanPosition);
      if (newline < 0) {
        if (!all || scanPosition >= text.length) return;
        newline = text.length;
      }
      const start = scanPosition;
      const line = text.slice(start, newline).replace(/\r$/, '');
      scanPosition = Math.min(newline + 1, text.length);
      readLine(line, start, scanPosition);
      if (newline === text.length) return;
    }
  }

  /**
   * Appends a rendered block. A continuation's code block is drawn as the rest of the one before
   * it (no head of its own; Copy on the first copies all the pieces). Pieces stay separate
   * elements: one giant element would be laid out again with every piece added.
   */
  function place(block: Block): void {
    let fragment = renderMarkdown(block.markdown, { highlight: true });
    if (!fillPlaceholders(fragment, block.codes, false)) fragment = renderMarkdown(block.raw, { highlight: true });
    const first = fragment.firstElementChild;
    const previous = stable.lastElementChild;
    if (block.continuation && previous?.classList.contains('code-block') === true && first?.classList.contains('code-block') === true) {
      previous.classList.add('continues');
      first.classList.add('continued');
      first.querySelector('.code-head')?.remove();
    }
    stable.append(fragment);
  }

  function work(item: Work): void {
    if ('block' in item) place(item.block);
    else item.code.rendered[item.index] = renderPiece(item.code, item.code.pieces[item.index] ?? '', true);
  }

  const step = (deadline: number): boolean => {
    scan();
    while (pending.length > 0) {
      const item = pending.shift();
      if (item !== undefined) work(item);
      if (performance.now() >= deadline) break;
    }
    if (pending.length > 0) {
      // Catch up first; the open block waits so that nothing shows out of order.
      options.onUpdate?.(host);
      return false;
    }
    if (finished) {
      live.replaceChildren();
      delete host.dataset.rendering;
      options.onUpdate?.(host);
      resolveDone?.();
      return true;
    }
    if (liveRendered !== text.length) {
      liveRendered = text.length;
      const tail = text.slice(blockStart);
      if (tail.trim() === '') {
        live.replaceChildren();
      } else {
        const fragment = renderMarkdown(prefix + structure(blockStart, text.length, codes), { highlight: false });
        live.replaceChildren(fillPlaceholders(fragment, codes, true) ? fragment : renderMarkdown(prefix + tail, { highlight: false }));
      }
    }
    options.onUpdate?.(host);
    return true;
  };

  return {
    get text() {
      return text;
    },
    append(piece) {
      if (finished || piece === '') return;
      text += piece;
      schedule(step, options.urgent === true);
    },
    finish() {
      if (!finished) {
        finished = true;
        scan(true);
        if (fence !== undefined) endFence(text.length);
        cut(text.length);
        schedule(step, options.urgent === true);
      }
      return done;
    },
    cancel() {
      finished = true;
      pending.length = 0;
      unschedule(step);
      delete host.dataset.rendering;
      resolveDone?.();
    },
  };
}

const rendering = new WeakMap<HTMLElement, StreamRenderer>();

/** A finished message, rendered over the next frames like a streamed one. */
export function renderStatic(host: HTMLElement, text: string, options: StreamRendererOptions = {}): StreamRenderer {
  const renderer = createStreamRenderer(host, options);
  rendering.set(host, renderer);
  renderer.append(text);
  void renderer.finish().then(() => rendering.delete(host));
  return renderer;
}

/** Stops rendering the stored messages inside `root` (they are being removed). */
export function cancelRendering(root: ParentNode): void {
  for (const host of root.querySelectorAll<HTMLElement>('[data-rendering]')) rendering.get(host)?.cancel();
}
