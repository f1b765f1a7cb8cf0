/**
 * Incremental rendering of a streamed Markdown answer, so that a very long answer never freezes
 * the page:
 * - text is only appended on each network read; the DOM is touched at most once per animation frame;
 * - the answer is cut into blocks at blank lines outside code fences: finished blocks are rendered
 *   once (with highlighting) and appended, only the last, open block is re-rendered each frame;
 * - a block that grows past FORCED_SPLIT characters without a blank line is cut at its last line
 *   end (a code fence is closed there and reopened in the next block);
 * - the scan for cut points only looks at text it has not seen.
 */
import { renderMarkdown } from './markdown.js';

/** Longest open block re-rendered per frame before it is cut at a line end. */
const FORCED_SPLIT = 2_000;
/** Time given to rendering finished blocks in one frame. */
const FRAME_BUDGET_MS = 12;

const FENCE = /^ {0,3}(`{3,}|~{3,})(.*)$/;

export interface StreamRenderer {
  append(text: string): void;
  /** Renders what is left as finished blocks; no more frames are used. */
  finish(): void;
  readonly text: string;
}

export interface StreamRendererOptions {
  /** Runs after each DOM update (keep the view scrolled, re-translate buttons...). */
  onUpdate?: (root: HTMLElement) => void;
}

export function createStreamRenderer(host: HTMLElement, options: StreamRendererOptions = {}): StreamRenderer {
  const stable = document.createElement('div');
  stable.className = 'blocks';
  const live = document.createElement('div');
  live.className = 'blocks live';
  host.replaceChildren(stable, live);

  let text = '';
  /** Start of the open block (everything before it is cut into blocks). */
  let blockStart = 0;
  /** Text prepended to the open block: a reopened code fence after a forced cut inside it. */
  let prefix = '';
  let scanPosition = 0;
  let fence: { marker: string; line: string } | undefined;
  /** Finished blocks not rendered yet, oldest first. */
  const pending: string[] = [];
  let frame: number | undefined;
  let liveRendered = -1;
  let finished = false;

  function cut(end: number, suffix = ''): void {
    const markdown = prefix + text.slice(blockStart, end) + suffix;
    if (markdown.trim() !== '') pending.push(markdown);
    blockStart = end;
  }

  /** Cuts blocks out of the complete lines not seen yet. */
  function scan(): void {
    for (;;) {
      const newline = text.indexOf('\n', scanPosition);
      if (newline < 0) return;
      const line = text.slice(scanPosition, newline);
      scanPosition = newline + 1;
      const match = FENCE.exec(line);
      if (match?.[1] !== undefined) {
        const marker = match[1];
        if (fence === undefined) fence = { marker, line };
        else if (marker[0] === fence.marker[0] && marker.length >= fence.marker.length && (match[2] ?? '').trim() === '') fence = undefined;
      }
      if (fence === undefined && (line.trim() === '' || scanPosition - blockStart > FORCED_SPLIT)) {
        cut(scanPosition);
        prefix = '';
      } else if (fence !== undefined && scanPosition - blockStart > FORCED_SPLIT) {
        cut(scanPosition, `${fence.marker}\n`);
        prefix = `${fence.line}\n`;
      }
    }
  }

  /** Renders pending blocks for at most `budgetMs`; true when none is left. */
  function drain(budgetMs: number): boolean {
    const started = performance.now();
    const fragment = document.createDocumentFragment();
    while (pending.length > 0 && performance.now() - started < budgetMs) {
      fragment.append(renderMarkdown(pending.shift() ?? '', { highlight: true }));
    }
    stable.append(fragment);
    return pending.length === 0;
  }

  function update(): void {
    frame = undefined;
    scan();
    if (!drain(FRAME_BUDGET_MS)) {
      // Catch up first; the open block waits so that nothing shows out of order.
      frame = requestAnimationFrame(update);
      options.onUpdate?.(host);
      return;
    }
    if (liveRendered !== text.length) {
      liveRendered = text.length;
      const tail = text.slice(blockStart);
      if (tail.trim() === '') live.replaceChildren();
      else live.replaceChildren(renderMarkdown(prefix + tail, { highlight: false }));
    }
    options.onUpdate?.(host);
  }

  return {
    get text() {
      return text;
    },
    append(piece) {
      if (finished || piece === '') return;
      text += piece;
      frame ??= requestAnimationFrame(update);
    },
    finish() {
      if (finished) return;
      finished = true;
      if (frame !== undefined) cancelAnimationFrame(frame);
      frame = undefined;
      scan();
      cut(text.length);
      drain(Number.POSITIVE_INFINITY);
      live.replaceChildren();
      options.onUpdate?.(host);
    },
  };
}

/** A finished message: rendered at once. */
export function renderStatic(host: HTMLElement, text: string): void {
  const blocks = document.createElement('div');
  blocks.className = 'blocks';
  blocks.append(renderMarkdown(text, { highlight: true }));
  host.replaceChildren(blocks);
}
