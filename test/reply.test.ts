/** Upstream replies read from undici's dispatcher: backpressure, abort, timeouts, over real sockets. */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, test } from 'node:test';
import { Agent } from 'undici';
import { dispatchReply, type ReplyBody } from '../src/core/reply.js';

let server: Server;
let origin: string;
let handle: (response: ServerResponse) => void = () => undefined;
const agent = new Agent({ keepAliveTimeout: 1_000 });

before(async () => {
  server = createServer((request, response) => {
    request.resume();
    handle(response);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

after(async () => {
  await agent.close();
  server.closeAllConnections();
  server.close();
});

const send = (signal?: AbortSignal, bodyTimeout = 30_000) =>
  dispatchReply(agent, { origin, path: '/', method: 'GET', headersTimeout: 30_000, bodyTimeout }, signal);

async function drain(body: ReplyBody, onChunk?: () => Promise<void>): Promise<number> {
  let bytes = 0;
  for (;;) {
    const chunk = body.read();
    if (chunk === null) return bytes;
    if (chunk === undefined) await body.wait();
    else {
      bytes += chunk.length;
      await onChunk?.();
    }
  }
}

test('a reader that does not read pauses the socket; then it gets every byte', async () => {
  const piece = Buffer.alloc(256 * 1024, 'x');
  const total = 256; // 64 MiB: far more than the socket buffers hold
  let sent = 0;
  let finished = false;
  let waiting = false;
  handle = (response) => {
    response.writeHead(200, { 'content-type': 'application/octet-stream' });
    const pump = (): void => {
      waiting = false;
      while (sent < total) {
        sent++;
        if (!response.write(piece)) {
          waiting = true;
          response.once('drain', pump);
          return;
        }
      }
      response.end(() => {
        finished = true;
      });
    };
    pump();
  };
  const reply = await send();
  assert.equal(reply.statusCode, 200);
  assert.equal(reply.headers['content-type'], 'application/octet-stream');
  // Unpaused, undici would take all 64 MiB into memory within moments and the upstream would finish.
  while (!waiting && !finished) await new Promise((resolve) => setTimeout(resolve, 10));
  await new Promise((resolve) => setTimeout(resolve, 300));
  assert.equal(finished, false, 'the upstream is held back while nothing is read');
  assert.ok(sent < total);
  const bytes = await drain(reply.body, () => new Promise((resolve) => setImmediate(resolve)));
  assert.equal(bytes, total * piece.length);
  assert.equal(finished, true);
});

test('the queue pauses past 256 KiB unread and resumes under 64 KiB', async () => {
  const calls: string[] = [];
  const controller = { abort: () => calls.push('abort'), pause: () => calls.push('pause'), resume: () => calls.push('resume') };
  type Handler = {
    onRequestStart(controller: unknown): void;
    onResponseStart(controller: unknown, status: number, headers: Record<string, string>): void;
    onResponseData(controller: unknown, chunk: Uint8Array): void;
    onResponseEnd(controller: unknown): void;
  };
  let handler: Handler | undefined;
  const dispatcher = {
    dispatch(_options: unknown, given: Handler) {
      handler = given;
      return true;
    },
  };
  const pending = dispatchReply(dispatcher as never, { origin, path: '/', method: 'GET' });
  handler!.onRequestStart(controller);
  handler!.onResponseStart(controller, 200, {});
  const reply = await pending;
  const chunk = new Uint8Array(32 * 1024);
  for (let index = 0; index < 8; index++) handler!.onResponseData(controller, chunk); // 256 KiB: not past it
  assert.deepEqual(calls, []);
  handler!.onResponseData(controller, chunk);
  handler!.onResponseData(controller, chunk);
  assert.deepEqual(calls, ['pause'], 'paused once');
  for (let index = 0; index < 7; index++) reply.body.read(); // 96 KiB left
  assert.deepEqual(calls, ['pause']);
  reply.body.read(); // 64 KiB left: not under it
  assert.deepEqual(calls, ['pause']);
  reply.body.read(); // 32 KiB
  assert.deepEqual(calls, ['pause', 'resume']);
  // Two waits at once are both woken by the next event.
  reply.body.read();
  reply.body.read();
  assert.equal(reply.body.read(), undefined, 'all read');
  const both = Promise.all([reply.body.wait(), reply.body.wait()]);
  handler!.onResponseData(controller, chunk);
  await both;
  handler!.onResponseEnd(controller);
  assert.equal(reply.body.read()?.length, chunk.length);
  assert.equal(reply.body.read(), null);
  assert.deepEqual(calls, ['pause', 'resume']);
});

test('an abort mid-body ends the read with the reason and closes the upstream request', async () => {
  let closed: Promise<unknown> | undefined;
  handle = (response) => {
    response.writeHead(200);
    response.write('first');
    closed = once(response, 'close');
  };
  const controller = new AbortController();
  const reply = await send(controller.signal);
  const first = await (async () => {
    for (;;) {
      const chunk = reply.body.read();
      if (chunk !== undefined) return chunk;
      await reply.body.wait();
    }
  })();
  assert.equal(Buffer.from(first ?? []).toString(), 'first');
  const reason = new Error('caller left');
  controller.abort(reason);
  await reply.body.wait();
  assert.throws(
    () => reply.body.read(),
    (error) => error === reason,
  );
  await closed;
});

test('an abort before the head rejects the request, and an aborted signal sends nothing', async () => {
  let requests = 0;
  handle = () => {
    requests++; // never answers
  };
  const controller = new AbortController();
  const pending = send(controller.signal);
  while (requests === 0) await new Promise((resolve) => setTimeout(resolve, 10));
  controller.abort(new Error('stop'));
  await assert.rejects(pending, /stop/);
  await assert.rejects(send(AbortSignal.abort(new Error('already'))), /already/);
  assert.equal(requests, 1);
});

test('the idle timer: a body silent for the limit ends with its error, on time; a paused reply is not idle', async () => {
  handle = (response) => {
    response.writeHead(200);
    response.write('then nothing');
  };
  const reply = await dispatchReply(agent, { origin, path: '/', method: 'GET', headersTimeout: 30_000, bodyTimeout: 0 }, undefined, 200);
  let lastChunkAt = 0;
  await assert.rejects(
    drain(reply.body, async () => {
      lastChunkAt = performance.now();
    }),
    (error: { code?: string }) => error.code === 'UND_ERR_BODY_TIMEOUT',
  );
  const silence = performance.now() - lastChunkAt;
  assert.ok(silence >= 190, `fired after ${silence} ms`);
  // undici's own body timer runs on a coarse clock and fired about a second late.
  assert.ok(silence < 800, `fired after ${silence} ms, not near the 200 ms limit`);

  // A reader that does not read for longer than the limit: the socket is paused, no timeout.
  const piece = Buffer.alloc(256 * 1024, 'y');
  let writes = 0;
  let waiting = false;
  handle = (response) => {
    response.writeHead(200);
    const pump = (): void => {
      waiting = false;
      while (writes < 16) {
        writes++;
        if (!response.write(piece)) {
          waiting = true;
          response.once('drain', pump);
          return;
        }
      }
      response.end();
    };
    pump();
  };
  const slow = await dispatchReply(agent, { origin, path: '/', method: 'GET', headersTimeout: 30_000, bodyTimeout: 0 }, undefined, 200);
  while (!waiting) await new Promise((resolve) => setTimeout(resolve, 10));
  await new Promise((resolve) => setTimeout(resolve, 500));
  assert.equal(await drain(slow.body), 16 * piece.length, 'every byte, no idle timeout while paused');
});

test('destroy() before the end drops the rest; after the end it changes nothing', async () => {
  handle = (response) => {
    response.writeHead(200);
    response.end('whole');
  };
  const whole = await send();
  assert.equal(await whole.body.text(), 'whole');
  whole.body.destroy();
  assert.equal(whole.body.read(), null);

  handle = (response) => {
    response.writeHead(200);
    response.write('part');
  };
  const part = await send();
  part.body.destroy();
  assert.throws(
    () => part.body.read(),
    (error: { code?: string }) => error.code === 'UND_ERR_ABORTED',
  );
  await part.body.wait(); // settled: no hang
});
