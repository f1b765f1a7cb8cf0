/** The chat page in headless Chromium: the address, background answers, edit keys, toasts, the default title in Russian. */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Page } from 'playwright-core';
import { chromiumAvailable, openPage, sendMessage, useWebStack } from './web-helpers.js';

interface StoredConversation {
  id: string;
  title: string;
  messages: Array<{ role: string; content: string; status: string }>;
}

const skip = chromiumAvailable() ? false : 'chromium is not installed at /usr/bin/chromium';

describe('web page: navigation and small things', { skip }, () => {
  const web = useWebStack();

  async function get(id: string): Promise<StoredConversation> {
    return (await (await fetch(`${web.stack.url}/api/conversations/${id}`)).json()) as StoredConversation;
  }

  const currentId = (page: Page): Promise<string | null> => page.evaluate(() => localStorage.getItem('g4f.current'));

  test('the address names the open conversation, the id is shown, Back returns to the previous one', async () => {
    web.stack.lockchat.setDefaultPlan({});
    const { context, page } = await openPage(web.browser, web.stack.url);
    await sendMessage(page, 'First one');
    await page.waitForSelector('.message.assistant[data-status="complete"]');
    const first = (await currentId(page)) ?? '';
    assert.equal(new URL(page.url()).hash, `#/c/${first}`);
    assert.equal(await page.textContent('#conversation-id'), first);
    await page.click('#new-chat');
    assert.equal(new URL(page.url()).hash, '#/');
    await sendMessage(page, 'Second one');
    await page.waitForSelector('.message.assistant[data-status="complete"]');
    const second = (await currentId(page)) ?? '';
    assert.notEqual(second, first);
    await page.goBack();
    await page.goBack();
    await page.waitForFunction((id) => document.getElementById('conversation-id')?.textContent === id, first);
    assert.equal((await page.locator('.message.user .content').textContent())?.trim(), 'First one');
    // A fresh browser opened on the address shows that conversation.
    const other = await openPage(web.browser, `${web.stack.url}/#/c/${second}`);
    await other.page.waitForSelector('.message.assistant[data-status="complete"]');
    assert.equal((await other.page.locator('.message.user .content').textContent())?.trim(), 'Second one');
    await other.context.close();
    await context.close();
  });

  test('opening another conversation lets the streaming answer finish in the background, saved complete', async () => {
    web.stack.lockchat.setDefaultPlan({ tokens: 150, chunkDelayMs: 20 });
    const { context, page } = await openPage(web.browser, web.stack.url);
    await sendMessage(page, 'Background answer');
    await page.waitForFunction(() => (document.querySelector('.message.assistant .content')?.textContent ?? '').length > 20);
    const id = (await currentId(page)) ?? '';
    await page.click('#new-chat');
    assert.equal(await page.isVisible('#send'), true, 'the composer is free again');
    const deadline = Date.now() + 20_000;
    let saved = await get(id);
    while (saved.messages[1]?.status !== 'complete') {
      assert.ok(Date.now() < deadline, `the answer was finished: ${JSON.stringify(saved.messages.map((m) => m.status))}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
      saved = await get(id);
    }
    assert.ok((saved.messages[1]?.content.length ?? 0) > 500);
    assert.equal(await page.locator('.message').count(), 0, 'nothing of it leaks into the new chat');
    await context.close();
  });

  test('editing: Enter saves and sends, Escape cancels; Edit and Copy are hidden while editing', async () => {
    web.stack.lockchat.setDefaultPlan({});
    const { context, page } = await openPage(web.browser, web.stack.url);
    await sendMessage(page, 'Original');
    await page.waitForSelector('.message.assistant[data-status="complete"]');
    const user = page.locator('.message.user');
    await user.locator('[data-action="edit"]').click();
    assert.equal(await user.locator('.actions').isVisible(), false);
    await page.fill('.message.user textarea', 'Not kept');
    await page.press('.message.user textarea', 'Escape');
    assert.equal((await user.locator('.content').textContent())?.trim(), 'Original');
    await user.locator('[data-action="edit"]').click();
    await page.fill('.message.user textarea', 'Changed');
    await page.press('.message.user textarea', 'Enter');
    await page.waitForFunction(() =>
      (document.querySelector('.message.assistant[data-status="complete"] .content')?.textContent ?? '').includes('Echo: Changed'),
    );
    await context.close();
  });

  test('toasts sit above the page, not over Send, and can be closed', async () => {
    const { context, page } = await openPage(web.browser, web.stack.url);
    await page.setInputFiles('#import-file', { name: 'bad.json', mimeType: 'application/json', buffer: Buffer.from('{') });
    const toast = page.locator('.toast').first();
    await toast.waitFor();
    const [toastBox, sendBox] = await Promise.all([toast.boundingBox(), page.locator('#send').boundingBox()]);
    assert.ok(toastBox !== null && sendBox !== null);
    const overlaps = toastBox.y < sendBox.y + sendBox.height && sendBox.y < toastBox.y + toastBox.height;
    assert.equal(overlaps, false);
    await toast.locator('.toast-close').click();
    assert.equal(await page.locator('.toast').count(), 0);
    await context.close();
  });

  test('in the Russian interface the default title is Russian', async () => {
    await fetch(`${web.stack.url}/api/conversations`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
    const { context, page } = await openPage(web.browser, web.stack.url, { locale: 'ru-RU' });
    await page.locator('#conversation-list li .title', { hasText: 'Новая беседа' }).first().waitFor();
    assert.equal(await page.locator('#conversation-list li .title', { hasText: 'New conversation' }).count(), 0);
    await context.close();
  });
});
