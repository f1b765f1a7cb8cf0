/**
 * Chunks grouped as they arrived, one group per network read: the wire readers make them, and the
 * router passes a group on in one async step instead of one step per chunk. A provider's stream
 * is a plain `AsyncIterable<Chunk>` (the contract has one completion function); the groups ride
 * on it, an instance of a class of this module's own, so no provider author sees them, and any
 * other stream is read chunk by chunk.
 */
import type { Chunk } from './spec.js';

export async function* flattenBatches(batches: AsyncIterable<readonly Chunk[]>): AsyncGenerator<Chunk> {
  for await (const batch of batches) yield* batch;
}

async function* singleChunkBatches(chunks: AsyncIterable<Chunk>): AsyncGenerator<readonly Chunk[]> {
  for await (const chunk of chunks) yield [chunk];
}

/** A stream of chunks read from `groups` (called once, when the stream is first iterated either way). */
class GroupedChunks implements AsyncIterable<Chunk> {
  constructor(readonly groups: () => AsyncIterable<readonly Chunk[]>) {}
  [Symbol.asyncIterator](): AsyncIterator<Chunk> {
    return flattenBatches(this.groups());
  }
}

export function groupedChunks(groups: () => AsyncIterable<readonly Chunk[]>): AsyncIterable<Chunk> {
  return new GroupedChunks(groups);
}

/** The stream's groups when a wire reader made it, else one group per chunk. */
export function chunkGroupsOf(chunks: AsyncIterable<Chunk>): AsyncIterable<readonly Chunk[]> {
  return chunks instanceof GroupedChunks ? chunks.groups() : singleChunkBatches(chunks);
}
