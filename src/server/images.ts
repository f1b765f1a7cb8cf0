/** Checks of an image given by URL: http(s), or a base64 data URL of a common image type within a size limit. */
import { InvalidRequestError } from '../core/errors.js';

export const IMAGE_MEDIA_TYPES: ReadonlySet<string> = new Set(['image/png', 'image/jpeg', 'image/gif', 'image/webp']);

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

/** Throws a 400 naming `param` unless `url` is an image the upstreams can take. */
export function checkImageUrl(url: string, param: string, limitBytes: number): void {
  if (url.startsWith('https://') || url.startsWith('http://')) {
    try {
      new URL(url);
    } catch {
      throw new InvalidRequestError(`Invalid value for '${param}': not a valid URL`, param);
    }
    return;
  }
  if (!url.startsWith('data:')) {
    const scheme = /^([a-zA-Z][a-zA-Z0-9+.-]*):/.exec(url)?.[1];
    throw new InvalidRequestError(
      `Invalid value for '${param}': ${scheme === undefined ? 'not a URL' : `the URL scheme "${scheme}" is not supported`}; use https or a data URL (data:image/png;base64,...)`,
      param,
    );
  }
  const comma = url.indexOf(',');
  const header = comma === -1 ? '' : url.slice(5, comma).toLowerCase();
  const [mediaType, ...parameters] = header.split(';');
  if (comma === -1 || !parameters.includes('base64')) {
    throw new InvalidRequestError(`Invalid value for '${param}': a data URL must be base64 (data:image/png;base64,...)`, param);
  }
  if (mediaType === undefined || !IMAGE_MEDIA_TYPES.has(mediaType)) {
    throw new InvalidRequestError(
      `Invalid value for '${param}': the media type "${mediaType ?? ''}" is not supported (${[...IMAGE_MEDIA_TYPES].join(', ')})`,
      param,
    );
  }
  const data = url.slice(comma + 1);
  if (data.length === 0 || data.length % 4 !== 0 || !BASE64.test(data)) {
    throw new InvalidRequestError(`Invalid value for '${param}': the image data is not valid base64`, param);
  }
  const bytes = (data.length / 4) * 3 - (data.endsWith('==') ? 2 : data.endsWith('=') ? 1 : 0);
  if (bytes > limitBytes) {
    throw new InvalidRequestError(`Invalid value for '${param}': the image is ${bytes} bytes, over the limit of ${limitBytes} bytes`, param);
  }
}
