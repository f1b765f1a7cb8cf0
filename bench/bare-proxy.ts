/**
 * Child process: the floor of any Node gateway. node:http in front, undici `request` with a pooled
 * Agent behind: the (small) request body read whole and forwarded to `UPSTREAM_URL`, the response
 * body piped back as it arrives. No parsing, no validation. Prints `{"url": ...}` on stdout once listening.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { pipeline } from 'node:stream/promises';
import { Agent, request } from 'undici';

const upstream = process.env.UPSTREAM_URL;
if (upstream === undefined) throw new Error('UPSTREAM_URL is not set');
const target = `${upstream}/v1/chat/completions`;
const agent = new Agent({ connections: 256, keepAliveTimeout: 30_000 });

const server = createServer({ noDelay: true, keepAliveTimeout: 5_000 }, (incoming, outgoing) => {
  if (incoming.method !== 'POST' || incoming.url !== '/v1/chat/completions') {
    outgoing.writeHead(404).end();
    return;
  }
  const abort = new AbortController();
  outgoing.on('close', () => {
    if (!outgoing.writableFinished) abort.abort();
  });
  const forward = async (): Promise<void> => {
    const pieces: Buffer[] = [];
    for await (const piece of incoming) pieces.push(piece as Buffer);
    const answer = await request(target, {
      method: 'POST',
      headers: { 'content-type': incoming.headers['content-type'] ?? 'application/json' },
      body: Buffer.concat(pieces),
      dispatcher: agent,
      signal: abort.signal,
      headersTimeout: 30_000,
      bodyTimeout: 30_000,
    });
    const headers: Record<string, string> = {};
    for (const name of ['content-type', 'content-length'] as const) {
      const value = answer.headers[name];
      if (typeof value === 'string') headers[name] = value;
    }
    outgoing.writeHead(answer.statusCode, headers);
    await pipeline(answer.body, outgoing);
  };
  forward().catch(() => {
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
    void agent.close().finally(() => process.exit(0));
  });
};
process.on('SIGTERM', stop);
process.stdin.on('end', stop);
process.stdin.resume();
