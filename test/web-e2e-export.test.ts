/** The chat page in headless Chromium and the HTTP API: export and import, and the notice when old turns do not fit the context. */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { chromiumAvailable, openPage, sendMessage, useWebStack } from './web-helpers.js';

interface StoredConversation {
  id: string;
  title: string;
  messages: Array<{ role: string; content: string; status: string }>;
}

const skip = chromiumAvailable() ? false : 'chromium is not installed at /usr/bin/chromium';

describe('web page: export, import, context notice', { skip }, () => {
  const web = useWebStack();

  async function call(path: string, init?: RequestInit): Promise<Response> {
    return fetch(`${web.stack.url}${path}`, init);
  }

  test('HTTP API: export as JSON and Markdown, import both back, bad imports are 400s', async () => {
    const created = (await (
      await call('/api/conversations', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"title":"Export me"}' })
    ).json()) as StoredConversation;
    const answered = await call(`/api/conversations/${created.id}/messages`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ content: 'Line one\n\n```js\nlet x = 1;\n```', model: 'gpt-4' }),
    });
    assert.equal(answered.status, 200);
    await answered.text();
    const original = (await (await call(`/api/conversations/${created.id}`)).json()) as StoredConversation;
    assert.equal(original.messages.length, 2);
    for (const format of ['json', 'markdown'] as const) {
      const exported = await call(`/api/conversations/${created.id}/export?format=${format}`);
      assert.equal(exported.status, 200);
      assert.match(exported.headers.get('content-disposition') ?? '', new RegExp(`attachment; filename="Export-me\\.${format === 'json' ? 'json' : 'md'}"`));
      const text = await exported.text();
      const imported = await call('/api/conversations/import', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ format, content: text }),
      });
      assert.equal(imported.status, 201, format);
      // The import answers with a summary; the messages are read as the page reads them.
      const summary = (await imported.json()) as { id: string; messageCount: number };
      assert.equal(summary.messageCount, original.messages.length, format);
      const copy = (await (await call(`/api/conversations/${summary.id}`)).json()) as StoredConversation;
      assert.notEqual(copy.id, created.id);
      assert.equal(copy.title, 'Export me');
      assert.deepEqual(
        copy.messages.map((m) => [m.role, m.content, m.status]),
        original.messages.map((m) => [m.role, m.content, m.status]),
        format,
      );
    }
    assert.equal((await call(`/api/conversations/${created.id}/export?format=pdf`)).status, 400);
    const bad = await call('/api/conversations/import', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ format: 'json', content: '{"messages":[{"role":"robot","content":"x"}]}' }),
    });
    assert.equal(bad.status, 400);
    assert.equal(((await bad.json()) as { error: { type: string } }).error.type, 'invalid_request_error');
  });

  test('the page: export buttons are off on a new chat; export downloads JSON and Markdown; import opens the imported conversation', async () => {
    web.stack.lockchat.setDefaultPlan({});
    const { context, page } = await openPage(web.browser, web.stack.url);
    assert.equal(await page.isDisabled('#export-json'), true);
    assert.equal(await page.isDisabled('#export-md'), true);
    await sendMessage(page, 'Export from the page');
    await page.waitForSelector('.message.assistant[data-status="complete"]');
    assert.equal(await page.isDisabled('#export-json'), false);
    const files: Record<string, string> = {};
    for (const [button, extension] of [
      ['#export-json', 'json'],
      ['#export-md', 'md'],
    ] as const) {
      const [download] = await Promise.all([page.waitForEvent('download'), page.click(button)]);
      assert.equal(download.suggestedFilename(), `Export from the page.${extension}`);
      files[extension] = readFileSync(await download.path(), 'utf8');
    }
    const json = JSON.parse(files.json ?? '') as { format: string; messages: Array<{ content: string }> };
    assert.equal(json.format, 'g4f-conversation');
    assert.deepEqual(
      json.messages.map((m) => m.content),
      ['Export from the page', 'Echo: Export from the page'],
    );
    assert.match(files.md ?? '', /^# Export from the page/m);
    // Import the Markdown through the file picker: a new conversation, opened.
    const edited = (files.md ?? '').replace('# Export from the page', '# Imported back');
    await page.setInputFiles('#import-file', { name: 'back.md', mimeType: 'text/markdown', buffer: Buffer.from(edited) });
    await page.waitForFunction(() => document.getElementById('chat-title')?.textContent === 'Imported back');
    await page.locator('#conversation-list li', { hasText: 'Imported back' }).waitFor();
    await page.waitForSelector('.message.assistant[data-status="complete"]');
    assert.deepEqual(
      await page
        .locator('.message .content')
        .allTextContents()
        .then((texts) => texts.map((text) => text.trim())),
      ['Export from the page', 'Echo: Export from the page'],
    );
    // A broken file: a message, nothing imported.
    const before = ((await (await call('/api/conversations')).json()) as { data: unknown[] }).data.length;
    await page.setInputFiles('#import-file', { name: 'broken.json', mimeType: 'application/json', buffer: Buffer.from('{"messages": 3}') });
    await page.locator('.toast', { hasText: 'Import failed' }).waitFor();
    assert.equal(((await (await call('/api/conversations')).json()) as { data: unknown[] }).data.length, before);
    await context.close();
  });

  test('when the history exceeds the model context, the page says how many earlier messages were not sent', async () => {
    web.stack.lockchat.setDefaultPlan({});
    const long = 'lorem ipsum dolor sit amet '.repeat(1_500);
    const messages = Array.from({ length: 6 }, (_, index) => ({ role: index % 2 === 0 ? 'user' : 'assistant', content: `${index} ${long}` }));
    const imported = (await (
      await call('/api/conversations/import', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ format: 'json', content: JSON.stringify({ conversation: { title: 'Too long for gpt-4' }, messages }) }),
      })
    ).json()) as StoredConversation;
    const { context, page } = await openPage(web.browser, web.stack.url);
    await page.locator(`#conversation-list li[data-id="${imported.id}"] .title`).click();
    await page.waitForFunction(() => document.querySelectorAll('.message').length === 6);
    const count = web.stack.lockchat.requests.length;
    await sendMessage(page, 'And now?');
    const notice = page.locator('.notice');
    await notice.waitFor();
    const text = (await notice.textContent()) ?? '';
    const match = /^(\d+) earlier messages were not sent: the conversation is longer than the context of gpt-4 \(8192 tokens\)\.$/.exec(text);
    assert.ok(match, text);
    const omitted = Number(match[1]);
    assert.ok(omitted >= 2 && omitted <= 6, text);
    await page.waitForSelector('.message.assistant:last-of-type[data-status="complete"]');
    const sent = (web.stack.lockchat.requests[count]?.body as { messages: unknown[] }).messages;
    assert.equal(sent.length, 7 - omitted, 'the notice matches what went upstream');
    await context.close();
  });
});
