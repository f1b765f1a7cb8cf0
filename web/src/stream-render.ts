/**
 * Incremental rendering of Markdown answers, so that a very long answer never freezes the page:
 * - text is only appended on each network read; the DOM is touched in animation frames, through
 *   the page's shared render queue (a time budget per frame, see render-queue.ts);
 * - the answer is cut into blocks at blank lines outside code fences: finished blocks are rendered
 *   once (with highlighting) and appended, only the last, open block is re-rendered;
 * - a block that grows past FORCED_SPLIT characters without a blank line is cut at its last line
 *   end (a code fence is closed there and reopened in the next block); the pieces of one code
 *   block show and copy as one block;
 * - the scan for cut points only looks at text it has not seen;
 * - a stored answer is rendered the same way, all of it as finished blocks.
 */
import { renderMarkdown } from './markdown.js';
import { schedule, unschedule } from './render-queue.js';

/** Longest open block before it is cut at a line end (also bounds the cost of one block). */
const FORCED_SPLIT = 2_000;

const FENCE = /^ {0,3}(`{3,}|~{3,})(.*)$/;

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

interface Block {
  markdown: string;
  /** The block continues the code block the previous one ended with. */
  continuation: boolean;
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
  let fence: { marker: string; line: string } | undefined;
  /** Finished blocks not rendered yet, oldest first. */
  const pending: Block[] = [];
  let liveRendered = -1;
  let finished = false;
  let resolveDone: (() => void) | undefined;
  const done = new Promise<void>((resolve) => {
    resolveDone = resolve;
  });

  function cut(end: number, suffix = ''): void {
    const markdown = prefix + text.slice(blockStart, end) + suffix;
    if (markdown.trim() !== '') pending.push({ markdown, continuation: prefix !== '' });
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

  /**
   * Appends a rendered block. A continuation's code block is drawn as the rest of the one before
   * it (no head of its own; Copy on the first copies all the pieces). Pieces stay separate
   * elements: one giant element would be laid out again with every piece added.
   */
  function place(block: Block): void {
    const fragment = renderMarkdown(block.markdown, { highlight: true });
    const first = fragment.firstElementChild;
    const previous = stable.lastElementChild;
    if (block.continuation && previous?.classList.contains('code-block') === true && first?.classList.contains('code-block') === true) {
      previous.classList.add('continues');
      first.classList.add('continued');
      first.querySelector('.code-head')?.remove();
    }
    stable.append(fragment);
  }

  const step = (deadline: number): boolean => {
    scan();
    while (pending.length > 0) {
      const block = pending.shift();
      if (block !== undefined) place(block);
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
      if (tail.trim() === '') live.replaceChildren();
      else live.replaceChildren(renderMarkdown(prefix + tail, { highlight: false }));
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
        scan();
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
