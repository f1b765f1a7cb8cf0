/** Reading a JSON request body: media type checked first, size limit enforced while reading, parsed once. */
import type { IncomingMessage } from 'node:http';
import { HttpRequestError } from './openai-errors.js';

export const DEFAULT_BODY_LIMIT_BYTES = 1024 * 1024;

function isJsonMediaType(header: string | undefined): boolean {
  if (header === undefined) return false;
  const semicolon = header.indexOf(';');
  const type = (semicolon === -1 ? header : header.slice(0, semicolon)).trim().toLowerCase();
  return type === 'application/json' || (type.startsWith('application/') && type.endsWith('+json'));
}

function tooLarge(limit: number): HttpRequestError {
  return new HttpRequestError(413, `The request body is larger than the limit of ${limit} bytes.`, {
    code: 'request_too_large',
    headers: { connection: 'close' },
  });
}

/** Reads the whole body into one Buffer (refusing it as soon as it passes `limit`) and parses it once. */
export async function readJsonBody(request: IncomingMessage, limit: number): Promise<unknown> {
  if (!isJsonMediaType(request.headers['content-type'])) {
    throw new HttpRequestError(415, 'The request body must be JSON: send the header Content-Type: application/json.', {
      code: 'unsupported_media_type',
    });
  }
  const declared = request.headers['content-length'];
  if (declared !== undefined && Number(declared) > limit) throw tooLarge(limit);
  const body = await readBuffer(request, limit);
  if (body.length === 0) throw new HttpRequestError(400, 'The request body is empty; a JSON object was expected.', { code: 'invalid_json' });
  try {
    return JSON.parse(body.toString('utf8')) as unknown;
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new HttpRequestError(400, `We could not parse the JSON body of your request: ${reason}`, { code: 'invalid_json' });
  }
}

function readBuffer(request: IncomingMessage, limit: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    let first: Buffer | undefined;
    let pieces: Buffer[] | undefined;
    let size = 0;
    function cleanup(): void {
      request.off('data', onData);
      request.off('end', onEnd);
      request.off('error', onError);
      request.off('close', onClose);
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
      cleanup();
      reject(new HttpRequestError(400, `The request body could not be read: ${error.message}`, { code: 'invalid_body' }));
    }
    function onClose(): void {
      if (request.complete) return;
      cleanup();
      reject(new HttpRequestError(400, 'The client closed the connection before the request body was complete.', { code: 'incomplete_body' }));
    }
    request.on('data', onData);
    request.on('end', onEnd);
    request.on('error', onError);
    request.on('close', onClose);
  });
}
