/**
 * The Portkey AI gateway as a bench target: installed into `.bench-cache/portkey` on first use (not
 * a project dependency; `@hono/node-server` pinned to 1.13.8 through npm overrides, which its
 * streaming needs), started as a child process bound to 127.0.0.1 on a free port.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { CACHE_DIR, PROJECT_ROOT, startChild, type Child } from './child-process.js';

const run = promisify(execFile);
const PORTKEY_DIR = join(CACHE_DIR, 'portkey');
const START_SCRIPT = join(PORTKEY_DIR, 'node_modules/@portkey-ai/gateway/build/start-server.js');

/** Install the gateway unless it is there already; returns its start script. */
export async function installPortkey(log: (line: string) => void): Promise<string> {
  if (existsSync(START_SCRIPT)) return START_SCRIPT;
  mkdirSync(PORTKEY_DIR, { recursive: true });
  writeFileSync(
    join(PORTKEY_DIR, 'package.json'),
    `${JSON.stringify({ name: 'bench-portkey', private: true, version: '0.0.0', overrides: { '@hono/node-server': '1.13.8' } }, null, 2)}\n`,
  );
  log('installing @portkey-ai/gateway into .bench-cache/portkey ...');
  await run('npm', ['install', '--prefix', PORTKEY_DIR, '--no-audit', '--no-fund', '--ignore-scripts', '@portkey-ai/gateway'], {
    timeout: 300_000,
    maxBuffer: 16 * 1024 * 1024,
  });
  if (!existsSync(START_SCRIPT)) throw new Error(`installed, but ${START_SCRIPT} is missing`);
  return START_SCRIPT;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

export async function startPortkey(startScript: string): Promise<Child> {
  const port = await freePort();
  return startChild({
    name: 'portkey',
    args: ['--import', join(PROJECT_ROOT, 'bench/loopback-listen.mjs'), startScript, `--port=${port}`, '--headless'],
    cwd: PORTKEY_DIR,
    env: { NODE_ENV: 'production' },
    parseUrl: (line) => (line.includes('Ready for connections') ? `http://127.0.0.1:${port}` : undefined),
    timeoutMs: 30_000,
  });
}

/** Headers that route a Portkey request to the emulator. */
export function portkeyHeaders(emulatorUrl: string): Record<string, string> {
  return {
    'x-portkey-provider': 'openai',
    'x-portkey-custom-host': `${emulatorUrl}/v1`,
    authorization: 'Bearer dummy',
  };
}
