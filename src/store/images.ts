/**
 * Images as the page's API and the export carry them: base64 `data:` URLs of PNG, JPEG, GIF or
 * WebP. Decoding checks the media type, the base64 and the size before decoding, then that the
 * bytes are what the media type says (its file signature), so nothing else is ever stored or
 * served as an image.
 */
import { InvalidRequestError } from '../core/errors.js';
import { CONVERSATION_LIMITS, IMAGE_MEDIA_TYPES, type ImageMediaType } from './limits.js';
import type { NewImage } from './types.js';

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

/** A data URL's payload decodes to at most this many bytes (its padding subtracted). */
function decodedBytes(data: string): number {
  return (data.length / 4) * 3 - (data.endsWith('==') ? 2 : data.endsWith('=') ? 1 : 0);
}

function isImageMediaType(value: string): value is ImageMediaType {
  return (IMAGE_MEDIA_TYPES as readonly string[]).includes(value);
}

/** Whether `data` starts as a file of `mediaType` does. */
export function hasImageSignature(mediaType: ImageMediaType, data: Uint8Array): boolean {
  const starts = (bytes: readonly number[], offset = 0): boolean => bytes.every((byte, index) => data[offset + index] === byte);
  const ascii = (text: string, offset = 0): boolean =>
    starts(
      [...text].map((character) => character.charCodeAt(0)),
      offset,
    );
  switch (mediaType) {
    case 'image/png':
      return starts([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
    case 'image/jpeg':
      return starts([0xff, 0xd8, 0xff]);
    case 'image/gif':
      return ascii('GIF87a') || ascii('GIF89a');
    case 'image/webp':
      return ascii('RIFF') && ascii('WEBP', 8);
  }
}

/**
 * Decodes an image data URL (`data:image/png;base64,...`), or throws a 400 naming `param`. Over
 * the per-image limit is refused before anything is decoded.
 */
export function decodeImageDataUrl(url: string, param: string): NewImage {
  if (!url.startsWith('data:')) {
    throw new InvalidRequestError(`${param} must be a base64 data URL of an image (data:image/png;base64,...).`, param);
  }
  const comma = url.indexOf(',');
  const header = comma === -1 ? '' : url.slice(5, comma).toLowerCase();
  const [mediaType = '', ...parameters] = header.split(';');
  if (comma === -1 || !parameters.includes('base64')) {
    throw new InvalidRequestError(`${param} must be base64 (data:image/png;base64,...).`, param);
  }
  if (!isImageMediaType(mediaType)) {
    throw new InvalidRequestError(`${param}: the media type "${mediaType.slice(0, 100)}" is not supported (${IMAGE_MEDIA_TYPES.join(', ')}).`, param);
  }
  const data = url.slice(comma + 1);
  if (data.length === 0 || data.length % 4 !== 0 || !BASE64.test(data)) {
    throw new InvalidRequestError(`${param}: the image data is not valid base64.`, param);
  }
  const bytes = decodedBytes(data);
  const limit = CONVERSATION_LIMITS.imageBytes;
  if (bytes > limit) {
    throw new InvalidRequestError(
      `${param}: the image is ${bytes.toLocaleString('en-US')} bytes; the limit is ${limit.toLocaleString('en-US')} bytes per image.`,
      param,
    );
  }
  const decoded = Buffer.from(data, 'base64');
  if (!hasImageSignature(mediaType, decoded)) {
    throw new InvalidRequestError(`${param}: the data is not a ${mediaType.slice('image/'.length).toUpperCase()} image.`, param);
  }
  return { mediaType, data: decoded };
}

/** The data URL of an image's bytes. */
export function imageDataUrl(mediaType: ImageMediaType, data: Uint8Array): string {
  const buffer = Buffer.isBuffer(data) ? data : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  return `data:${mediaType};base64,${buffer.toString('base64')}`;
}

const DATA_URL_PAYLOAD = /data:image\/(?:png|jpeg|gif|webp);base64,([A-Za-z0-9+/]*={0,2})/g;

/** How many characters of `text` are the base64 payloads of image data URLs (an import's images). */
export function imagePayloadChars(text: string): number {
  let total = 0;
  DATA_URL_PAYLOAD.lastIndex = 0;
  for (let match = DATA_URL_PAYLOAD.exec(text); match !== null; match = DATA_URL_PAYLOAD.exec(text)) total += match[1]?.length ?? 0;
  return total;
}
