/**
 * The chat page in headless Chromium: an answer rendered block by block while it streams (and when
 * it is reopened) shows the same as the whole answer rendered at once by the page's own renderer,
 * for the shapes that cannot be cut at any blank line: code in list items and block quotes, loose
 * lists, a line of backticks that is not a fence, long code inside a list item.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Page } from 'playwright-core';
import { chromiumAvailable, openPage, sendMessage, shapeScript, useWebStack, type RenderedShape } from './web-helpers.js';

const skip = chromiumAvailable() ? false : 'chromium is not installed at /usr/bin/chromium';
const FULLY_SHOWN = '.message.assistant[data-status="complete"] .content:not([data-rendering])';

const fence = '```';

interface Case {
  name: string;
  answer: string;
  chunkCount: number;
  /** The answer holds code long enough to be rendered in pieces (checks that the pieces are shown as one code block). */
  pieces?: boolean;
  /** What the whole answer renders to (checks that the answer has the intended shape). */
  expect: (shape: RenderedShape) => void;
}

function pythonLines(count: number, indent: string): string[] {
  const lines: string[] = [];
  for (let index = 0; index < count; index += 1) {
    lines.push(
      `${indent}def handler_${index}(request):`,
      `${indent}    value = request.get("item_${index}", ${index})`,
      '',
      `${indent}    return value * ${index + 1}`,
      '',
    );
  }
  return lines;
}

const cases: Case[] = [
  {
    name: 'numbered steps with indented code blocks containing blank lines',
    chunkCount: 90,
    answer: [
      'Here is how to set it up:',
      '',
      '1. Install the package:',
      '',
      `   ${fence}bash`,
      '   npm install thing',
      '',
      '   npm run build',
      `   ${fence}`,
      '',
      '2. Write the configuration:',
      '',
      `   ${fence}js`,
      '   export default {',
      '     name: "demo",',
      '',
      '     port: 8080,',
      '   };',
      `   ${fence}`,
      '',
      '3. Start it:',
      '',
      `   ${fence}`,
      '   npm start',
      `   ${fence}`,
      '',
      'That is all.',
    ].join('\n'),
    expect: (shape) => {
      assert.equal(shape.counts.ol, 1);
      assert.equal(shape.counts.li, 3);
      assert.equal(shape.codes.length, 3);
      assert.ok(shape.codes.every((code) => code.path === 'ol>li'));
    },
  },
  {
    name: 'nested lists with code 4 and 6 spaces deep',
    chunkCount: 80,
    answer: [
      '- Backend',
      '  - Server:',
      '',
      `    ${fence}python`,
      '    def main():',
      '        start()',
      '',
      '',
      '    main()',
      `    ${fence}`,
      '',
      '  - Database:',
      '    1. Create it:',
      '',
      `       ${fence}sql`,
      '       CREATE TABLE items (id INTEGER);',
      '',
      '       INSERT INTO items VALUES (1);',
      `       ${fence}`,
      '',
      '    2. Check it.',
      '- Frontend',
      '',
      'Done.',
    ].join('\n'),
    expect: (shape) => {
      assert.equal(shape.codes.length, 2);
      assert.deepEqual(
        shape.codes.map((code) => code.path),
        ['ul>li>ul>li', 'ul>li>ul>li>ol>li'],
      );
    },
  },
  {
    name: 'a long block quote with a fenced code block and blank lines',
    chunkCount: 120,
    pieces: true,
    answer: [
      'A note:',
      '',
      '> **Note:** the handlers below are examples.',
      '>',
      `> ${fence}python`,
      ...pythonLines(24, '').map((line) => (line === '' ? '>' : `> ${line}`)),
      `> ${fence}`,
      '>',
      '> Adapt them to your needs.',
      '',
      'After the quote.',
    ].join('\n'),
    expect: (shape) => {
      assert.equal(shape.counts.blockquote, 1);
      assert.equal(shape.codes.length, 1);
      assert.equal(shape.codes[0]?.path, 'blockquote');
      assert.ok((shape.codes[0]?.code.length ?? 0) > 2_000, 'a quote longer than a block');
    },
  },
  {
    name: 'a loose ordered list of 30 items',
    chunkCount: 150,
    answer: [
      'The steps:',
      '',
      ...Array.from({ length: 30 }, (_, index) => `${index + 1}. Step number ${index + 1}: do the thing called item ${index + 1}.\n`),
      'Finished.',
    ].join('\n'),
    expect: (shape) => {
      assert.equal(shape.counts.ol, 1);
      assert.equal(shape.counts.li, 30);
      assert.equal(shape.looseItems, 30);
    },
  },
  {
    name: 'a line of backticks with a backtick in its info string is not a fence',
    chunkCount: 40,
    answer: [`${fence} \`x\` ${fence} shows a code span.`, '', fence, 'a = 1', '', 'b = 2', fence, '', 'Done.'].join('\n'),
    expect: (shape) => {
      assert.equal(shape.codes.length, 1);
      assert.equal(shape.codes[0]?.code, 'a = 1\n\nb = 2\n');
      assert.equal(shape.counts.p, 2);
    },
  },
  {
    name: 'a code block inside a list item longer than 2,000 characters',
    chunkCount: 200,
    pieces: true,
    answer: [
      '1. Create `handlers.py`:',
      '',
      `   ${fence}python`,
      ...pythonLines(60, '   '),
      `   ${fence}`,
      '',
      '2. Run it:',
      '',
      `   ${fence}sh`,
      '   python handlers.py',
      `   ${fence}`,
      '',
      '3. Check the output.',
    ].join('\n'),
    expect: (shape) => {
      assert.equal(shape.counts.ol, 1);
      assert.equal(shape.counts.li, 3);
      assert.equal(shape.codes.length, 2);
      assert.ok((shape.codes[0]?.code.length ?? 0) > 4_000, 'longer than two blocks');
      assert.ok(shape.codes.every((code) => code.path === 'ol>li'));
    },
  },
  {
    name: 'an indented code block with blank lines',
    chunkCount: 40,
    answer: ['Indented code:', '', '    first()', '', '', '    second()', '', 'After it.'].join('\n'),
    expect: (shape) => {
      assert.equal(shape.codes.length, 1);
      assert.equal(shape.codes[0]?.code, 'first()\n\n\nsecond()\n');
    },
  },
  {
    name: 'plain prose paragraphs',
    chunkCount: 300,
    answer: Array.from({ length: 24 }, (_, index) =>
      index % 6 === 0
        ? `## Part ${index / 6 + 1}`
        : `Paragraph ${index}: ${'Lorem ipsum dolor sit amet, *consectetur* adipiscing elit, sed do eiusmod tempor. '.repeat(3)}\nIt continues on a second line with \`code\` and a [link](https://example.com/${index}).`,
    ).join('\n\n'),
    expect: (shape) => {
      assert.equal(shape.counts.h2, 4);
      assert.equal(shape.counts.p, 20);
    },
  },
];

/** Checks that the last answer shows as `whole`. */
async function checkShown(page: Page, item: Case, whole: RenderedShape, round: string): Promise<void> {
  const shape = (await page.evaluate(`window.renderedShape([...document.querySelectorAll('.message.assistant .content')].at(-1))`)) as RenderedShape;
  assert.deepEqual(shape, whole, round);
  if (item.pieces === true) {
    const pieces = await page.locator('.message.assistant .content').last().locator('.code-block.continued').count();
    assert.ok(pieces > 0, `${round}: the long code is rendered in pieces`);
  }
}

describe('web page: an answer rendered in blocks shows the same as rendered whole', { skip }, () => {
  const web = useWebStack();
  let script = '';

  for (const item of cases) {
    test(item.name, async () => {
      if (script === '') script = await shapeScript();
      web.stack.lockchat.setDefaultPlan({ text: item.answer, chunkCount: item.chunkCount });
      const { context, page } = await openPage(web.browser, web.stack.url);
      await page.evaluate(script);
      const whole = (await page.evaluate(`window.renderWhole(${JSON.stringify(item.answer)})`)) as RenderedShape;
      item.expect(whole);
      await sendMessage(page, `Answer: ${item.name}`);
      await page.waitForSelector(FULLY_SHOWN, { timeout: 60_000 });
      await checkShown(page, item, whole, 'streamed');
      await page.reload();
      await page.waitForSelector(FULLY_SHOWN, { timeout: 60_000 });
      await page.evaluate(script);
      await checkShown(page, item, whole, 'reopened');
      await context.close();
    });
  }
});
