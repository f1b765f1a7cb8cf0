/**
 * The page's API over real sockets, against what a hostile or careless client can send: a huge
 * import (a summary comes back; the shared limits refuse what is over them), a malformed Host,
 * and requests from another origin (CORS is for /v1 only; changes come from the page's own origin).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CONVERSATION_LIMITS } from '../src/store/index.js';
import { send, startFixture, type Fixture, type RawResponse } from './server-fixture.js';

const APP_ORIGIN = 'http://app.example';

interface ErrorBody {
  message: string;
  type: string;
  param: string | null;
  code: string | null;
}

function errorOf(response: RawResponse): ErrorBody {
  return (JSON.parse(response.body) as { error: ErrorBody }).error;
}

const json = { 'content-type': 'application/json' };

describe('the page API: imports, Host, origins', () => {
  let fixture: Fixture;
  let dataDir: string;
  before(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'g4f-web-hardening-'));
    fixture = await startFixture({ web: true, dataDir, corsOrigins: [APP_ORIGIN] });
  });
  after(async () => {
    await fixture.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  function post(path: string, body: unknown, headers: Record<string, string> = {}): Promise<RawResponse> {
    return send(fixture.url, { method: 'POST', path, headers: { ...json, ...headers }, body: JSON.stringify(body) });
  }

  function importJson(document: unknown, headers: Record<string, string> = {}): Promise<RawResponse> {
    return post('/api/conversations/import', { format: 'json', content: JSON.stringify(document) }, headers);
  }

  async function conversationCount(): Promise<number> {
    const list = await send(fixture.url, { path: '/api/conversations?limit=1000' });
    return (JSON.parse(list.body) as { data: unknown[] }).data.length;
  }

  test('an import of many messages is answered with a summary, not the messages', async () => {
    const count = CONVERSATION_LIMITS.importMessages;
    const messages = Array.from({ length: count }, (_, index) => ({
      role: index % 2 === 0 ? 'user' : 'assistant',
      content: `message ${index} ${'x'.repeat(100)}`,
    }));
    const characters = messages.reduce((sum, message) => sum + message.content.length, 0);
    const response = await importJson({ conversation: { title: 'Many messages', systemPrompt: 'Be brief.' }, messages });
    assert.equal(response.status, 201, response.body.slice(0, 300));
    assert.ok(response.body.length < 2_000, `the reply is ${response.body.length} characters`);
    const summary = JSON.parse(response.body) as Record<string, unknown>;
    assert.equal(summary.messages, undefined);
    assert.equal(summary.systemPrompt, undefined);
    assert.equal(summary.title, 'Many messages');
    assert.equal(summary.messageCount, count);
    assert.equal(summary.characterCount, characters);
    assert.equal(summary.systemPromptCharacters, 'Be brief.'.length);
    // The messages are read as the page does: with the conversation.
    const stored = await send(fixture.url, { path: `/api/conversations/${String(summary.id)}` });
    assert.equal(stored.status, 200);
    const conversation = JSON.parse(stored.body) as { messages: Array<{ content: string }> };
    assert.equal(conversation.messages.length, count);
    assert.equal(conversation.messages.at(-1)?.content, messages.at(-1)?.content);
  });

  test('an import over the shared limits is refused with the limit named, and nothing is stored', async () => {
    const before = await conversationCount();
    const tooMany = Array.from({ length: CONVERSATION_LIMITS.importMessages + 1 }, () => ({ role: 'user', content: 'hi' }));
    const many = await importJson({ messages: tooMany });
    assert.equal(many.status, 400);
    assert.equal(errorOf(many).param, 'messages');
    assert.match(errorOf(many).message, new RegExp(CONVERSATION_LIMITS.importMessages.toLocaleString('en-US')));

    const long = await importJson({ messages: [{ role: 'user', content: 'y'.repeat(CONVERSATION_LIMITS.messageChars + 1) }] });
    assert.equal(long.status, 400);
    assert.equal(errorOf(long).param, 'messages.0.content');
    assert.match(errorOf(long).message, new RegExp(CONVERSATION_LIMITS.messageChars.toLocaleString('en-US')));

    const text = `# Huge\n\n## User\n${'z'.repeat(CONVERSATION_LIMITS.importChars)}\n`;
    const huge = await post('/api/conversations/import', { format: 'markdown', content: text });
    assert.ok(huge.status === 400 || huge.status === 413, String(huge.status));
    assert.match(errorOf(huge).message, new RegExp(CONVERSATION_LIMITS.importChars.toLocaleString('en-US')));
    assert.equal(await conversationCount(), before);
  });

  test('a system prompt over the cap is refused on import as by PATCH and create', async () => {
    const cap = CONVERSATION_LIMITS.systemPromptChars;
    const prompt = 's'.repeat(cap + 1);
    const created = await post('/api/conversations', { title: 'Capped' });
    assert.equal(created.status, 201);
    const { id } = JSON.parse(created.body) as { id: string };
    const before = await conversationCount();

    const patched = await send(fixture.url, {
      method: 'PATCH',
      path: `/api/conversations/${id}`,
      headers: json,
      body: JSON.stringify({ systemPrompt: prompt }),
    });
    const imported = await importJson({ conversation: { title: 'Long prompt', systemPrompt: prompt }, messages: [{ role: 'user', content: 'hi' }] });
    const marked = await post('/api/conversations/import', {
      format: 'markdown',
      content: `# Long prompt\n\n<!-- g4f:conversation ${JSON.stringify({ systemPrompt: prompt })} -->\n\n<!-- g4f:message {"role":"user","length":2} -->\n## User\n\nhi\n`,
    });
    const fresh = await post('/api/conversations', { systemPrompt: prompt });
    for (const [name, response] of [
      ['PATCH', patched],
      ['import json', imported],
      ['import markdown', marked],
      ['create', fresh],
    ] as const) {
      assert.equal(response.status, 400, name);
      const error = errorOf(response);
      assert.equal(error.type, 'invalid_request_error', name);
      assert.match(error.param ?? '', /systemPrompt$/, name);
      assert.match(
        error.message,
        new RegExp(`${(cap + 1).toLocaleString('en-US')} characters long; the limit is ${cap.toLocaleString('en-US')} characters`),
        name,
      );
    }
    assert.equal(await conversationCount(), before);
    const kept = JSON.parse((await send(fixture.url, { path: `/api/conversations/${id}` })).body) as { systemPrompt: string };
    assert.equal(kept.systemPrompt, '');
    // At the cap exactly, both ways take it.
    const atCap = 's'.repeat(cap);
    assert.equal(
      (await send(fixture.url, { method: 'PATCH', path: `/api/conversations/${id}`, headers: json, body: JSON.stringify({ systemPrompt: atCap }) })).status,
      200,
    );
    assert.equal((await importJson({ conversation: { systemPrompt: atCap }, messages: [] })).status, 201);
  });

  test('a malformed Host is a 400 naming the header, never a 500, on the page and the API', async () => {
    for (const host of ['localhost:evil', 'localhost:', 'localhost:99999']) {
      for (const [method, path] of [
        ['GET', '/api/config'],
        ['GET', '/api/conversations'],
        ['POST', '/api/conversations'],
        ['GET', '/'],
        ['GET', '/v1/models'],
      ] as const) {
        const response = await send(fixture.url, { method, path, headers: { host, ...json }, ...(method === 'POST' ? { body: '{}' } : {}) });
        assert.equal(response.status, 400, `${host} ${method} ${path}`);
        const error = errorOf(response);
        assert.equal(error.code, 'invalid_host', `${host} ${path}`);
        assert.equal(error.type, 'invalid_request_error');
        assert.match(error.message, /Host header .* port/);
      }
    }
    const port = new URL(fixture.url).port;
    assert.equal((await send(fixture.url, { path: '/api/config', headers: { host: `localhost:${port}` } })).status, 200);
  });

  test('CORS is for /v1 only: a preflight to /api gets no CORS headers, one to /v1 does', async () => {
    const preflight = (path: string): Promise<RawResponse> =>
      send(fixture.url, {
        method: 'OPTIONS',
        path,
        headers: { origin: APP_ORIGIN, 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type' },
      });
    for (const path of ['/api/conversations', '/api/conversations/import', '/api/conversations/abc/messages']) {
      const response = await preflight(path);
      assert.notEqual(response.status, 204, path);
      for (const name of ['access-control-allow-origin', 'access-control-allow-methods', 'access-control-allow-headers']) {
        assert.equal(response.headers[name], undefined, `${path} ${name}`);
      }
    }
    const v1 = await preflight('/v1/chat/completions');
    assert.equal(v1.status, 204);
    assert.equal(v1.headers['access-control-allow-origin'], APP_ORIGIN);
    assert.match(String(v1.headers['access-control-allow-methods']), /POST/);
    const read = await send(fixture.url, { path: '/api/conversations', headers: { origin: APP_ORIGIN } });
    assert.equal(read.headers['access-control-allow-origin'], undefined);
    assert.equal((await send(fixture.url, { path: '/v1/models', headers: { origin: APP_ORIGIN } })).headers['access-control-allow-origin'], APP_ORIGIN);
  });

  test('changes from another origin are refused; the page’s own origin and clients without Origin are not', async () => {
    const before = await conversationCount();
    const own = new URL(fixture.url).origin;
    const refused: Array<[string, Promise<RawResponse>]> = [
      ['POST, allowed for CORS', post('/api/conversations', { title: 'From elsewhere' }, { origin: APP_ORIGIN })],
      ['POST, other port', post('/api/conversations', { title: 'From elsewhere' }, { origin: 'http://127.0.0.1:1' })],
      ['POST, https', post('/api/conversations', { title: 'From elsewhere' }, { origin: own.replace('http:', 'https:') })],
      ['POST, null origin', post('/api/conversations', { title: 'From elsewhere' }, { origin: 'null' })],
      ['POST, cross-site fetch', post('/api/conversations', { title: 'From elsewhere' }, { 'sec-fetch-site': 'cross-site' })],
      ['import', importJson({ messages: [{ role: 'user', content: 'x' }] }, { origin: 'http://evil.example' })],
      ['clear all', send(fixture.url, { method: 'DELETE', path: '/api/conversations', headers: { origin: 'http://evil.example' } })],
    ];
    for (const [name, pending] of refused) {
      const response = await pending;
      assert.equal(response.status, 403, name);
      const error = errorOf(response);
      assert.equal(error.code, 'cross_origin_refused', name);
      assert.equal(error.type, 'permission_error', name);
      assert.match(error.message, /another (origin|site)/, name);
      assert.equal(response.headers['access-control-allow-origin'], undefined, name);
    }
    assert.equal(await conversationCount(), before, 'nothing was created or deleted');

    const sameOrigin = await post('/api/conversations', { title: 'From the page' }, { origin: own, 'sec-fetch-site': 'same-origin' });
    assert.equal(sameOrigin.status, 201);
    const { id } = JSON.parse(sameOrigin.body) as { id: string };
    const port = new URL(fixture.url).port;
    const byName = await send(fixture.url, {
      method: 'PATCH',
      path: `/api/conversations/${id}`,
      headers: { ...json, host: `localhost:${port}`, origin: `http://localhost:${port}` },
      body: JSON.stringify({ title: 'Renamed' }),
    });
    assert.equal(byName.status, 200);
    const proxied = await post('/api/conversations', { title: 'Behind a TLS proxy' }, { origin: own.replace('http:', 'https:'), 'x-forwarded-proto': 'https' });
    assert.equal(proxied.status, 201);
    const curl = await post('/api/conversations', { title: 'From curl' });
    assert.equal(curl.status, 201);
    const crossPatch = await send(fixture.url, {
      method: 'PATCH',
      path: `/api/conversations/${id}`,
      headers: { ...json, origin: APP_ORIGIN },
      body: '{"title":"x"}',
    });
    assert.equal(crossPatch.status, 403);
    const crossDelete = await send(fixture.url, { method: 'DELETE', path: `/api/conversations/${id}`, headers: { origin: APP_ORIGIN } });
    assert.equal(crossDelete.status, 403);
    assert.equal(await conversationCount(), before + 3);
  });
});
