/** The chat page in headless Chromium: rendering of long and special answers (code in pieces, images, code labels). */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { longPythonAnswer } from '../bench/web-longtask.js';
import { chromiumAvailable, openPage, sendMessage, useWebStack } from './web-helpers.js';

const skip = chromiumAvailable() ? false : 'chromium is not installed at /usr/bin/chromium';
/** Records what the page copies (a string: functions passed to the page must not be renamed by the test's compiler). */
const STUB_CLIPBOARD = `window.copied = []; Object.defineProperty(navigator, 'clipboard', { value: { writeText: (text) => { window.copied.push(text); return Promise.resolve(); } } });`;
const FULLY_SHOWN = '.message.assistant[data-status="complete"] .content:not([data-rendering])';

describe('web page: rendering', { skip }, () => {
  const web = useWebStack();

  test('a 127k-character code answer shows as one block whose Copy copies all of it, streamed and reopened', async () => {
    const answer = longPythonAnswer();
    const code = answer.slice(answer.indexOf('```python\n') + '```python\n'.length, answer.lastIndexOf('\n```'));
    web.stack.lockchat.setDefaultPlan({ text: answer, chunkCount: 500 });
    const { context, page } = await openPage(web.browser, web.stack.url);
    await page.evaluate(STUB_CLIPBOARD);
    await sendMessage(page, 'Long code please');
    await page.waitForSelector(FULLY_SHOWN, { timeout: 60_000 });
    for (const round of ['streamed', 'reopened']) {
      const content = page.locator('.message.assistant .content').last();
      assert.equal(await content.locator('.code-head').count(), 1, `${round}: one head for the whole block`);
      assert.ok((await content.locator('.code-block.continued').count()) > 10, `${round}: rendered in pieces`);
      assert.equal(await content.locator('.code-head span').textContent(), 'python');
      assert.ok((await content.locator('.hljs-keyword').count()) > 1000, `${round}: highlighted`);
      await content.locator('[data-action="copy-code"]').click();
      const copied = await page.evaluate(() => (window as unknown as { copied: string[] }).copied.at(-1) ?? '');
      // The whole code, byte for byte (a trailing blank line aside).
      assert.equal(copied.trimEnd(), code.trimEnd(), `${round}: the copy is the whole code`);
      if (round === 'streamed') {
        await page.reload();
        await page.waitForSelector(FULLY_SHOWN, { timeout: 60_000 });
        await page.evaluate(STUB_CLIPBOARD);
      }
    }
    await context.close();
  });

  test('images are links, raw <img> is dropped, a code block without a language is labelled text', async () => {
    const text = ['A picture: ![a cat](https://example.com/cat.png)', '', '<img src="https://example.com/raw.png">', '', '```', 'SELECT 1;', '```'].join('\n');
    web.stack.lockchat.setDefaultPlan({ text, chunkCount: 3 });
    const { context, page } = await openPage(web.browser, web.stack.url);
    const images: string[] = [];
    page.on('request', (request) => {
      if (request.url().includes('example.com')) images.push(request.url());
    });
    await sendMessage(page, 'Show a picture');
    await page.waitForSelector(FULLY_SHOWN);
    const content = page.locator('.message.assistant .content').last();
    assert.equal(await content.locator('img').count(), 0);
    const link = content.locator('a.image-link');
    assert.equal(await link.getAttribute('href'), 'https://example.com/cat.png');
    assert.match((await link.textContent()) ?? '', /a cat/);
    assert.equal(await content.locator('.code-head span').textContent(), 'text');
    assert.equal(await content.locator('.code-block .hljs-keyword').count(), 0, 'no guessed highlighting');
    assert.deepEqual(images, []);
    await context.close();
  });
});
