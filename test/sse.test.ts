/** The synchronous SSE decoder: bytes split anywhere decode the same as bytes read whole. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createEventStreamDecoder, isStrayLine, type EventStreamItem } from '../src/core/sse.js';

function decodeReads(reads: readonly Uint8Array[]): string[] {
  const decoder = createEventStreamDecoder();
  const out: string[] = [];
  const take = (items: readonly EventStreamItem[]): void => {
    for (const item of items) out.push(isStrayLine(item) ? `stray:${item.stray}` : `${item.event ?? ''}|${item.data}`);
  };
  for (const read of reads) take(decoder.push(read));
  take(decoder.end());
  return out;
}

const stream = 'data: héllo 你好 🌍\n\nevent: note\ndata: a\ndata: b\n\n: comment\n\nnot sse at all\ndata: \uFEFFkept\n\ndata: end é';

test('reads split at every byte, as Buffers and as plain Uint8Arrays, decode as one read', () => {
  const bytes = Buffer.from(stream, 'utf8');
  const whole = decodeReads([bytes]);
  assert.deepEqual(whole, ['|héllo 你好 🌍', 'note|a\nb', 'stray:not sse at all', '|\uFEFFkept', '|end é']);
  for (let at = 1; at < bytes.length; at++) {
    assert.deepEqual(decodeReads([bytes.subarray(0, at), bytes.subarray(at)]), whole, `split at ${at}`);
    assert.deepEqual(decodeReads([new Uint8Array(bytes.subarray(0, at)), new Uint8Array(bytes.subarray(at))]), whole, `split at ${at}, Uint8Array`);
  }
  let seed = 11;
  const random = (): number => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;
  for (let round = 0; round < 300; round++) {
    const reads: Buffer[] = [];
    for (let at = 0; at < bytes.length; ) {
      const size = 1 + Math.floor(random() * 6);
      reads.push(bytes.subarray(at, at + size));
      at += size;
    }
    assert.deepEqual(decodeReads(reads), whole);
  }
});

test('a byte order mark is dropped at the start of the stream only', () => {
  const bom = Buffer.from([0xef, 0xbb, 0xbf]);
  assert.deepEqual(decodeReads([Buffer.concat([bom, Buffer.from('data: x\n\n')])]), ['|x']);
  // U+FEFF at the start of a later read is text, whichever way that read is decoded.
  assert.deepEqual(decodeReads([Buffer.from('data: a'), Buffer.concat([bom, Buffer.from('b\n\n')])]), ['|a\uFEFFb']);
  assert.deepEqual(decodeReads([Buffer.from('data: é'), Buffer.concat([bom, Buffer.from('b\n\n')])]), ['|é\uFEFFb']);
});
