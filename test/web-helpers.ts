/**
 * Shared set-up of the web page's end-to-end tests and benchmark: emulated upstreams, the real
 * server (`startServer`) routed to them, the page bundle, and headless Chromium.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before } from 'node:test';
import { crc32, deflateSync } from 'node:zlib';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { createRuntime } from '../src/core/runtime.js';
import { createEmulator, type Emulator } from '../src/emulators/index.js';
import { createRouter } from '../src/routing/index.js';
import { startServer, type RunningServer } from '../src/server/index.js';

export const ROOT = fileURLToPath(new URL('..', import.meta.url));
export const SCREENSHOTS = join(ROOT, 'artifacts', 'screenshots');
/** The screenshots shown in the README (copied there by the screenshot test). */
export const DOC_SCREENSHOTS = join(ROOT, 'docs', 'screenshots');
export const CHROMIUM = '/usr/bin/chromium';
export const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/** Builds web/dist once per process (the server serves it). */
let built = false;
export function buildPage(): void {
  if (built) return;
  execFileSync(process.execPath, [join(ROOT, 'scripts', 'build-web.mjs')], { stdio: 'inherit' });
  built = true;
}

export function chromiumAvailable(): boolean {
  return existsSync(CHROMIUM);
}

export function launchBrowser(): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
}

export interface WebStack {
  url: string;
  dataDir: string;
  lockchat: Emulator;
  openai: Emulator;
  server: RunningServer;
  close(): Promise<void>;
}

/** Emulators (echo answers by default), a router with no retry and no circuit breaking, the server on a fresh data dir. */
export async function startWebStack(options: { dataDir?: string; apiKeys?: string[] } = {}): Promise<WebStack> {
  const lockchat = await createEmulator({ protocol: 'lockchat' });
  const openai = await createEmulator({ protocol: 'openai' });
  const runtime = createRuntime({ providers: { Lockchat: { baseUrl: lockchat.url }, Mishalsgpt: { baseUrl: openai.url } } });
  const router = createRouter({ runtime, retry: { attempts: 1 }, circuit: { failureThreshold: 1000 } });
  const dataDir = options.dataDir ?? mkdtempSync(join(tmpdir(), 'g4f-web-'));
  const server = await startServer({
    port: 0,
    router,
    dataDir,
    quiet: true,
    ...(options.apiKeys === undefined ? {} : { apiKeys: options.apiKeys }),
  });
  return {
    url: server.url,
    dataDir,
    lockchat,
    openai,
    server,
    async close() {
      await server.close(2_000);
      await Promise.all([lockchat.close(), openai.close()]);
      await runtime.close();
      if (options.dataDir === undefined) rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

export interface PageOptions {
  width?: number;
  height?: number;
  colorScheme?: 'light' | 'dark';
  locale?: string;
  /** Default `reduce`: no transitions, so screenshots never catch one halfway. */
  reducedMotion?: 'reduce' | 'no-preference';
  /** A phone: a touch screen and no mouse (tap, not click); give a phone's width and height too. */
  touch?: boolean;
}

/** A fresh browser context (empty localStorage) on the page, ready when the page says so. */
export async function openPage(browser: Browser, url: string, options: PageOptions = {}): Promise<{ context: BrowserContext; page: Page }> {
  const context = await browser.newContext({
    viewport: { width: options.width ?? 1280, height: options.height ?? 800 },
    colorScheme: options.colorScheme ?? 'light',
    locale: options.locale ?? 'en-US',
    reducedMotion: options.reducedMotion ?? 'reduce',
    ...(options.touch === true ? { hasTouch: true, isMobile: true } : {}),
  });
  const page = await context.newPage();
  page.on('dialog', (dialog) => void dialog.accept());
  await page.goto(url);
  await page.waitForSelector('body[data-ready="true"]');
  return { context, page };
}

/** Selects gpt-4 (served by Lockchat alone), types and sends with Enter. */
export async function sendMessage(page: Page, text: string): Promise<void> {
  await page.selectOption('#model', 'gpt-4');
  await page.fill('#input', text);
  await page.press('#input', 'Enter');
}

export async function screenshot(page: Page, name: string): Promise<string> {
  mkdirSync(SCREENSHOTS, { recursive: true });
  const path = join(SCREENSHOTS, `${name}.png`);
  await page.screenshot({ path });
  return path;
}

export interface WebFixture {
  readonly stack: WebStack;
  readonly browser: Browser;
}

/** Inside a describe: the page built, the server stack and a browser started before its tests, both closed after. */
export function useWebStack(): WebFixture {
  let stack: WebStack | undefined;
  let browser: Browser | undefined;
  before(async () => {
    buildPage();
    stack = await startWebStack();
    browser = await launchBrowser();
  });
  after(async () => {
    await browser?.close();
    await stack?.close();
  });
  return {
    get stack() {
      if (stack === undefined) throw new Error('the web stack is not started');
      return stack;
    },
    get browser() {
      if (browser === undefined) throw new Error('the browser is not started');
      return browser;
    },
  };
}

/** What a page shows of rendered Markdown: normalised text, element counts, list starts, where each code block sits and its code. */
export interface RenderedShape {
  text: string;
  counts: Record<string, number>;
  listStarts: string[];
  /** List items whose content is wrapped in paragraphs (a loose list). */
  looseItems: number;
  /** Each code block (its pieces joined, as Copy joins them): its enclosing lists and quotes, and its code. */
  codes: Array<{ path: string; code: string }>;
}

/**
 * A script for `page.evaluate`: the page's own Markdown renderer (web/src/markdown.ts, bundled
 * apart) as `window.renderWhole(text)`, which renders the whole text at once and returns its
 * shape, and `window.renderedShape(element)`, the shape of what an element shows.
 */
export async function shapeScript(): Promise<string> {
  const { build } = await import('esbuild');
  const contents = `
    import { renderMarkdown } from './web/src/markdown.ts';
    function renderedShape(root) {
      const counts = {};
      for (const tag of ['ol', 'ul', 'li', 'blockquote', 'p', 'h1', 'h2', 'h3', 'table', 'hr']) counts[tag] = root.querySelectorAll(tag).length;
      counts.codeBlocks = root.querySelectorAll('.code-block:not(.continued)').length;
      const codes = [];
      for (const head of root.querySelectorAll('.code-block:not(.continued)')) {
        let code = '';
        for (let block = head; block !== null; block = block.nextElementSibling) {
          if (block !== head && !block.classList.contains('continued')) break;
          code += block.querySelector('code')?.textContent ?? '';
        }
        const path = [];
        for (let node = head.parentElement; node !== null && node !== root; node = node.parentElement) {
          if (['OL', 'UL', 'LI', 'BLOCKQUOTE'].includes(node.tagName)) path.unshift(node.tagName.toLowerCase());
        }
        codes.push({ path: path.join('>'), code });
      }
      return {
        text: (root.textContent ?? '').replace(/\\s+/g, ' ').trim(),
        counts,
        listStarts: [...root.querySelectorAll('ol')].map((list) => list.getAttribute('start') ?? '1'),
        looseItems: [...root.querySelectorAll('li')].filter((item) => [...item.children].some((child) => child.tagName === 'P')).length,
        codes,
      };
    }
    window.renderedShape = renderedShape;
    window.renderWhole = (text) => {
      const root = document.createElement('div');
      root.append(renderMarkdown(text, { highlight: true }));
      return renderedShape(root);
    };
  `;
  const result = await build({
    stdin: { contents, resolveDir: ROOT, loader: 'js', sourcefile: 'shape.js' },
    bundle: true,
    format: 'iife',
    write: false,
    target: 'es2022',
    logLevel: 'warning',
  });
  const output = result.outputFiles[0];
  if (output === undefined) throw new Error('the shape script did not build');
  return output.text;
}

/** A PNG of one colour (a real one: browsers decode it), `width` × `height` pixels. */
export function pngImage(width: number, height: number, rgb: readonly [number, number, number] = [200, 60, 40]): Buffer {
  const chunk = (type: string, data: Buffer): Buffer => {
    const length = Buffer.alloc(4);
    length.writeUInt32BE(data.length);
    const body = Buffer.concat([Buffer.from(type, 'latin1'), data]);
    const check = Buffer.alloc(4);
    check.writeUInt32BE(crc32(body));
    return Buffer.concat([length, body, check]);
  };
  const header = Buffer.alloc(13);
  header.writeUInt32BE(width, 0);
  header.writeUInt32BE(height, 4);
  header.set([8, 2, 0, 0, 0], 8); // 8 bits, RGB, no interlace
  const row = Buffer.alloc(1 + width * 3);
  for (let x = 0; x < width; x++) row.set(rgb, 1 + x * 3);
  const pixels = Buffer.concat(Array.from({ length: height }, () => row));
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', header),
    chunk('IDAT', deflateSync(pixels)),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

/** The width and height a PNG's header gives. */
export function pngSize(png: Uint8Array): { width: number; height: number } {
  const view = Buffer.from(png.buffer, png.byteOffset, png.byteLength);
  return { width: view.readUInt32BE(16), height: view.readUInt32BE(20) };
}
