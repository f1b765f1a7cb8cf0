/**
 * Chunks grouped as they arrived, one group per network read: the wire readers make them, and the
 * router passes a group on in one async step instead of one step per chunk. A provider's stream
 * is a plain `AsyncIterable<Chunk>` (the contract has one completion function); the groups ride
 * on it under a private symbol, so no provider author sees them, and any other stream is read
 * chunk by chunk.
 */
import type { Chunk } from './spec.js';

const GROUPS: unique symbol = Symbol('g4f.chunkGroups');

interface GroupedChunks extends AsyncIterable<Chunk> {
  [GROUPS](): AsyncIterable<readonly Chunk[]>;
}

export async function* flattenBatches(batches: AsyncIterable<readonly Chunk[]>): AsyncGenerator<Chunk> {
  for await (const batch of batches) yield* batch;
}

async function* singleChunkBatches(chunks: AsyncIterable<Chunk>): AsyncGenerator<readonly Chunk[]> {
  for await (const chunk of chunks) yield [chunk];
}

/** A stream of chunks read from `groups` (called once, when the stream is first iterated either way). */
export function groupedChunks(groups: () => AsyncIterable<readonly Chunk[]>): AsyncIterable<Chunk> {
  const stream: GroupedChunks = {
    [Symbol.asyncIterator]: () => flattenBatches(groups())[Symbol.asyncIterator](),
    [GROUPS]: groups,
  };
  return stream;
}

/** The stream's groups when a wire reader made it, else one group per chunk. */
export function chunkGroupsOf(chunks: AsyncIterable<Chunk>): AsyncIterable<readonly Chunk[]> {
  const groups = (chunks as Partial<GroupedChunks>)[GROUPS];
  return groups === undefined ? singleChunkBatches(chunks) : groups();
}
