/** Chunk groups: a wire reader's stream reads as plain chunks, and the router reads its groups. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { chunkGroupsOf, groupedChunks } from '../src/core/batches.js';
import type { Chunk } from '../src/core/spec.js';

const text = (value: string): Chunk => ({ type: 'text-delta', text: value });

async function* groups(): AsyncGenerator<readonly Chunk[]> {
  yield [text('a'), text('b')];
  yield [];
  yield [text('c')];
}

async function collect<T>(items: AsyncIterable<T>): Promise<T[]> {
  const list: T[] = [];
  for await (const item of items) list.push(item);
  return list;
}

test('a grouped stream iterates as its chunks, in order', async () => {
  assert.deepEqual(await collect(groupedChunks(groups)), [text('a'), text('b'), text('c')]);
});

test('chunkGroupsOf gives a grouped stream its groups, and any other stream one group per chunk', async () => {
  assert.deepEqual(await collect(chunkGroupsOf(groupedChunks(groups))), [[text('a'), text('b')], [], [text('c')]]);
  async function* plain(): AsyncGenerator<Chunk> {
    yield text('x');
    yield text('y');
  }
  assert.deepEqual(await collect(chunkGroupsOf(plain())), [[text('x')], [text('y')]]);
});

test('the groups are read only when the stream is iterated, and leaving early ends the reader', async () => {
  let started = 0;
  let finished = 0;
  async function* reader(): AsyncGenerator<readonly Chunk[]> {
    started++;
    try {
      yield [text('a')];
      yield [text('b')];
    } finally {
      finished++;
    }
  }
  const stream = groupedChunks(reader);
  assert.equal(started, 0);
  for await (const chunk of stream) {
    assert.deepEqual(chunk, text('a'));
    break;
  }
  assert.equal(started, 1);
  assert.equal(finished, 1);
});
