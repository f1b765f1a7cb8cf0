/** The upstream abort signals the doors take per request (src/server/request-signals.ts). */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Socket } from 'node:net';
import { createRequestSignals } from '../src/server/request-signals.js';

/** What the signals read of a connection: whether it is destroyed. */
function connection(): Socket & { destroyed: boolean } {
  return { destroyed: false } as Socket & { destroyed: boolean };
}

describe('request signals', () => {
  test("a clean controller serves the connection's next request, and no other connection's", () => {
    const signals = createRequestSignals();
    const one = connection();
    const two = connection();
    const first = signals.take(one);
    signals.release(one, first);
    assert.notEqual(signals.take(two), first);
    assert.equal(signals.take(one), first);
    // Taken: the next request on the connection (a pipelined one) gets its own.
    assert.notEqual(signals.take(one), first);
  });

  test('an aborted controller, one with a listener left, or a closed connection is never handed out again', () => {
    const signals = createRequestSignals();
    const socket = connection();
    const aborted = signals.take(socket);
    aborted.abort();
    signals.release(socket, aborted);
    assert.notEqual(signals.take(socket), aborted);

    const listened = signals.take(socket);
    const listener = (): void => undefined;
    listened.signal.addEventListener('abort', listener);
    signals.release(socket, listened);
    assert.notEqual(signals.take(socket), listened);
    listened.signal.removeEventListener('abort', listener);

    const handler = signals.take(socket);
    handler.signal.onabort = () => undefined;
    signals.release(socket, handler);
    assert.notEqual(signals.take(socket), handler);

    const closing = signals.take(socket);
    socket.destroyed = true;
    signals.release(socket, closing);
    socket.destroyed = false;
    assert.notEqual(signals.take(socket), closing);
  });

  test('without a socket every request gets a new controller', () => {
    const signals = createRequestSignals();
    const first = signals.take(null);
    signals.release(null, first);
    assert.notEqual(signals.take(null), first);
  });
});
