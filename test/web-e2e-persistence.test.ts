/**
 * The chat page in headless Chromium: a server SIGKILLed mid-answer and restarted on the same data
 * dir keeps every saved conversation; screenshots (light/dark, desktop/phone); demo mode and API keys.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import type { Browser } from 'playwright-core';
import { startServer } from '../src/server/index.js';
import { buildPage, chromiumAvailable, DOC_SCREENSHOTS, launchBrowser, openPage, ROOT, screenshot, sendMessage, startWebStack } from './web-helpers.js';

const skip = chromiumAvailable() ? false : 'chromium is not installed at /usr/bin/chromium';

interface ChildServer {
  url: string;
  child: ChildProcess;
}

/** Starts test/web-server-child.ts in its own process and waits for its URL line. */
function startChild(dataDir: string): Promise<ChildServer> {
  const child = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'test', 'web-server-child.ts')], {
    cwd: ROOT,
    env: { ...process.env, DATA_DIR: dataDir },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('the server process did not start within 30 s')), 30_000);
    const lines = createInterface({ input: child.stdout as NodeJS.ReadableStream });
    lines.once('line', (line) => {
      clearTimeout(timer);
      resolve({ url: (JSON.parse(line) as { url: string }).url, child });
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`the server process exited with ${code}`));
    });
  });
}

function killed(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    child.once('exit', () => resolve());
    child.kill('SIGKILL');
  });
}

describe('web page: persistence, screenshots, demo and keys', { skip }, () => {
  let browser: Browser;
  const children: ChildProcess[] = [];

  before(async () => {
    buildPage();
    browser = await launchBrowser();
  });
  after(async () => {
    for (const child of children) await killed(child);
    await browser?.close();
  });

  test('a server killed mid-answer and restarted on the same data dir keeps every saved conversation', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'g4f-web-kill-'));
    try {
      const first = await startChild(dataDir);
      children.push(first.child);
      const { context, page } = await openPage(browser, first.url);
      await sendMessage(page, 'Quick question');
      await page.waitForSelector('.message.assistant[data-status="complete"]');
      await page.click('#new-chat');
      await sendMessage(page, 'Second conversation');
      await page.waitForFunction(() => document.querySelectorAll('.message.assistant[data-status="complete"]').length === 1);
      await sendMessage(page, 'Now a slow answer please');
      await page.waitForFunction(
        () => (document.querySelector('.message.assistant:last-of-type[data-status="streaming"] .content')?.textContent ?? '').length > 50,
      );
      // Wait until the server has checkpointed part of the growing answer (about once a second).
      const currentId = await page.evaluate(() => localStorage.getItem('g4f.current'));
      const deadline = Date.now() + 15_000;
      let checkpointed = '';
      while (checkpointed === '') {
        assert.ok(Date.now() < deadline, 'the growing answer was checkpointed');
        const live = (await (await fetch(`${first.url}/api/conversations/${currentId}`)).json()) as { messages: Array<{ content: string }> };
        checkpointed = live.messages[3]?.content ?? '';
        if (checkpointed === '') await new Promise((resolve) => setTimeout(resolve, 100));
      }
      await killed(first.child);
      await page.waitForSelector('.error-bubble');

      const second = await startChild(dataDir);
      children.push(second.child);
      const list = (await (await fetch(`${second.url}/api/conversations`)).json()) as { data: Array<{ id: string; title: string }> };
      assert.deepEqual(list.data.map((c) => c.title).sort(), ['Quick question', 'Second conversation']);
      const secondId = list.data.find((c) => c.title === 'Second conversation')?.id ?? '';
      const conversation = (await (await fetch(`${second.url}/api/conversations/${secondId}`)).json()) as {
        messages: Array<{ role: string; content: string; status: string }>;
      };
      const summary = conversation.messages.map((m) => [m.role, m.status]);
      assert.deepEqual(summary.slice(0, 3), [
        ['user', 'complete'],
        ['assistant', 'complete'],
        ['user', 'complete'],
      ]);
      assert.equal(conversation.messages[2]?.content, 'Now a slow answer please');
      const cut = conversation.messages[3];
      assert.ok(cut !== undefined, 'the cut answer is kept');
      assert.equal(cut.status, 'interrupted');
      assert.ok(cut.content.length >= checkpointed.length && cut.content.startsWith(checkpointed), 'nothing saved is lost');
      // The page of the restarted server shows both conversations and the cut answer as interrupted.
      await page.goto(second.url);
      await page.waitForSelector('body[data-ready="true"]');
      await page.click(`#conversation-list li[data-id="${secondId}"] .title`);
      await page.waitForFunction(() => document.querySelectorAll('.message').length >= 3);
      await page.waitForSelector('.message.assistant[data-status="interrupted"]');
      await context.close();
      await killed(second.child);
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });

  test('screenshots: light and dark, desktop and phone', async () => {
    const stack = await startWebStack();
    try {
      stack.lockchat.setDefaultPlan({ reply: 'demo', chunkDelayMs: 0 });
      const seed = await openPage(browser, stack.url);
      await sendMessage(seed.page, 'Show me a short TypeScript example');
      await seed.page.waitForSelector('.message.assistant[data-status="complete"]');
      await seed.context.close();
      for (const colorScheme of ['light', 'dark'] as const) {
        for (const [device, width, height] of [
          ['desktop', 1280, 800],
          ['phone', 390, 844],
        ] as const) {
          const { context, page } = await openPage(browser, stack.url, { width, height, colorScheme });
          const first = page.locator('#conversation-list li[data-id]').first();
          if (device === 'phone') {
            assert.equal(await page.isVisible('#toggle-sidebar'), true, 'the list folds behind a toggle');
            await page.click('#toggle-sidebar');
          }
          await first.locator('.title').click();
          await page.waitForSelector('.message.assistant[data-status="complete"] .content:not([data-rendering]) .code-block');
          if (device === 'phone') {
            // The list is folded away completely (no transition under reduced motion).
            assert.ok(await page.evaluate(() => (document.getElementById('sidebar')?.getBoundingClientRect().right ?? 1) <= 0));
          }
          const path = await screenshot(page, `${device}-${colorScheme}`);
          assert.ok(path.endsWith('.png'));
          // The README's two, refreshed on request only (every run would change tracked files): UPDATE_DOC_SCREENSHOTS=1.
          const forReadme = (device === 'desktop' && colorScheme === 'light') || (device === 'phone' && colorScheme === 'dark');
          if (forReadme && process.env.UPDATE_DOC_SCREENSHOTS === '1') {
            mkdirSync(DOC_SCREENSHOTS, { recursive: true });
            copyFileSync(path, join(DOC_SCREENSHOTS, `${device}-${colorScheme}.png`));
          }
          if (device === 'phone') {
            // Folded again (after its slide transition) once a conversation is opened.
            await page.waitForFunction(() => (document.getElementById('sidebar')?.getBoundingClientRect().right ?? 1) <= 0);
            await page.click('#toggle-sidebar');
            await page.waitForFunction(() => (document.getElementById('sidebar')?.getBoundingClientRect().x ?? -1) >= 0);
            await screenshot(page, `phone-${colorScheme}-sidebar`);
          }
          await context.close();
        }
      }
    } finally {
      await stack.close();
    }
  });

  test('demo mode says so; a required API key is asked once, kept in localStorage and sent as a Bearer header', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'g4f-web-demo-'));
    const server = await startServer({ port: 0, demo: true, apiKeys: ['sk-test-key'], dataDir, quiet: true });
    try {
      const unauthorised = await fetch(`${server.url}/api/conversations`);
      assert.equal(unauthorised.status, 401);
      const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
      const page = await context.newPage();
      const requests: Array<{ url: string; authorization: string | undefined }> = [];
      page.on('request', (request) => requests.push({ url: request.url(), authorization: request.headers().authorization }));
      await page.goto(server.url);
      await page.waitForSelector('#key-dialog[open]');
      await page.fill('#key-input', 'sk-test-key');
      await page.click('#key-form button[type="submit"]');
      await page.waitForSelector('body[data-ready="true"]');
      assert.equal(await page.isVisible('#demo-banner'), true);
      assert.match((await page.textContent('#demo-banner')) ?? '', /Demo mode/);
      await sendMessage(page, 'Hello demo');
      await page.waitForSelector('.message.assistant[data-status="complete"]', { timeout: 20_000 });
      assert.match((await page.locator('.message.assistant .content').textContent()) ?? '', /emulated answer/);
      assert.equal(await page.evaluate(() => localStorage.getItem('g4f.apiKey')), 'sk-test-key');
      for (const request of requests) assert.ok(!request.url.includes('sk-test-key'), 'the key is never in a URL');
      const apiCalls = requests.filter((request) => /\/(api\/conversations|v1\/)/.test(request.url));
      assert.ok(apiCalls.length > 0 && apiCalls.every((request) => request.authorization === 'Bearer sk-test-key'));
      await page.reload();
      await page.waitForSelector('body[data-ready="true"]');
      assert.equal(await page.isVisible('#key-dialog'), false, 'asked once');
      await context.close();
    } finally {
      await server.close(2_000);
      rmSync(dataDir, { recursive: true, force: true });
    }
  });

  test('demo mode: the banner lists trigger prompts that show an error, an interrupted answer, a long answer to stop, and code', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'g4f-web-demo-'));
    const server = await startServer({ port: 0, demo: true, dataDir, quiet: true });
    try {
      const { context, page } = await openPage(browser, server.url);
      const triggers = await page.locator('#demo-banner .demo-trigger').allTextContents();
      assert.deepEqual(triggers, ['/demo error', '/demo cut', '/demo long', '/demo code']);
      // A click puts the prompt in the composer.
      await page.locator('#demo-banner .demo-trigger', { hasText: '/demo error' }).click();
      assert.equal(await page.inputValue('#input'), '/demo error');
      await page.press('#input', 'Enter');
      await page.locator('.error-bubble .reason', { hasText: 'All providers failed' }).waitFor({ timeout: 20_000 });
      await sendMessage(page, '/demo cut');
      await page.waitForSelector('.message.assistant[data-status="interrupted"]', { timeout: 20_000 });
      await sendMessage(page, '/demo code');
      await page.waitForSelector('.message.assistant:last-of-type[data-status="complete"]', { timeout: 20_000 });
      const labels = await page.locator('.message.assistant:last-of-type .code-head span').allTextContents();
      assert.deepEqual(labels, ['ts', 'python', 'text']);
      await sendMessage(page, '/demo long');
      await page.waitForFunction(() => (document.querySelector('.message.assistant:last-of-type .content')?.textContent ?? '').length > 30, undefined, {
        timeout: 20_000,
      });
      await page.click('#stop');
      await page.waitForSelector('.message.assistant:last-of-type[data-status="stopped"]');
      await context.close();
    } finally {
      await server.close(2_000);
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
