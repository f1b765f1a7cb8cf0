/** The chat page in headless Chromium against the real server and emulated providers: the chat flows. */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Page } from 'playwright-core';
import { chromiumAvailable, openPage, sendMessage, useWebStack } from './web-helpers.js';

interface StoredMessage {
  role: string;
  content: string;
  status: string;
}
interface StoredConversation {
  id: string;
  title: string;
  messages: StoredMessage[];
}

const skip = chromiumAvailable() ? false : 'chromium is not installed at /usr/bin/chromium';

describe('web page: chat flows', { skip }, () => {
  const web = useWebStack();

  async function api<T>(path: string, init?: RequestInit): Promise<T> {
    const response = await fetch(`${web.stack.url}${path}`, init);
    assert.ok(response.ok, `${path}: HTTP ${response.status}`);
    return (await response.json()) as T;
  }

  async function stored(page: Page): Promise<StoredConversation> {
    const id = await page.evaluate(() => localStorage.getItem('g4f.current'));
    assert.ok(id, 'the page remembers the open conversation');
    return api<StoredConversation>(`/api/conversations/${id}`);
  }

  /** Polls the API until `check` passes (the server saves after the page has shown). */
  async function eventually<T>(read: () => Promise<T>, check: (value: T) => boolean, timeoutMs = 10_000): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const value = await read();
      if (check(value)) return value;
      if (Date.now() > deadline) assert.fail(`condition not met in time: ${JSON.stringify(value).slice(0, 500)}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }

  function lastAssistant(page: Page) {
    return page.locator('.message.assistant').last();
  }

  test('an answer arrives progressively, then is saved; reload finds the conversation', async () => {
    const words = Array.from({ length: 30 }, (_, index) => `word${index}`).join(' ');
    web.stack.lockchat.setDefaultPlan({ text: words, chunkCount: 30, chunkDelayMs: 60 });
    const { context, page } = await openPage(web.browser, web.stack.url);
    // Record every length the answer's text goes through.
    await page.evaluate(() => {
      const lengths: number[] = [];
      (window as unknown as { answerLengths: number[] }).answerLengths = lengths;
      new MutationObserver(() => {
        const content = document.querySelector('.message.assistant .content');
        const length = content?.textContent?.length ?? 0;
        if (length > 0 && lengths.at(-1) !== length) lengths.push(length);
      }).observe(document.getElementById('messages') as HTMLElement, { subtree: true, childList: true, characterData: true });
    });
    await sendMessage(page, 'Count for me');
    await page.waitForSelector('.message.assistant[data-status="complete"]', { timeout: 15_000 });
    const lengths = await page.evaluate(() => (window as unknown as { answerLengths: number[] }).answerLengths);
    const final = words.length;
    assert.equal((await lastAssistant(page).locator('.content').textContent())?.trim(), words);
    const partial = lengths.filter((length) => length < final);
    assert.ok(partial.length >= 5, `text grew in steps: ${JSON.stringify(lengths)}`);
    const saved = await stored(page);
    assert.equal(saved.title, 'Count for me');
    assert.deepEqual(
      saved.messages.map((m) => [m.role, m.content, m.status]),
      [
        ['user', 'Count for me', 'complete'],
        ['assistant', words, 'complete'],
      ],
    );
    await page.reload();
    await page.waitForSelector('body[data-ready="true"]');
    await page.waitForSelector(`#conversation-list li[data-id="${saved.id}"]`);
    assert.equal((await lastAssistant(page).locator('.content').textContent())?.trim(), words);
    // A new browser (no localStorage) finds it in the list too.
    const other = await openPage(web.browser, web.stack.url);
    await other.page.click(`#conversation-list li[data-id="${saved.id}"] .title`);
    await other.page.waitForSelector('.message.assistant[data-status="complete"]');
    assert.equal(await other.page.locator('#chat-title').textContent(), 'Count for me');
    await other.context.close();
    await context.close();
  });

  test('stop keeps the partial answer, marked stopped, on the page and in the store', async () => {
    web.stack.lockchat.setDefaultPlan({ tokens: 400, chunkDelayMs: 40 });
    const { context, page } = await openPage(web.browser, web.stack.url);
    await sendMessage(page, 'Tell me a long story');
    await page.waitForFunction(() => (document.querySelector('.message.assistant .content')?.textContent ?? '').length > 20);
    assert.equal(await page.isVisible('#stop'), true);
    await page.click('#stop');
    await web.stack.lockchat.waitForAbort(undefined, 10_000);
    const bubble = lastAssistant(page);
    assert.equal(await bubble.getAttribute('data-status'), 'stopped');
    assert.match((await bubble.locator('.status').textContent()) ?? '', /stopped/);
    assert.equal(await page.isVisible('#send'), true);
    const shown = (await bubble.getAttribute('data-text')) ?? '';
    assert.ok(shown.length > 20);
    const saved = await eventually(
      () => stored(page),
      (c) => c.messages[1]?.status === 'stopped',
    );
    const answer = saved.messages[1];
    assert.ok(answer?.content.startsWith(shown) && answer.content.length < 400 * 7, 'the stored text is what had arrived');
    await page.reload();
    await page.waitForSelector('.message.assistant[data-status="stopped"]');
    await context.close();
  });

  test('regenerate replaces the last answer; edit and resend replaces the turn', async () => {
    web.stack.lockchat.setDefaultPlan({});
    web.stack.lockchat.setScript((_request, index) => ({ text: `Answer number ${index}` }));
    try {
      const { context, page } = await openPage(web.browser, web.stack.url);
      await sendMessage(page, 'First question');
      await page.waitForSelector('.message.assistant[data-status="complete"]');
      const before = (await lastAssistant(page).locator('.content').textContent())?.trim() ?? '';
      await lastAssistant(page).locator('[data-action="regenerate"]').click();
      await page.waitForFunction((old) => {
        const answers = document.querySelectorAll('.message.assistant[data-status="complete"] .content');
        return answers.length === 1 && (answers[0]?.textContent ?? '').trim() !== old;
      }, before);
      let saved = await eventually(
        () => stored(page),
        (c) => c.messages.length === 2 && c.messages[1]?.content !== before,
      );
      assert.match(saved.messages[1]?.content ?? '', /^Answer number \d+$/);

      web.stack.lockchat.setScript(undefined);
      await page.locator('.message.user [data-action="edit"]').click();
      await page.fill('.message.user textarea', 'Edited question');
      await page.locator('.message.user [data-action="save-edit"]').click();
      await page.waitForFunction(() =>
        (document.querySelector('.message.assistant[data-status="complete"] .content')?.textContent ?? '').includes('Echo: Edited question'),
      );
      saved = await eventually(
        () => stored(page),
        (c) => c.messages[1]?.status === 'complete' && c.messages[0]?.content === 'Edited question',
      );
      assert.deepEqual(
        saved.messages.map((m) => [m.role, m.content]),
        [
          ['user', 'Edited question'],
          ['assistant', 'Echo: Edited question'],
        ],
      );
      assert.equal(await page.locator('.message').count(), 2);
      await context.close();
    } finally {
      web.stack.lockchat.setScript(undefined);
    }
  });

  test('a provider failure shows an error bubble with a retry, and nothing is stored as an answer', async () => {
    web.stack.lockchat.setDefaultPlan({ status: 500, errorMessage: 'the upstream exploded' });
    const { context, page } = await openPage(web.browser, web.stack.url);
    await sendMessage(page, 'Will this work?');
    const bubble = page.locator('.error-bubble');
    await bubble.waitFor();
    assert.match((await bubble.textContent()) ?? '', /the upstream exploded/);
    assert.equal(await page.locator('.message.assistant').count(), 0);
    const saved = await stored(page);
    assert.deepEqual(
      saved.messages.map((m) => m.role),
      ['user'],
    );
    web.stack.lockchat.setDefaultPlan({});
    await bubble.locator('[data-action="retry"]').click();
    await page.waitForSelector('.message.assistant[data-status="complete"]');
    assert.equal(await page.locator('.error-bubble').count(), 0);
    const after = await eventually(
      () => stored(page),
      (c) => c.messages.length === 2,
    );
    assert.deepEqual(
      after.messages.map((m) => [m.role, m.content]),
      [
        ['user', 'Will this work?'],
        ['assistant', 'Echo: Will this work?'],
      ],
    );
    await context.close();
  });

  test('hostile markdown in an answer runs nothing', async () => {
    const hostile = [
      'Look: <script>window.__pwned = "script"</script>',
      '<img src=x onerror="window.__pwned = \'img\'">',
      "[click me](javascript:window.__pwned='link')",
      '<a href="javascript:window.__pwned=\'raw\'">raw link</a> <iframe src="javascript:window.__pwned=\'frame\'"></iframe>',
      '[safe](https://example.com/page)',
    ].join('\n\n');
    web.stack.lockchat.setDefaultPlan({ text: hostile, chunkCount: 7 });
    const { context, page } = await openPage(web.browser, web.stack.url);
    await sendMessage(page, 'Be hostile');
    await page.waitForSelector('.message.assistant[data-status="complete"]');
    const content = lastAssistant(page).locator('.content');
    assert.equal(await content.locator('script, iframe, [onerror]').count(), 0);
    const links = await content.locator('a').evaluateAll((anchors) =>
      anchors.map((anchor) => ({
        text: anchor.textContent,
        href: anchor.getAttribute('href'),
        rel: anchor.getAttribute('rel'),
        target: anchor.getAttribute('target'),
      })),
    );
    for (const link of links) {
      assert.ok(link.href === null || link.href.startsWith('https:'), `no unsafe href: ${JSON.stringify(link)}`);
      assert.equal(link.rel, 'noopener noreferrer');
      assert.equal(link.target, '_blank');
    }
    assert.ok(links.some((link) => link.href === 'https://example.com/page'));
    await content.locator('a', { hasText: 'click me' }).click();
    await content.locator('a', { hasText: 'raw link' }).click();
    assert.equal(await page.evaluate(() => (window as unknown as { __pwned?: string }).__pwned), undefined);
    // Reloaded from the store, rendered again: still inert.
    await page.reload();
    await page.waitForSelector('.message.assistant[data-status="complete"]');
    assert.equal(await page.evaluate(() => (window as unknown as { __pwned?: string }).__pwned), undefined);
    await context.close();
  });

  test('rename, search and delete conversations in the sidebar', async () => {
    web.stack.lockchat.setDefaultPlan({});
    await api('/api/conversations', { method: 'DELETE' });
    const { context, page } = await openPage(web.browser, web.stack.url);
    await sendMessage(page, 'About apples');
    await page.waitForSelector('.message.assistant[data-status="complete"]');
    await page.click('#new-chat');
    await sendMessage(page, 'About pears and a zebra');
    await page.waitForSelector('.message.assistant[data-status="complete"]');
    await page.waitForSelector('#conversation-list li[data-id] >> nth=1');
    const apples = page.locator('#conversation-list li', { hasText: 'About apples' });
    await apples.hover();
    await apples.locator('[data-action="rename"]').click();
    await page.fill('#conversation-list .rename-input', 'Fruit talk');
    await page.press('#conversation-list .rename-input', 'Enter');
    await page.locator('#conversation-list li', { hasText: 'Fruit talk' }).waitFor();
    const list = await api<{ data: Array<{ id: string; title: string }> }>('/api/conversations');
    assert.deepEqual(list.data.map((c) => c.title).sort(), ['About pears and a zebra', 'Fruit talk']);
    // Search by text inside messages, case-insensitive.
    await page.fill('#search', 'ZEBRA');
    await page.waitForFunction(() => document.querySelectorAll('#conversation-list li[data-id]').length === 1);
    assert.match((await page.locator('#conversation-list li[data-id]').textContent()) ?? '', /About pears/);
    await page.fill('#search', 'fruit');
    await page.waitForFunction(() => (document.querySelector('#conversation-list li[data-id] .title')?.textContent ?? '') === 'Fruit talk');
    await page.fill('#search', '');
    await page.waitForFunction(() => document.querySelectorAll('#conversation-list li[data-id]').length === 2);
    const pears = page.locator('#conversation-list li', { hasText: 'About pears' });
    await pears.hover();
    await pears.locator('[data-action="delete"]').click();
    // An in-page dialog asks first: Cancel keeps it, Delete deletes.
    await page.locator('.ask-dialog [data-answer="cancel"]').click();
    assert.equal(await page.locator('#conversation-list li[data-id]').count(), 2);
    await pears.hover();
    await pears.locator('[data-action="delete"]').click();
    await page.locator('.ask-dialog [data-answer="ok"]').click();
    await page.waitForFunction(() => document.querySelectorAll('#conversation-list li[data-id]').length === 1);
    const remaining = await api<{ data: Array<{ title: string }> }>('/api/conversations');
    assert.deepEqual(
      remaining.data.map((c) => c.title),
      ['Fruit talk'],
    );
    await context.close();
  });

  test('theme and language switches apply and are remembered', async () => {
    const { context, page } = await openPage(web.browser, web.stack.url, { colorScheme: 'dark' });
    assert.equal(await page.getAttribute('html', 'data-theme'), 'dark', 'follows the system');
    await page.click('#theme-toggle');
    assert.equal(await page.getAttribute('html', 'data-theme'), 'light');
    const background = await page.evaluate(() => getComputedStyle(document.body).backgroundColor);
    assert.equal(background, 'rgb(255, 255, 255)');
    assert.equal(await page.textContent('#send'), 'Send');
    await page.click('#lang-toggle');
    assert.equal(await page.textContent('#send'), 'Отправить');
    assert.equal(await page.getAttribute('html', 'lang'), 'ru');
    await page.reload();
    await page.waitForSelector('body[data-ready="true"]');
    assert.equal(await page.getAttribute('html', 'data-theme'), 'light');
    assert.equal(await page.textContent('#send'), 'Отправить');
    assert.equal(await page.getAttribute('#input', 'placeholder'), 'Сообщение');
    await page.click('#lang-toggle');
    assert.equal(await page.textContent('#send'), 'Send');
    await context.close();
  });
});
