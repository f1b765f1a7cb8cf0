/**
 * A stored conversation's turns as the provider contract's messages, to send upstream. A user
 * message's images become image parts whose URL is a stand-in (`g4f-image:<media type>:<id>`)
 * until the context is fitted; only then are the bytes of the images that are sent read and put
 * in (`storedImageIds`, `withImageData`), so that turns left out cost nothing.
 */
import type { ChatMessage, ContentPart } from '../core/spec.js';
import { imageDataUrl } from './images.js';
import type { ImageMediaType } from './limits.js';
import type { Message } from './types.js';

const STORED_IMAGE = 'g4f-image:';

interface StoredImageRef {
  id: string;
  mediaType: ImageMediaType;
}

function storedImageOf(part: ContentPart): StoredImageRef | undefined {
  if (part.type !== 'image' || !part.url.startsWith(STORED_IMAGE)) return undefined;
  const rest = part.url.slice(STORED_IMAGE.length);
  const colon = rest.lastIndexOf(':');
  return { mediaType: rest.slice(0, colon) as ImageMediaType, id: rest.slice(colon + 1) };
}

/**
 * The turns sent upstream: a user message that never got an answer (its request failed) is left
 * out, except the last one, which is the question being answered now. Empty messages are left
 * out; reasoning is never sent. A user message's images become image parts (stand-ins), or with
 * `images: false` (a model without image input) the text `[image]` each, counted in `imagesAsText`.
 */
export function answeredHistory(
  messages: readonly Pick<Message, 'role' | 'content' | 'images'>[],
  options: { images: boolean } = { images: true },
): { history: ChatMessage[]; imagesAsText: number } {
  const history: ChatMessage[] = [];
  let imagesAsText = 0;
  messages.forEach((message, index) => {
    const images = message.role === 'user' ? (message.images ?? []) : [];
    if (message.content === '' && images.length === 0) return;
    const next = messages[index + 1];
    if (message.role === 'user' && next !== undefined && next.role !== 'assistant') return;
    if (images.length === 0) {
      history.push({ role: message.role, content: message.content });
    } else if (options.images) {
      const parts: ContentPart[] = message.content === '' ? [] : [{ type: 'text', text: message.content }];
      for (const image of images) parts.push({ type: 'image', url: `${STORED_IMAGE}${image.mediaType}:${image.id}` });
      history.push({ role: 'user', content: parts });
    } else {
      imagesAsText += images.length;
      const note = images.map(() => '[image]').join(' ');
      history.push({ role: 'user', content: message.content === '' ? note : `${message.content}\n${note}` });
    }
  });
  return { history, imagesAsText };
}

/** The ids of the stored images the messages carry (stand-ins). */
export function storedImageIds(messages: readonly ChatMessage[]): string[] {
  const ids = new Set<string>();
  for (const message of messages) {
    if (message.role !== 'user' || typeof message.content === 'string') continue;
    for (const part of message.content) {
      const stored = storedImageOf(part);
      if (stored !== undefined) ids.add(stored.id);
    }
  }
  return [...ids];
}

/**
 * Puts the images' bytes, as data URLs, in place of their stand-ins. An image whose bytes are
 * missing (deleted meanwhile) becomes the text `[image]`: the upstream is told one was there.
 */
export function withImageData(messages: ChatMessage[], data: ReadonlyMap<string, Uint8Array>): void {
  for (const message of messages) {
    if (message.role !== 'user' || typeof message.content === 'string') continue;
    message.content = message.content.map((part): ContentPart => {
      const stored = storedImageOf(part);
      if (stored === undefined) return part;
      const bytes = data.get(stored.id);
      return bytes === undefined ? { type: 'text', text: '[image]' } : { type: 'image', url: imageDataUrl(stored.mediaType, bytes) };
    });
  }
}
