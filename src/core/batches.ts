/** Chunk batches (one per network read) and single chunks, each from the other. */
import type { Chunk } from './spec.js';

export async function* flattenBatches(batches: AsyncIterable<readonly Chunk[]>): AsyncGenerator<Chunk> {
  for await (const batch of batches) yield* batch;
}

export async function* singleChunkBatches(chunks: AsyncIterable<Chunk>): AsyncGenerator<readonly Chunk[]> {
  for await (const chunk of chunks) yield [chunk];
}
