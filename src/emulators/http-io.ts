/** Small node:http helpers of the emulators: read a request body, send a JSON answer. */
import type { IncomingMessage, ServerResponse } from 'node:http';

/** Read the whole body as UTF-8; undefined when it is larger than `maxBytes`. */
export function readBody(request: IncomingMessage, maxBytes: number): Promise<string | undefined> {
  return new Promise((resolve) => {
    const parts: Buffer[] = [];
    let size = 0;
    let tooLarge = false;
    const done = (): void => resolve(tooLarge ? undefined : Buffer.concat(parts).toString('utf8'));
    request.on('data', (part: Buffer) => {
      size += part.length;
      if (size > maxBytes) tooLarge = true;
      else parts.push(part);
    });
    request.on('end', done);
    request.on('error', done);
    request.on('close', done);
  });
}

/** Answer `value` as JSON with a content-length. */
export function sendJson(response: ServerResponse, status: number, value: unknown): void {
  if (response.destroyed) return;
  const body = JSON.stringify(value);
  response.writeHead(status, { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body)) });
  response.end(body);
}
