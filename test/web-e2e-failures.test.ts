/** The chat page in headless Chromium: failed sends, retry, unanswered questions, the error bubble, regenerate placement. */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Page } from 'playwright-core';
import type { RecordedRequest } from '../src/emulators/index.js';
import { chromiumAvailable, openPage, sendMessage, useWebStack } from './web-helpers.js';

interface StoredConversation {
  id: string;
  title: string;
  messages: Array<{ id: string; role: string; content: string; status: string }>;
}

const skip = chromiumAvailable() ? false : 'chromium is not installed at /usr/bin/chromium';

function sentMessages(request: RecordedRequest | undefined): Array<[string, string]> {
  const body = request?.body as { messages?: Array<{ role: string; content: string }> } | undefined;
  return (body?.messages ?? []).map((message) => [message.role, message.content]);
}

describe('web page: failures and retry', { skip }, () => {
  const web = useWebStack();

  async function stored(page: Page): Promise<StoredConversation> {
    const id = await page.evaluate(() => localStorage.getItem('g4f.current'));
    assert.ok(id, 'the page remembers the open conversation');
    const response = await fetch(`${web.stack.url}/api/conversations/${id}`);
    assert.equal(response.status, 200);
    return (await response.json()) as StoredConversation;
  }

  async function conversationCount(): Promise<number> {
    const list = (await (await fetch(`${web.stack.url}/api/conversations`)).json()) as { data: unknown[] };
    return list.data.length;
  }

  test('a message over 500,000 characters is refused on the page: kept in the composer, nothing sent or stored', async () => {
    web.stack.lockchat.setScript(undefined);
    web.stack.lockchat.setDefaultPlan({});
    const { context, page } = await openPage(web.browser, web.stack.url);
    await sendMessage(page, 'First question');
    await page.waitForSelector('.message.assistant[data-status="complete"]');
    const before = await stored(page);
    const requestsBefore = web.stack.lockchat.requests.length;
    const huge = 'x'.repeat(500_001);
    await page.fill('#input', huge);
    await page.press('#input', 'Enter');
    await page.waitForSelector('.notice.too-long');
    assert.match((await page.textContent('.notice.too-long')) ?? '', /too long/);
    assert.equal(await page.inputValue('#input').then((value) => value.length), huge.length, 'the text stays in the composer');
    assert.equal(await page.locator('.message.user').count(), 1);
    assert.equal(web.stack.lockchat.requests.length, requestsBefore, 'nothing went upstream');
    assert.deepEqual(await stored(page), before, 'the stored conversation is untouched');
    await context.close();
  });

  test('a send that fails before the message is saved: Retry resends the same text, the earlier answer stays', async () => {
    web.stack.lockchat.setDefaultPlan({});
    web.stack.lockchat.setScript((_request, index) => ({ text: `Answer ${index}` }));
    try {
      const { context, page } = await openPage(web.browser, web.stack.url);
      await sendMessage(page, 'First question');
      await page.waitForSelector('.message.assistant[data-status="complete"]');
      const first = await stored(page);
      const firstAnswer = first.messages[1]?.content;
      // The next send is refused by the server (routed away: the page gets a 503 before anything is saved).
      let refuse = true;
      await page.route('**/messages', (route) =>
        refuse ? route.fulfill({ status: 503, contentType: 'application/json', body: '{"error":{"message":"busy","code":"busy"}}' }) : route.continue(),
      );
      await page.fill('#input', 'Second question');
      await page.press('#input', 'Enter');
      const error = page.locator('.error-bubble');
      await error.waitFor();
      assert.equal(await page.inputValue('#input'), 'Second question', 'the unsaved text is back in the composer');
      assert.equal(await page.locator('.message.user').last().getAttribute('data-status'), 'not-sent');
      assert.deepEqual((await stored(page)).messages, first.messages, 'nothing was stored');
      refuse = false;
      await page.fill('#input', '');
      await error.locator('[data-action="retry"]').click();
      await page.waitForFunction(() => document.querySelectorAll('.message.assistant[data-status="complete"]').length === 2);
      const after = await stored(page);
      assert.deepEqual(after.messages.map((m) => [m.role, m.content]).slice(0, 3), [
        ['user', 'First question'],
        ['assistant', firstAnswer],
        ['user', 'Second question'],
      ]);
      assert.equal(after.messages.length, 4);
      assert.equal(await page.locator('.message.user').count(), 2);
      await context.close();
    } finally {
      web.stack.lockchat.setScript(undefined);
    }
  });

  test('a failed first send leaves no empty conversation behind', async () => {
    await fetch(`${web.stack.url}/api/conversations`, { method: 'DELETE' });
    const { context, page } = await openPage(web.browser, web.stack.url);
    await page.route('**/messages', (route) => route.abort('connectionreset'));
    await sendMessage(page, 'Lost in the network');
    await page.locator('.error-bubble').waitFor();
    await page.waitForFunction(() => localStorage.getItem('g4f.current') === null);
    assert.equal(await conversationCount(), 0);
    assert.equal(await page.inputValue('#input'), 'Lost in the network');
    await context.close();
  });

  test('a question whose answer failed is marked, never sent as context, and keeps a Retry after reload', async () => {
    web.stack.lockchat.setDefaultPlan({});
    web.stack.lockchat.setScript((request) => {
      const last = sentMessages(request).at(-1)?.[1] ?? '';
      return last.startsWith('FAIL') ? { status: 500, errorMessage: 'upstream down' } : {};
    });
    try {
      const { context, page } = await openPage(web.browser, web.stack.url);
      await sendMessage(page, 'Hello');
      await page.waitForSelector('.message.assistant[data-status="complete"]');
      await sendMessage(page, 'FAIL please');
      await page.locator('.error-bubble').waitFor();
      assert.equal(await page.locator('.message.user').last().getAttribute('data-status'), 'no-answer');
      assert.equal(await page.inputValue('#input'), '', 'a saved message does not come back to the composer');
      // After a reload: still marked, with a Retry.
      await page.reload();
      await page.waitForSelector('body[data-ready="true"]');
      await page.waitForSelector('.message.user[data-status="no-answer"]');
      assert.equal(await page.locator('.error-bubble [data-action="retry"]').count(), 1);
      // The next question goes upstream without the unanswered one.
      const count = web.stack.lockchat.requests.length;
      await sendMessage(page, 'CUT please');
      await page.waitForFunction(() => (document.querySelector('.message.assistant:last-of-type')?.getAttribute('data-status') ?? '') === 'complete');
      const sent = sentMessages(web.stack.lockchat.requests[count]);
      assert.deepEqual(sent, [
        ['user', 'Hello'],
        ['assistant', 'Echo: Hello'],
        ['user', 'CUT please'],
      ]);
      assert.equal(await page.locator('.message.user[data-status="no-answer"]').count(), 1, 'still marked, without a Retry');
      assert.equal(await page.locator('.error-bubble').count(), 0);
      await context.close();
    } finally {
      web.stack.lockchat.setScript(undefined);
    }
  });

  test('Retry after an upstream failure answers the saved question; a stale retry is refused by the server', async () => {
    web.stack.lockchat.setScript(undefined);
    web.stack.lockchat.setDefaultPlan({ status: 500, errorMessage: '{"detail":"upstream JSON body"}' });
    web.stack.openai.setDefaultPlan({ status: 500, errorMessage: '{"detail":"upstream JSON body"}' });
    const { context, page } = await openPage(web.browser, web.stack.url);
    await page.selectOption('#model', 'gpt-3.5-turbo');
    await page.fill('#input', 'Try me');
    await page.press('#input', 'Enter');
    const error = page.locator('.error-bubble');
    await error.waitFor();
    // Headline, one short line per provider, raw bodies only behind Details.
    assert.equal(await error.locator('.reason').textContent(), 'All providers failed');
    const lines = await error.locator('.attempts li').allTextContents();
    assert.ok(lines.length >= 1);
    for (const line of lines) assert.match(line, /^\w+: HTTP 500, [a-z ]+$/, line);
    assert.equal(await error.locator('.error-details pre').isVisible(), false);
    await error.locator('.error-details summary').click();
    assert.match((await error.locator('.error-details pre').textContent()) ?? '', /upstream JSON body/);
    const saved = await stored(page);
    assert.deepEqual(
      saved.messages.map((m) => m.role),
      ['user'],
    );
    web.stack.lockchat.setDefaultPlan({});
    web.stack.openai.setDefaultPlan({});
    await error.locator('[data-action="retry"]').click();
    await page.waitForSelector('.message.assistant[data-status="complete"]');
    const after = await stored(page);
    assert.deepEqual(
      after.messages.map((m) => [m.role, m.content]),
      [
        ['user', 'Try me'],
        ['assistant', 'Echo: Try me'],
      ],
    );
    // The server refuses to answer again a message that is no longer the last question.
    const response = await fetch(`${web.stack.url}/api/conversations/${after.id}/messages`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ regenerate: true, replyTo: 'not-the-last', model: 'gpt-4' }),
    });
    assert.equal(response.status, 409);
    assert.equal((await stored(page)).messages.length, 2);
    await context.close();
  });

  test('Regenerate is offered on the last answer only', async () => {
    web.stack.lockchat.setDefaultPlan({});
    const { context, page } = await openPage(web.browser, web.stack.url);
    await sendMessage(page, 'One');
    await page.waitForSelector('.message.assistant[data-status="complete"]');
    await sendMessage(page, 'Two');
    await page.waitForFunction(() => document.querySelectorAll('.message.assistant[data-status="complete"]').length === 2);
    const visible = await page
      .locator('.message.assistant [data-action="regenerate"]')
      .evaluateAll((buttons) => buttons.map((button) => (button as HTMLElement).offsetParent !== null));
    assert.deepEqual(visible, [false, true]);
    await context.close();
  });
});
