/** The chat page in headless Chromium against a server that needs an API key: dismissing, wrong keys, changing the key. */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { startServer, type RunningServer } from '../src/server/index.js';
import { buildPage, chromiumAvailable, launchBrowser } from './web-helpers.js';

const skip = chromiumAvailable() ? false : 'chromium is not installed at /usr/bin/chromium';
const KEY = 'sk-right-key';

describe('web page: API keys', { skip }, () => {
  let browser: Browser;
  let server: RunningServer;
  let dataDir: string;

  before(async () => {
    buildPage();
    dataDir = mkdtempSync(join(tmpdir(), 'g4f-web-keys-'));
    server = await startServer({ port: 0, demo: true, apiKeys: [KEY], dataDir, quiet: true });
    browser = await launchBrowser();
  });
  after(async () => {
    await browser?.close();
    await server?.close(2_000);
    rmSync(dataDir, { recursive: true, force: true });
  });

  async function fresh(): Promise<Page> {
    const context = await browser.newContext({ viewport: { width: 1280, height: 800 }, reducedMotion: 'reduce' });
    const page = await context.newPage();
    await page.goto(server.url);
    return page;
  }

  async function enterKey(page: Page, key: string): Promise<void> {
    await page.waitForSelector('#key-dialog[open]');
    await page.fill('#key-input', key);
    await page.click('#key-form button[type="submit"]');
  }

  test('Escape dismisses the dialog: the page finishes starting, says why, and the key button asks again', async () => {
    const page = await fresh();
    await page.waitForSelector('#key-dialog[open]');
    await page.keyboard.press('Escape');
    await page.waitForSelector('body[data-ready="true"]');
    assert.equal(await page.isVisible('#key-dialog'), false);
    await page.locator('.toast', { hasText: /API key/ }).waitFor();
    assert.equal(await page.locator('#model option').count(), 0);
    await page.click('#key-button');
    await enterKey(page, KEY);
    await page.waitForFunction(() => document.querySelectorAll('#model option').length > 0);
    assert.equal(await page.inputValue('#model'), 'gpt-3.5-turbo', 'the default model, as on the command line');
    await page.context().close();
  });

  test('a wrong key is said to be wrong, as often as it is wrong; then the right one works', async () => {
    const page = await fresh();
    await enterKey(page, 'sk-wrong-1');
    await page.waitForSelector('#key-dialog[open] #key-wrong:not([hidden])');
    assert.match((await page.textContent('#key-wrong')) ?? '', /refused this key/);
    await enterKey(page, 'sk-wrong-2');
    await page.waitForSelector('#key-dialog[open] #key-wrong:not([hidden])');
    await enterKey(page, KEY);
    await page.waitForSelector('body[data-ready="true"]');
    await page.waitForFunction(() => document.querySelectorAll('#model option').length > 0);
    assert.equal(await page.evaluate(() => localStorage.getItem('g4f.apiKey')), KEY);
    assert.equal(await page.locator('.toast').count(), 0);
    await page.context().close();
  });

  test('the stored key can be changed from the key button; a refused new key is asked again', async () => {
    const page = await fresh();
    await enterKey(page, KEY);
    await page.waitForSelector('body[data-ready="true"]');
    await page.click('#key-button');
    await page.waitForSelector('#key-dialog[open]');
    assert.equal(await page.inputValue('#key-input'), KEY, 'the current key is shown to edit');
    assert.equal(await page.isVisible('#key-wrong'), false);
    await page.fill('#key-input', 'sk-changed-wrong');
    await page.click('#key-form button[type="submit"]');
    // Reloading with the new key is refused: asked again, said wrong.
    await page.waitForSelector('#key-dialog[open] #key-wrong:not([hidden])');
    await enterKey(page, KEY);
    await page.waitForSelector('#key-dialog:not([open])', { state: 'attached' });
    await page.waitForFunction(() => document.querySelectorAll('#model option').length > 0);
    assert.equal(await page.evaluate(() => localStorage.getItem('g4f.apiKey')), KEY);
    await page.context().close();
  });
});
