/** `g4f ask --image PATH|URL`: images as content parts (a file becomes a base64 data URL). */
import { readFile, stat } from 'node:fs/promises';
import { extname } from 'node:path';
import type { ImagePart } from '../core/spec.js';
import { UsageError } from './usage-error.js';

const MEDIA_TYPES: Readonly<Record<string, string>> = {
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.gif': 'image/gif',
  '.webp': 'image/webp',
};

/** The largest image file read (the server's default image body limit). */
export const MAX_IMAGE_FILE_BYTES = 20 * 1024 * 1024;

export async function loadImage(source: string): Promise<ImagePart> {
  if (/^https?:\/\//i.test(source) || source.startsWith('data:image/')) return { type: 'image', url: source };
  const mediaType = MEDIA_TYPES[extname(source).toLowerCase()];
  if (mediaType === undefined) {
    throw new UsageError(`--image ${source}: not an http(s) URL, and not a .png, .jpg, .gif or .webp file`);
  }
  let size: number;
  try {
    const info = await stat(source);
    if (!info.isFile()) throw new UsageError(`--image ${source}: not a regular file`);
    size = info.size;
  } catch (error) {
    if (error instanceof UsageError) throw error;
    throw new UsageError(`--image ${source}: cannot read it (${(error as NodeJS.ErrnoException).code ?? String(error)})`);
  }
  if (size > MAX_IMAGE_FILE_BYTES) throw new UsageError(`--image ${source}: ${size} bytes, over the limit of ${MAX_IMAGE_FILE_BYTES}`);
  const bytes = await readFile(source);
  return { type: 'image', url: `data:${mediaType};base64,${bytes.toString('base64')}` };
}
