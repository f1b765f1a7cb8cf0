/**
 * Child process: the floor, the leanest correct proxy. node:http in front; the small request body
 * read whole and forwarded to `UPSTREAM_URL`; the upstream body relayed piece by piece
 * (`response.write(piece)`, then `response.end()`); the upstream aborted when the client goes away.
 * Nothing else: no parsing, no validation, no timers.
 *
 * `FLOOR_SHAPE` picks how it talks to the upstream (bench/README.md has the comparison):
 * - `stream` (the floor, the fastest here): undici `stream` over an `Agent`, whose factory returns
 *   the response itself as the writable (undici writes each piece and waits for `drain`);
 * - `request`: undici `request`, `for await (const piece of body) response.write(piece)`;
 * - `http`: node:http's own client with a keep-alive `http.Agent`.
 *
 * `FLOOR_ABORT` picks how the upstream call learns that the client went away:
 * - `emitter` (the floor, the fastest here): an EventEmitter that emits `abort`, which undici takes
 *   as its signal;
 * - `signal`: an AbortController's AbortSignal. On Node 20 each new AbortSignal costs about 4 µs
 *   and leaves old-generation garbage (bench/README.md).
 *
 * Prints `{"url": ...}` on stdout once listening.
 */
import { Agent as HttpAgent, createServer, request as httpRequest, type IncomingMessage, type ServerResponse } from 'node:http';
import { EventEmitter } from 'node:events';
import type { AddressInfo } from 'node:net';
import { Agent, request, stream } from 'undici';

const upstream = process.env.UPSTREAM_URL;
if (upstream === undefined) throw new Error('UPSTREAM_URL is not set');
const shape = process.env.FLOOR_SHAPE ?? 'stream';
const abortKind = process.env.FLOOR_ABORT ?? 'emitter';
if (abortKind !== 'emitter' && abortKind !== 'signal') throw new Error('FLOOR_ABORT must be emitter or signal');
const target = `${upstream}/v1/chat/completions`;
const agent = new Agent({ connections: 256, keepAliveTimeout: 30_000 });
const httpAgent = new HttpAgent({ keepAlive: true, maxSockets: 256 });

function readBody(incoming: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const pieces: Buffer[] = [];
    incoming.on('data', (piece: Buffer) => pieces.push(piece));
    incoming.on('end', () => resolve(Buffer.concat(pieces)));
    incoming.on('error', reject);
  });
}

function headersOf(source: Record<string, string | string[] | undefined>): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const name of ['content-type', 'content-length'] as const) {
    const value = source[name];
    if (typeof value === 'string') headers[name] = value;
  }
  return headers;
}

/** What undici takes as a signal: an AbortSignal, or an EventEmitter that emits `abort`. */
type Signal = AbortSignal | EventEmitter;

/** undici `request`: the body is an async iterable of pieces. */
async function viaRequest(body: Buffer, outgoing: ServerResponse, signal: Signal): Promise<void> {
  const answer = await request(target, { method: 'POST', headers: { 'content-type': 'application/json' }, body, dispatcher: agent, signal });
  outgoing.writeHead(answer.statusCode, headersOf(answer.headers));
  for await (const piece of answer.body) outgoing.write(piece);
  outgoing.end();
}

/** undici `stream`: undici writes the upstream's pieces into the response itself. */
async function viaStream(body: Buffer, outgoing: ServerResponse, signal: Signal): Promise<void> {
  await stream(target, { method: 'POST', headers: { 'content-type': 'application/json' }, body, dispatcher: agent, signal }, ({ statusCode, headers }) => {
    outgoing.writeHead(statusCode, headersOf(headers));
    return outgoing;
  });
}

/** node:http's client with a keep-alive agent. */
function viaHttp(body: Buffer, outgoing: ServerResponse, signal: Signal): Promise<void> {
  return new Promise((resolve, reject) => {
    const call = httpRequest(
      target,
      {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'content-length': body.length },
        agent: httpAgent,
        ...(signal instanceof EventEmitter ? {} : { signal }),
      },
      (answer) => {
        outgoing.writeHead(answer.statusCode ?? 502, headersOf(answer.headers));
        answer.on('data', (piece: Buffer) => outgoing.write(piece));
        answer.on('end', () => {
          outgoing.end();
          resolve();
        });
        answer.on('error', reject);
      },
    );
    call.on('error', reject);
    if (signal instanceof EventEmitter) signal.once('abort', () => call.destroy(new Error('the client went away')));
    call.end(body);
  });
}

const forwarders = { request: viaRequest, stream: viaStream, http: viaHttp } as const;
const forward = forwarders[shape as keyof typeof forwarders];
if (forward === undefined) throw new Error(`FLOOR_SHAPE must be one of ${Object.keys(forwarders).join(', ')}`);

const server = createServer({ noDelay: true, keepAliveTimeout: 5_000 }, (incoming, outgoing) => {
  if (incoming.method !== 'POST' || incoming.url !== '/v1/chat/completions') {
    outgoing.writeHead(404).end();
    return;
  }
  const abort = abortKind === 'emitter' ? new EventEmitter() : new AbortController();
  outgoing.on('close', () => {
    if (outgoing.writableFinished) return;
    if (abort instanceof EventEmitter) abort.emit('abort');
    else abort.abort();
  });
  readBody(incoming)
    .then((body) => forward(body, outgoing, abort instanceof EventEmitter ? abort : abort.signal))
    .catch(() => {
      if (!outgoing.headersSent) outgoing.writeHead(502).end();
      else outgoing.destroy();
    });
});

server.listen(0, '127.0.0.1', () => {
  const { port } = server.address() as AddressInfo;
  process.stdout.write(`${JSON.stringify({ url: `http://127.0.0.1:${port}` })}\n`);
});

const stop = (): void => {
  server.closeAllConnections();
  server.close(() => {
    httpAgent.destroy();
    void agent.close().finally(() => process.exit(0));
  });
};
process.on('SIGTERM', stop);
process.stdin.on('end', stop);
process.stdin.resume();
