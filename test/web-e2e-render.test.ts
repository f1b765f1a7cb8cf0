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
    // The block's content as sent between the fences (its last line a blank one), without the
    // line end before the closing fence.
    const code = answer.slice(answer.indexOf('```python\n') + '```python\n'.length, answer.lastIndexOf('```')).replace(/\n$/, '');
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
      assert.equal(copied, code, `${round}: the copy is the whole code, byte for byte`);
      if (round === 'streamed') {
        await page.reload();
        await page.waitForSelector(FULLY_SHOWN, { timeout: 60_000 });
        await page.evaluate(STUB_CLIPBOARD);
      }
    }
    await context.close();
  });

  test('Copy copies what is between the fences, without the last line end: blank lines, pieces, streamed and reopened', async () => {
    // Functions of 3 to 7 lines, a blank line after each, and in the middle a run of blank lines
    // longer than a piece (so that a piece ends with blank lines). The last line is spaces only.
    const long: string[] = [];
    for (let index = 0; long.join('\n').length < 30_000; index += 1) {
      long.push(`def step_${index}(x):`, ...Array.from({ length: index % 5 }, (_, k) => `    x = x * ${k + 2} + ${index}`), '    return x', '');
      if (index === 100) long.push(...Array.from({ length: 3_000 }, () => ''));
    }
    long.push('    ');
    const blocks = [
      { fence: '```', info: 'python', lines: ['x = 1', 'print(x)'] },
      { fence: '```', info: 'sh', lines: ['ls -la', ''] },
      { fence: '~~~~', info: '', lines: ['```', 'not a fence', '', ''] },
      { fence: '```', info: 'python', lines: long },
      { fence: '```', info: 'js', lines: [] },
    ];
    // What the model sends between the fences: each line with its line end.
    const contents = blocks.map((block) => block.lines.map((line) => `${line}\n`).join(''));
    const answer = blocks.map((block, index) => `Block ${index}:\n\n${block.fence}${block.info}\n${contents[index]}${block.fence}\n`).join('\n');
    web.stack.lockchat.setDefaultPlan({ text: answer, chunkCount: 400 });
    const { context, page } = await openPage(web.browser, web.stack.url);
    await page.evaluate(STUB_CLIPBOARD);
    await sendMessage(page, 'Code blocks please');
    await page.waitForSelector(FULLY_SHOWN, { timeout: 60_000 });
    for (const round of ['streamed', 'reopened']) {
      const content = page.locator('.message.assistant .content').last();
      const heads = content.locator('.code-block:not(.continued)');
      assert.equal(await heads.count(), blocks.length, `${round}: one block per fence`);
      // The pieces of each block: the long one is cut in many, some of them after a blank line.
      const shown = await content
        .locator('.code-block')
        .evaluateAll((elements) =>
          elements.map((element) => ({ continued: element.classList.contains('continued'), code: element.querySelector('code')?.textContent ?? '' })),
        );
      const pieces: string[][] = [];
      for (const piece of shown) {
        if (piece.continued) pieces.at(-1)?.push(piece.code);
        else pieces.push([piece.code]);
      }
      const longPieces = pieces[3] ?? [];
      assert.ok(longPieces.length > 10, `${round}: the long block is rendered in pieces`);
      assert.ok(
        longPieces.slice(0, -1).some((piece) => piece.endsWith('\n\n')),
        `${round}: a piece of the long block ends with a blank line`,
      );
      for (const [index, expected] of contents.entries()) {
        await heads.nth(index).locator('[data-action="copy-code"]').click();
        const copied = await page.evaluate(() => (window as unknown as { copied: string[] }).copied.at(-1));
        assert.equal(copied, expected.replace(/\n$/, ''), `${round}: block ${index} copied as sent, without the last line end`);
      }
      if (round === 'streamed') {
        await page.reload();
        await page.waitForSelector(FULLY_SHOWN, { timeout: 60_000 });
        await page.evaluate(STUB_CLIPBOARD);
      }
    }
    await context.close();
  });

  test('Copy puts the code block on the system clipboard, without the line end that would run a pasted command', async () => {
    web.stack.lockchat.setDefaultPlan({ text: 'Run:\n\n```sh\ncd /tmp\nls -la\n```\n', chunkCount: 3 });
    const { context, page } = await openPage(web.browser, web.stack.url);
    await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: web.stack.url });
    await page.evaluate(() => navigator.clipboard.writeText('before'));
    await sendMessage(page, 'Commands please');
    await page.waitForSelector(FULLY_SHOWN);
    await page.locator('.message.assistant [data-action="copy-code"]').click();
    await page.waitForFunction(async () => (await navigator.clipboard.readText()) !== 'before');
    assert.equal(await page.evaluate(() => navigator.clipboard.readText()), 'cd /tmp\nls -la');
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
