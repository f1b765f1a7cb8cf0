/**
 * `g4f serve` as the command runs it, in a child process of a benchmark: started from bin/g4f.js
 * with a clean environment (no G4F_ variables or NODE_OPTIONS of the bench's own), resolved once it
 * says where it listens; stopped with SIGTERM, then SIGKILL after 5 s.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { PROJECT_ROOT } from './child-process.js';

export interface Serve {
  process: ChildProcess;
  url: string;
  /** The last 8 KiB of its stderr. */
  stderr(): string;
}

export interface StartServeOptions {
  workDir: string;
  dataDir: string;
  nodeArgs: readonly string[];
  /** Variables besides the bench's own environment (G4F_CONFIG…). */
  env?: Record<string, string>;
}

export function alive(serve: Serve): boolean {
  return serve.process.exitCode === null && serve.process.signalCode === null;
}

export function startServe(options: StartServeOptions): Promise<Serve> {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) if (!key.startsWith('G4F_') && key !== 'NODE_OPTIONS') env[key] = value;
  Object.assign(env, options.env);
  const args = [...options.nodeArgs, join(PROJECT_ROOT, 'bin', 'g4f.js'), 'serve', '--port', '0', '--data-dir', options.dataDir, '--log-format', 'json'];
  const child = spawn(process.execPath, args, { cwd: options.workDir, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (piece: Buffer) => {
    stderr = (stderr + piece.toString('utf8')).slice(-8_192);
  });
  return new Promise((resolveStart, reject) => {
    const lines = createInterface({ input: child.stdout! });
    const fail = (reason: string): void => {
      child.kill('SIGKILL');
      reject(new Error(`g4f serve: ${reason}\n${stderr.trim()}`));
    };
    child.once('exit', (code, signal) => fail(`exited early (code ${String(code)}, signal ${String(signal)})`));
    child.once('error', (error) => fail(error.message));
    lines.on('line', (line) => {
      const match = /listening on (http:\/\/\S+)/.exec(line);
      if (match?.[1] === undefined) return;
      child.removeAllListeners('exit');
      resolveStart({ process: child, url: match[1], stderr: () => stderr });
    });
  });
}

export async function stopServe(serve: Serve): Promise<void> {
  const child = serve.process;
  if (!alive(serve)) return;
  const exited = new Promise<void>((resolveExit) => child.once('exit', () => resolveExit()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
  await exited;
  clearTimeout(timer);
}
