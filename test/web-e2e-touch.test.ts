/** The chat page on a phone (a touch screen, no mouse, a narrow viewport): the sidebar's rename and delete, by taps. */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Page } from 'playwright-core';
import { chromiumAvailable, openPage, useWebStack } from './web-helpers.js';

const skip = chromiumAvailable() ? false : 'chromium is not installed at /usr/bin/chromium';
const PHONE = { width: 390, height: 844, touch: true };

describe('web page: sidebar on a touch screen', { skip }, () => {
  const web = useWebStack();

  async function api<T>(path: string, init?: RequestInit): Promise<T> {
    const response = await fetch(`${web.stack.url}${path}`, { headers: { 'content-type': 'application/json' }, ...init });
    assert.ok(response.ok, `${path}: HTTP ${response.status}`);
    return (await response.json()) as T;
  }

  async function titles(): Promise<string[]> {
    const list = await api<{ data: Array<{ title: string }> }>('/api/conversations');
    return list.data.map((conversation) => conversation.title).sort();
  }

  /** Conversations with these titles, made through the API; the page then opened on a phone with the sidebar shown. */
  async function openWith(names: string[]): Promise<{ page: Page; close(): Promise<void> }> {
    await api('/api/conversations', { method: 'DELETE' });
    for (const title of names) await api('/api/conversations', { method: 'POST', body: JSON.stringify({ title }) });
    const { context, page } = await openPage(web.browser, web.stack.url, PHONE);
    assert.equal(await page.evaluate(() => matchMedia('(hover: none)').matches), true, 'the page sees a screen without hover');
    await page.tap('#toggle-sidebar');
    await page.waitForFunction(() => document.body.classList.contains('sidebar-open'));
    await page.waitForFunction((count) => document.querySelectorAll('#conversation-list li[data-id]').length === count, names.length);
    return { page, close: () => context.close() };
  }

  function entry(page: Page, title: string) {
    return page.locator('#conversation-list li[data-id]', { hasText: title });
  }

  test('rename by taps: the buttons show without hover; Enter saves, tapping elsewhere saves, Escape cancels', async () => {
    const { page, close } = await openWith(['Apples', 'Pears']);
    const apples = entry(page, 'Apples');
    const rename = apples.locator('[data-action="rename"]');
    assert.equal(await rename.isVisible(), true, 'rename is shown without hovering');
    await rename.tap();
    const input = page.locator('#conversation-list .rename-input');
    await input.waitFor();
    assert.equal(await input.evaluate((element) => element === document.activeElement), true, 'the title field has the focus');
    await input.fill('Green apples');
    await input.press('Enter');
    await entry(page, 'Green apples').locator('.title').waitFor();
    assert.deepEqual(await titles(), ['Green apples', 'Pears']);
    assert.equal(await page.evaluate(() => document.body.classList.contains('sidebar-open')), true, 'the sidebar stays open');

    // Tapping another entry ends the edit (saved) and opens that entry.
    await entry(page, 'Pears').locator('[data-action="rename"]').tap();
    await input.fill('Ripe pears');
    await entry(page, 'Green apples').locator('.title').tap();
    await entry(page, 'Ripe pears').locator('.title').waitFor();
    assert.deepEqual(await titles(), ['Green apples', 'Ripe pears']);
    await page.waitForFunction(() => (document.getElementById('chat-title')?.textContent ?? '') === 'Green apples');

    // Renaming the open conversation renames its title too; Escape leaves the title as it was.
    await page.tap('#toggle-sidebar');
    await entry(page, 'Green apples').locator('[data-action="rename"]').tap();
    await input.fill('Apples, renamed');
    await input.press('Enter');
    await page.waitForFunction(() => (document.getElementById('chat-title')?.textContent ?? '') === 'Apples, renamed');
    await entry(page, 'Ripe pears').locator('[data-action="rename"]').tap();
    await input.fill('Not kept');
    await input.press('Escape');
    await entry(page, 'Ripe pears').locator('.title').waitFor();
    assert.deepEqual(await titles(), ['Apples, renamed', 'Ripe pears']);
    await close();
  });

  test('delete by taps: the dialog asks, Cancel keeps, Delete deletes; deleting the open conversation starts a new chat', async () => {
    const { page, close } = await openWith(['Apples', 'Pears', 'Plums']);
    await entry(page, 'Pears').locator('[data-action="delete"]').tap();
    const dialog = page.locator('.ask-dialog');
    await dialog.waitFor();
    assert.match((await dialog.textContent()) ?? '', /Pears/);
    await dialog.locator('[data-answer="cancel"]').tap();
    await dialog.waitFor({ state: 'detached' });
    assert.deepEqual(await titles(), ['Apples', 'Pears', 'Plums']);
    assert.deepEqual(await page.evaluate(() => [document.body.classList.contains('sidebar-open'), location.hash]), [true, ''], 'the tap opened nothing');
    await entry(page, 'Pears').locator('[data-action="delete"]').tap();
    await dialog.locator('[data-answer="ok"]').tap();
    await page.waitForFunction(() => document.querySelectorAll('#conversation-list li[data-id]').length === 2);
    assert.deepEqual(await titles(), ['Apples', 'Plums']);

    // Open Plums (the sidebar closes), then delete it from the sidebar.
    await entry(page, 'Plums').locator('.title').tap();
    await page.waitForFunction(() => (document.getElementById('chat-title')?.textContent ?? '') === 'Plums');
    assert.equal(await page.evaluate(() => document.body.classList.contains('sidebar-open')), false, 'opening closes the sidebar');
    await page.tap('#toggle-sidebar');
    await entry(page, 'Plums').locator('[data-action="delete"]').tap();
    await dialog.locator('[data-answer="ok"]').tap();
    await page.waitForFunction(() => localStorage.getItem('g4f.current') === null && location.hash === '#/');
    await page.waitForFunction(() => document.querySelectorAll('#conversation-list li[data-id]').length === 1);
    assert.deepEqual(await titles(), ['Apples']);
    await close();
  });
});
