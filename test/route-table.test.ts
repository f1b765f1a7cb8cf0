/**
 * The server's one route table: matching rules on their own, then the server's routes over a
 * real socket (HEAD, 405 with Allow, keys, the page's API and files, pinned model ids).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRouteTable, type Route } from '../src/server/route-table.js';
import { rawExchange, send, startFixture, type Fixture } from './server-fixture.js';

const noop = (): void => undefined;

describe('route table matching', () => {
  const routes: Route[] = [
    { method: 'GET', path: '/things', name: 'list', handle: noop },
    { method: 'POST', path: '/things', name: 'create', handle: noop },
    { method: 'POST', path: '/things/import', name: 'import', handle: noop },
    { method: 'GET', path: '/things/:id', name: 'one', handle: noop },
    { method: 'DELETE', path: '/things/:id', name: 'delete', handle: noop },
    { method: 'GET', path: '/things/:id/parts/:part', name: 'part', handle: noop },
    { method: 'GET', path: '/files/*rest', name: 'file', handle: noop },
  ];
  const table = createRouteTable(routes);

  test('literal, parameter and rest segments', () => {
    assert.deepEqual(table.match('GET', '/things/7'), { kind: 'found', route: routes[3], params: { id: '7' } });
    assert.deepEqual(table.match('GET', '/things/7/parts/a%2Fb'), { kind: 'found', route: routes[5], params: { id: '7', part: 'a%2Fb' } });
    assert.deepEqual(table.match('GET', '/files/a/b/c'), { kind: 'found', route: routes[6], params: { rest: 'a/b/c' } });
    assert.deepEqual(table.match('GET', '/files/'), { kind: 'found', route: routes[6], params: { rest: '' } });
    for (const path of ['/files', '/things/', '/things/7/parts', '/thing', '/', '/things/7/parts/a/b', '/things//parts/a']) {
      assert.deepEqual(table.match('GET', path), { kind: 'none' }, path);
    }
  });

  test('the most literal pattern wins: a literal segment is never read as a parameter', () => {
    assert.deepEqual(table.match('POST', '/things/import'), { kind: 'found', route: routes[2], params: {} });
    assert.deepEqual(table.match('GET', '/things/import'), { kind: 'method', allow: 'POST', name: 'import' });
  });

  test("HEAD is answered by GET rows; another method is a 405 listing the path's methods", () => {
    assert.equal((table.match('HEAD', '/things') as { route?: Route }).route?.name, 'list');
    assert.deepEqual(table.match('PUT', '/things'), { kind: 'method', allow: 'GET, POST', name: 'list' });
    assert.deepEqual(table.match('POST', '/things/7'), { kind: 'method', allow: 'GET, DELETE', name: 'one' });
  });
});

describe('the server behind its route table', () => {
  let fixture: Fixture;
  let dataDir: string;
  before(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'g4f-routes-'));
    fixture = await startFixture({ web: true, dataDir, apiKeys: ['secret'] });
  });
  after(async () => {
    await fixture.close();
    rmSync(dataDir, { recursive: true, force: true });
  });
  const key = { authorization: 'Bearer secret' };

  test('every /v1 path needs the key, known or not; then 404 or 405 with Allow', async () => {
    assert.equal((await send(fixture.url, { path: '/v1/nothing-here' })).status, 401);
    assert.equal((await send(fixture.url, { path: '/v1/nothing-here', headers: key })).status, 404);
    const wrong = await send(fixture.url, { path: '/v1/chat/completions', headers: key });
    assert.equal(wrong.status, 405);
    assert.equal(wrong.headers.allow, 'POST');
    const stored = await send(fixture.url, { method: 'PUT', path: '/v1/responses/resp_1', headers: key });
    assert.equal(stored.status, 405);
    assert.equal(stored.headers.allow, 'GET, DELETE');
    assert.equal((await send(fixture.url, { method: 'POST', path: '/v1/embeddings' })).status, 401);
  });

  test('HEAD is answered wherever GET is; pinned model ids, encoded or not', async () => {
    const head = await send(fixture.url, { method: 'HEAD', path: '/v1/models', headers: key });
    assert.equal(head.status, 200);
    assert.equal(head.body, '');
    for (const path of ['/v1/models/alpha/test-model', '/v1/models/alpha%2Ftest-model']) {
      const pinned = await send(fixture.url, { path, headers: key });
      assert.equal(pinned.status, 200, path);
      assert.equal((JSON.parse(pinned.body) as { id: string }).id, 'alpha/test-model');
    }
    assert.equal((await send(fixture.url, { path: '/v1/models/', headers: key })).status, 404);
    assert.equal((await send(fixture.url, { method: 'POST', path: '/health' })).headers.allow, 'GET');
    assert.equal((await send(fixture.url, { method: 'HEAD', path: '/health' })).status, 200);
  });

  test("the page's API: its own errors, keys for conversations, literal routes before ids; its files", async () => {
    const config = await send(fixture.url, { path: '/api/config' });
    assert.equal(config.status, 200, 'the config needs no key');
    assert.equal((await send(fixture.url, { path: '/api/conversations' })).status, 401);
    assert.equal((await send(fixture.url, { path: '/api/conversations/unknown-route/x/y' })).status, 401, 'the key comes before the route');
    const unknown = await send(fixture.url, { path: '/api/nothing' });
    assert.equal(unknown.status, 404);
    assert.equal(unknown.headers['content-type'], 'application/json; charset=utf-8');
    assert.equal(unknown.headers['cache-control'], 'no-store');
    const importByGet = await send(fixture.url, { path: '/api/conversations/import', headers: key });
    assert.equal(importByGet.status, 405);
    assert.equal(importByGet.headers.allow, 'POST');
    const created = await send(fixture.url, {
      method: 'POST',
      path: '/api/conversations',
      headers: { ...key, 'content-type': 'application/json' },
      body: '{"title":"routed"}',
    });
    assert.equal(created.status, 201);
    const { id } = JSON.parse(created.body) as { id: string };
    assert.equal((await send(fixture.url, { path: `/api/conversations/${id}`, headers: key })).status, 200);
    const bad = await send(fixture.url, {
      method: 'PATCH',
      path: `/api/conversations/${id}`,
      headers: { ...key, 'content-type': 'application/json' },
      body: '{"title":5}',
    });
    assert.equal(bad.status, 400);
    assert.equal((JSON.parse(bad.body) as { error: { param: string } }).error.param, 'title');
    assert.equal((await send(fixture.url, { method: 'DELETE', path: `/api/conversations/${id}`, headers: key })).status, 200);
    assert.equal((await send(fixture.url, { method: 'DELETE', path: `/api/conversations/${id}`, headers: key })).status, 404);
    // The page itself (503 with a note until `npm run build` made it).
    const page = await send(fixture.url, { path: '/' });
    assert.ok(page.status === 200 || page.status === 503, String(page.status));
    assert.match(String(page.headers['content-type']), /text\/html/);
    assert.equal((await send(fixture.url, { path: '/no-such-file.js' })).status, 404);
    // A path that resolves into /v1 (or /health) through dot segments is only a file name of the page's: never a keyless way in.
    // (Sent as raw bytes: a URL-based client would resolve the dots itself.)
    const host = new URL(fixture.url).host;
    for (const path of ['/api/../v1/models', '/x/%2e%2e/v1/providers', '/static/../metrics']) {
      const sneaky = await rawExchange(fixture.url, `GET ${path} HTTP/1.1\r\nHost: ${host}`, '');
      assert.match(sneaky, /^HTTP\/1\.1 404 /, `${path}: ${sneaky.slice(0, 80)}`);
    }
  });
});
