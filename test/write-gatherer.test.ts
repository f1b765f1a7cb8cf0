/** The one write-coalescing helper: one write per turn, a size bound, take, flush on exit, drain. */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { createGatherer, waitForDrain } from '../src/server/write-gatherer.js';

test('pieces added in one turn leave in one write, in order, after the turn', async () => {
  const writes: string[] = [];
  const gatherer = createGatherer((text) => writes.push(text));
  gatherer.add('a');
  gatherer.add('b');
  gatherer.add('c');
  assert.deepEqual(writes, [], 'nothing written during the turn');
  await nextTurn();
  assert.deepEqual(writes, ['abc']);
  gatherer.add('d');
  await nextTurn();
  assert.deepEqual(writes, ['abc', 'd']);
});

test('past flushAtChars the text is written at once; flush writes now; take hands it back unwritten', async () => {
  const writes: string[] = [];
  const gatherer = createGatherer((text) => writes.push(text), { flushAtChars: 4 });
  gatherer.add('ab');
  gatherer.add('cd');
  assert.deepEqual(writes, ['abcd']);
  gatherer.add('e');
  gatherer.flush();
  assert.deepEqual(writes, ['abcd', 'e']);
  gatherer.add('f');
  assert.equal(gatherer.take(), 'f');
  await nextTurn();
  assert.deepEqual(writes, ['abcd', 'e'], 'taken text is never written');
});

test('with flushOnExit, what is gathered when the process exits is written', () => {
  const script = [
    "import { createGatherer } from './src/server/write-gatherer.ts';",
    'const lines = createGatherer((text) => process.stdout.write(text), { flushOnExit: true });',
    "lines.add('one\\n'); lines.add('two\\n');",
    'process.exit(0);',
  ].join('\n');
  const child = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
    cwd: fileURLToPath(new URL('..', import.meta.url)),
    encoding: 'utf8',
    timeout: 30_000,
  });
  assert.equal(child.status, 0, child.stderr);
  assert.equal(child.stdout, 'one\ntwo\n');
});

class Sink extends EventEmitter {
  destroyed = false;
  destroy(): void {
    this.destroyed = true;
    this.emit('close');
  }
}

test('waitForDrain resolves on drain or close, and drops a reader stalled past its timeout', async () => {
  const drained = new Sink();
  const waiting = waitForDrain(drained);
  drained.emit('drain');
  await waiting;
  assert.equal(drained.listenerCount('drain') + drained.listenerCount('close'), 0, 'listeners removed');

  const stalled = new Sink();
  await waitForDrain(stalled, 20);
  assert.equal(stalled.destroyed, true);
});
