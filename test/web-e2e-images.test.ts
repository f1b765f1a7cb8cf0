/**
 * The chat page in headless Chromium against demo mode: images attached with the file picker, by
 * paste and by drop, sent to `demo-agent` (which says how many it got), shown in the history also
 * after a reload, kept by an edit; attaching off for a text-only model; the model's reasoning
 * folded above the answer, expandable, still there after a reload.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { startServer, type RunningServer } from '../src/server/index.js';
import { buildPage, chromiumAvailable, launchBrowser, openPage, pngImage, pngSize, screenshot } from './web-helpers.js';

const skip = chromiumAvailable() ? false : 'chromium is not installed at /usr/bin/chromium';

interface StoredConversation {
  id: string;
  messages: Array<{ role: string; content: string; reasoning?: string; images?: Array<{ id: string; mediaType: string }> }>;
}

/** Pastes (or drops, on `target`) PNG files the way a browser delivers them: a DataTransfer of Files. */
async function deliver(page: Page, how: 'paste' | 'drop', target: string, images: Buffer[]): Promise<void> {
  await page.evaluate(
    ({ how, target, encoded }) => {
      const transfer = new DataTransfer();
      encoded.forEach((base64, index) => {
        const bytes = Uint8Array.from(atob(base64), (character) => character.charCodeAt(0));
        transfer.items.add(new File([bytes], `image-${index}.png`, { type: 'image/png' }));
      });
      const element = document.querySelector(target);
      if (element === null) throw new Error(`${target} is missing`);
      if (how === 'paste') {
        element.dispatchEvent(new ClipboardEvent('paste', { clipboardData: transfer, bubbles: true, cancelable: true }));
      } else {
        element.dispatchEvent(new DragEvent('dragover', { dataTransfer: transfer, bubbles: true, cancelable: true }));
        element.dispatchEvent(new DragEvent('drop', { dataTransfer: transfer, bubbles: true, cancelable: true }));
      }
    },
    { how, target, encoded: images.map((image) => image.toString('base64')) },
  );
}

/** Waits until every thumbnail of the user messages has loaded, and returns how many there are. */
async function loadedThumbnails(page: Page, count: number): Promise<void> {
  await page.waitForFunction((expected) => {
    const pictures = [...document.querySelectorAll<HTMLImageElement>('.message.user .images img')];
    return pictures.length === expected && pictures.every((picture) => picture.complete && picture.naturalWidth > 0);
  }, count);
}

describe('web page: images and reasoning (demo mode)', { skip }, () => {
  let browser: Browser;
  let server: RunningServer;
  let dataDir: string;

  before(async () => {
    buildPage();
    dataDir = mkdtempSync(join(tmpdir(), 'g4f-web-e2e-images-'));
    server = await startServer({ port: 0, demo: true, dataDir, quiet: true });
    browser = await launchBrowser();
  });
  after(async () => {
    await browser?.close();
    await server?.close(2_000);
    rmSync(dataDir, { recursive: true, force: true });
  });

  async function stored(page: Page): Promise<StoredConversation> {
    const id = await page.evaluate(() => localStorage.getItem('g4f.current'));
    return (await (await fetch(`${server.url}/api/conversations/${id}`)).json()) as StoredConversation;
  }

  test('an image attached with the file picker goes to demo-agent, shows in the history (also after a reload) and stays with an edit; the reasoning is folded above the answer', async () => {
    const { context, page } = await openPage(browser, server.url);
    await page.selectOption('#model', 'demo-agent');
    await page.waitForSelector('#attach:not([disabled])');
    // Wider than the models look at: the page scales it down to 2048 pixels before sending.
    await page.setInputFiles('#attach-file', { name: 'wide.png', mimeType: 'image/png', buffer: pngImage(3000, 1000) });
    await page.waitForSelector('#attachments:not([hidden]) .attachment img');
    await page.fill('#input', 'What is in this picture?');
    await page.press('#input', 'Enter');
    await page.waitForSelector('.message.assistant[data-status="complete"]', { timeout: 20_000 });
    assert.match((await page.textContent('.message.assistant .content')) ?? '', /received 1 image with your message/);
    assert.equal(await page.isHidden('#attachments'), true, 'the composer is emptied');
    await loadedThumbnails(page, 1);

    // The reasoning: a closed <details> between the header and the answer; a click opens it.
    const reasoning = page.locator('.message.assistant details.reasoning');
    assert.equal(await reasoning.count(), 1);
    assert.equal(await reasoning.evaluate((element) => (element as HTMLDetailsElement).open), false);
    assert.equal(await reasoning.evaluate((element) => element.nextElementSibling?.classList.contains('content')), true, 'above the answer');
    assert.equal(await page.isVisible('.message.assistant .reasoning-text'), false);
    await reasoning.locator('summary').click();
    await page.waitForSelector('.message.assistant .reasoning-text', { state: 'visible' });
    assert.match((await page.textContent('.message.assistant .reasoning-text')) ?? '', /The message carries images/);
    await screenshot(page, 'images-reasoning');

    const conversation = await stored(page);
    const image = conversation.messages[0]?.images?.[0];
    assert.ok(image !== undefined, 'the image is stored with the message');
    const bytes = new Uint8Array(await (await fetch(`${server.url}/api/conversations/${conversation.id}/images/${image.id}`)).arrayBuffer());
    assert.deepEqual(pngSize(bytes), { width: 2048, height: 683 });
    assert.match(conversation.messages[1]?.reasoning ?? '', /The message carries images/);

    await page.reload();
    await page.waitForSelector('body[data-ready="true"]');
    await page.waitForSelector('.message.assistant[data-status="complete"]');
    await loadedThumbnails(page, 1);
    assert.equal(await page.locator('.message.assistant details.reasoning:not([open])').count(), 1, 'folded again after the reload');
    await page.click('.message.assistant details.reasoning summary');
    assert.match((await page.textContent('.message.assistant .reasoning-text')) ?? '', /The message carries images/);

    // Edit and resend: the message keeps its image, and the model gets it again.
    await page.hover('.message.user');
    await page.click('.message.user [data-action="edit"]');
    await page.fill('.message.user.editing textarea', 'Describe it in one word');
    await page.press('.message.user.editing textarea', 'Enter');
    await page.waitForSelector('.message.assistant[data-status="complete"]', { timeout: 20_000 });
    await page.waitForFunction(() => /received 1 image/.test(document.querySelector('.message.assistant .content')?.textContent ?? ''));
    const edited = await stored(page);
    assert.deepEqual(
      edited.messages.map((message) => [message.role, message.images?.length ?? 0]),
      [
        ['user', 1],
        ['assistant', 0],
      ],
    );
    assert.equal(edited.messages[0]?.content, 'Describe it in one word');
    await context.close();
  });

  test('images pasted and dropped on the composer show as thumbnails with a remove button; an image-only message is sent', async () => {
    const { context, page } = await openPage(browser, server.url);
    await page.selectOption('#model', 'demo-agent');
    await page.waitForSelector('#attach:not([disabled])');
    await deliver(page, 'paste', '#input', [pngImage(40, 30, [0, 0, 255])]);
    await page.waitForFunction(() => document.querySelectorAll('#attachments .attachment').length === 1);
    await deliver(page, 'drop', '#composer', [pngImage(30, 40, [0, 255, 0]), pngImage(20, 20)]);
    await page.waitForFunction(() => document.querySelectorAll('#attachments .attachment img').length === 3);
    // Remove the last one.
    await page.locator('#attachments .attachment').nth(2).locator('.remove-image').click();
    await page.waitForFunction(() => document.querySelectorAll('#attachments .attachment').length === 2);
    // A pasted text is still pasted as text.
    await page.evaluate(() => {
      const transfer = new DataTransfer();
      transfer.setData('text/plain', 'x');
      document.querySelector('#input')?.dispatchEvent(new ClipboardEvent('paste', { clipboardData: transfer, bubbles: true, cancelable: true }));
    });
    assert.equal(await page.locator('#attachments .attachment').count(), 2);
    await page.click('#send');
    await page.waitForSelector('.message.assistant[data-status="complete"]', { timeout: 20_000 });
    assert.match((await page.textContent('.message.assistant .content')) ?? '', /received 2 images/);
    await loadedThumbnails(page, 2);
    const conversation = await stored(page);
    assert.deepEqual(
      conversation.messages[0]?.images?.map((image) => image.mediaType),
      ['image/png', 'image/png'],
    );
    assert.equal(conversation.messages[0]?.content, '');
    await context.close();
  });

  test('attaching is off for gpt-4 (a text-only model), with a title saying why; a pasted image is refused with that reason', async () => {
    const { context, page } = await openPage(browser, server.url);
    await page.selectOption('#model', 'gpt-4');
    await page.waitForSelector('#attach[disabled]');
    assert.match((await page.getAttribute('#attach', 'title')) ?? '', /gpt-4 does not take images/);
    await deliver(page, 'paste', '#input', [pngImage(10, 10)]);
    await page.locator('.toast', { hasText: 'gpt-4 does not take images' }).waitFor();
    assert.equal(await page.isHidden('#attachments'), true);
    // Back to a model with image input: attaching is on again.
    await page.selectOption('#model', 'demo-agent');
    await page.waitForSelector('#attach:not([disabled])');
    assert.doesNotMatch((await page.getAttribute('#attach', 'title')) ?? '', /does not take images/);
    await context.close();
  });
});
