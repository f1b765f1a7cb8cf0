/**
 * Images on the page: a picked, pasted or dropped file made ready to send (checked, scaled down
 * when larger than the models look at), and the stored images of messages, read with the API key
 * and shown through object URLs.
 */
import { CONVERSATION_LIMITS, IMAGE_MEDIA_TYPES, type ImageMediaType } from '../../src/store/limits.js';
import { api } from './api.js';

/**
 * Longest side an image is sent with. Vision models scale larger images down to fit 2048×2048
 * before they look, so a larger one would only cost bytes (and the conversation's image limit).
 */
export const MAX_IMAGE_SIDE = 2048;

/** An image waiting in the composer: its bytes, a URL for its thumbnail and the data URL it is sent as. */
export interface PendingImage {
  blob: Blob;
  mediaType: ImageMediaType;
  /** Its size, decoded. */
  bytes: number;
  /** An object URL of `blob`, owned by whoever holds the image (revoke it when done). */
  url: string;
  dataUrl: string;
}

/** Why a file cannot be attached. */
export type ImageProblem = { reason: 'type'; type: string } | { reason: 'size'; bytes: number } | { reason: 'unreadable' };

export function isImageMediaType(type: string): type is ImageMediaType {
  return (IMAGE_MEDIA_TYPES as readonly string[]).includes(type);
}

function readDataUrl(blob: Blob): Promise<string> {
  return new Promise((resolve, reject) => {
    const reader = new FileReader();
    reader.onload = () => resolve(String(reader.result));
    reader.onerror = () => reject(reader.error ?? new Error('the file could not be read'));
    reader.readAsDataURL(blob);
  });
}

function encode(canvas: HTMLCanvasElement, type: ImageMediaType, quality: number): Promise<Blob | null> {
  return new Promise((resolve) => canvas.toBlob(resolve, type, quality));
}

/** Draws `bitmap` at most MAX_IMAGE_SIDE on its longest side and encodes it (as JPEG on a white ground if `type` is JPEG). */
async function redraw(bitmap: ImageBitmap, type: ImageMediaType, quality: number): Promise<Blob | null> {
  const scale = Math.min(1, MAX_IMAGE_SIDE / Math.max(bitmap.width, bitmap.height));
  const canvas = document.createElement('canvas');
  canvas.width = Math.max(1, Math.round(bitmap.width * scale));
  canvas.height = Math.max(1, Math.round(bitmap.height * scale));
  const context = canvas.getContext('2d');
  if (context === null) return null;
  if (type === 'image/jpeg') {
    context.fillStyle = '#ffffff';
    context.fillRect(0, 0, canvas.width, canvas.height);
  }
  context.drawImage(bitmap, 0, 0, canvas.width, canvas.height);
  const blob = await encode(canvas, type, quality);
  // A browser that cannot encode the type answers with PNG.
  return blob !== null && blob.type === type ? blob : null;
}

/**
 * A file made ready to send: PNG, JPEG, GIF or WebP; scaled down to MAX_IMAGE_SIDE when larger
 * (GIFs are kept as they are, for their animation); re-encoded as JPEG if still over the
 * per-image limit. Otherwise the reason it cannot be sent.
 */
export async function prepareImage(file: Blob): Promise<PendingImage | ImageProblem> {
  const type = file.type.toLowerCase();
  if (!isImageMediaType(type)) return { reason: 'type', type: file.type };
  const limit = CONVERSATION_LIMITS.imageBytes;
  let blob: Blob = file;
  if (type !== 'image/gif') {
    let bitmap: ImageBitmap;
    try {
      bitmap = await createImageBitmap(file);
    } catch {
      return { reason: 'unreadable' };
    }
    try {
      if (Math.max(bitmap.width, bitmap.height) > MAX_IMAGE_SIDE || file.size > limit) {
        const same = await redraw(bitmap, type, 0.9);
        blob = same !== null && same.size <= limit ? same : ((await redraw(bitmap, 'image/jpeg', 0.85)) ?? file);
      }
    } finally {
      bitmap.close();
    }
  }
  if (blob.size > limit) return { reason: 'size', bytes: blob.size };
  const mediaType = blob.type as ImageMediaType;
  return { blob, mediaType, bytes: blob.size, url: URL.createObjectURL(blob), dataUrl: await readDataUrl(blob) };
}

export function isPendingImage(value: PendingImage | ImageProblem): value is PendingImage {
  return 'blob' in value;
}

/** Object URLs of stored images, by image id, for as long as a conversation is shown. */
const stored = new Map<string, Promise<string>>();

/** An object URL of a stored image (read once while it is cached). */
export function storedImageUrl(conversationId: string, imageId: string): Promise<string> {
  let url = stored.get(imageId);
  if (url === undefined) {
    url = api.image(conversationId, imageId).then((blob) => URL.createObjectURL(blob));
    url.catch(() => stored.delete(imageId));
    stored.set(imageId, url);
  }
  return url;
}

/** Lets the cached stored images go (the conversation on the page changed). */
export function releaseStoredImages(): void {
  for (const url of stored.values())
    void url.then(
      (value) => URL.revokeObjectURL(value),
      () => undefined,
    );
  stored.clear();
}
