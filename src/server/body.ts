/**
 * Reading a JSON request body: media type and encoding checked first, size limit enforced while
 * reading (after decoding), nesting depth checked before parsing, parsed once.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Readable } from 'node:stream';
import { createBrotliDecompress, createGunzip, createInflate } from 'node:zlib';
import { HttpRequestError } from './openai-errors.js';

export const DEFAULT_BODY_LIMIT_BYTES = 1024 * 1024;
/** The body limit of a request that carries images. */
export const DEFAULT_IMAGE_BODY_LIMIT_BYTES = 20 * 1024 * 1024;

/** Arrays and objects nested deeper than this are refused before the body is parsed. */
export const MAX_JSON_DEPTH = 128;

const DECODERS: Record<string, () => NodeJS.ReadWriteStream & Readable> = {
  gzip: createGunzip,
  'x-gzip': createGunzip,
  deflate: createInflate,
  br: createBrotliDecompress,
};

function isJsonMediaType(header: string | undefined): boolean {
  if (header === undefined) return false;
  const semicolon = header.indexOf(';');
  const type = (semicolon === -1 ? header : header.slice(0, semicolon)).trim().toLowerCase();
  return type === 'application/json' || (type.startsWith('application/') && type.endsWith('+json'));
}

export function tooLarge(limit: number): HttpRequestError {
  return new HttpRequestError(413, `The request body is larger than the limit of ${limit} bytes.`, {
    code: 'request_too_large',
    headers: { connection: 'close' },
  });
}

/** The body's `Content-Encoding`, lower-cased; undefined for none or identity. One coding only. */
function contentEncoding(request: IncomingMessage): string | undefined {
  const header = request.headers['content-encoding'];
  if (header === undefined) return undefined;
  const coding = header.trim().toLowerCase();
  if (coding === '' || coding === 'identity') return undefined;
  if (DECODERS[coding] === undefined) {
    throw new HttpRequestError(415, `The request body's Content-Encoding "${header}" is not supported; send it uncompressed, or as gzip, deflate or br.`, {
      code: 'unsupported_content_encoding',
      headers: { 'accept-encoding': 'gzip, deflate, br', connection: 'close' },
    });
  }
  return coding;
}

/**
 * Reads the whole body into one Buffer (refusing it as soon as it passes `limit`, counted after
 * decoding) and parses it once. With `response`, a client that sent `Expect: 100-continue` is
 * told to go on only after the media type, encoding and declared size have passed.
 */
export async function readJsonBody(request: IncomingMessage, limit: number, response?: ServerResponse): Promise<unknown> {
  return (await readJsonBodySized(request, limit, response)).value;
}

/** Like readJsonBody, with the body's size in bytes (after decoding). */
export async function readJsonBodySized(request: IncomingMessage, limit: number, response?: ServerResponse): Promise<{ value: unknown; bytes: number }> {
  if (!isJsonMediaType(request.headers['content-type'])) {
    throw new HttpRequestError(415, 'The request body must be JSON: send the header Content-Type: application/json.', {
      code: 'unsupported_media_type',
    });
  }
  const encoding = contentEncoding(request);
  const declared = request.headers['content-length'];
  // A compressed body's declared size is a lower bound of its decoded size.
  if (declared !== undefined && Number(declared) > limit) throw tooLarge(limit);
  if (response !== undefined && expectsContinue(request) && !response.headersSent) response.writeContinue();
  const body = await readBuffer(request, limit, encoding);
  if (body.length === 0) throw new HttpRequestError(400, 'The request body is empty; a JSON object was expected.', { code: 'invalid_json' });
  if (nestingExceeds(body, MAX_JSON_DEPTH)) {
    throw new HttpRequestError(400, `The JSON body nests arrays and objects more than ${MAX_JSON_DEPTH} levels deep.`, {
      code: 'json_too_deep',
    });
  }
  try {
    return { value: JSON.parse(body.toString('utf8')) as unknown, bytes: body.length };
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new HttpRequestError(400, `We could not parse the JSON body of your request: ${reason}`, { code: 'invalid_json' });
  }
}

export function expectsContinue(request: IncomingMessage): boolean {
  return request.headers.expect?.toLowerCase() === '100-continue';
}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPEN_BRACKET = 0x5b;
const OPEN_BRACE = 0x7b;
const CLOSE_BRACKET = 0x5d;
const CLOSE_BRACE = 0x7d;

/** Whether arrays and objects nest deeper than `limit` (brackets inside strings do not count). */
export function nestingExceeds(body: Uint8Array, limit: number): boolean {
  let depth = 0;
  let inString = false;
  for (let index = 0; index < body.length; index++) {
    const byte = body[index];
    if (inString) {
      if (byte === BACKSLASH) index++;
      else if (byte === QUOTE) inString = false;
    } else if (byte === QUOTE) inString = true;
    else if (byte === OPEN_BRACKET || byte === OPEN_BRACE) {
      depth++;
      if (depth > limit) return true;
    } else if (byte === CLOSE_BRACKET || byte === CLOSE_BRACE) depth--;
  }
  return false;
}

function readBuffer(request: IncomingMessage, limit: number, encoding: string | undefined): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const decoder = encoding === undefined ? undefined : (DECODERS[encoding] as () => NodeJS.ReadWriteStream & Readable)();
    const source: Readable = decoder ?? request;
    let first: Buffer | undefined;
    let pieces: Buffer[] | undefined;
    let size = 0;
    let settled = false;
    function cleanup(): void {
      settled = true;
      source.off('data', onData);
      source.off('end', onEnd);
      source.off('error', onDecodeError);
      request.off('error', onError);
      request.off('close', onClose);
      if (decoder !== undefined) {
        request.unpipe(decoder);
        decoder.destroy();
      }
    }
    function onData(piece: Buffer): void {
      size += piece.length;
      if (size > limit) {
        cleanup();
        request.resume(); // discard the rest until the socket is closed after the 413 answer
        reject(tooLarge(limit));
        return;
      }
      if (first === undefined) first = piece;
      else (pieces ??= [first]).push(piece);
    }
    function onEnd(): void {
      cleanup();
      if (pieces !== undefined) resolve(Buffer.concat(pieces, size));
      else resolve(first ?? Buffer.alloc(0));
    }
    function onError(error: Error): void {
      if (settled) return;
      cleanup();
      reject(new HttpRequestError(400, `The request body could not be read: ${error.message}`, { code: 'invalid_body' }));
    }
    function onDecodeError(error: Error): void {
      if (settled) return;
      cleanup();
      request.resume();
      reject(
        new HttpRequestError(400, `The request body could not be decoded as ${encoding ?? 'sent'}: ${error.message}`, {
          code: 'invalid_content_encoding',
          headers: { connection: 'close' },
        }),
      );
    }
    function onClose(): void {
      if (request.complete || settled) return;
      cleanup();
      reject(new HttpRequestError(400, 'The client closed the connection before the request body was complete.', { code: 'incomplete_body' }));
    }
    source.on('data', onData);
    source.on('end', onEnd);
    if (decoder !== undefined) {
      decoder.on('error', onDecodeError);
      request.pipe(decoder);
    }
    request.on('error', onError);
    request.on('close', onClose);
  });
}
