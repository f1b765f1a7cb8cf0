/**
 * The `before` target's code: g4f-ts as of an earlier commit (default f6f9b8c, the code before the
 * tool-call and image contract), extracted with `git archive` into `.bench-cache/before-COMMIT`,
 * with the project's node_modules linked in and built with tsc there. Built once, then reused.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, rmSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { CACHE_DIR, PROJECT_ROOT } from './child-process.js';

const run = promisify(execFile);
export const DEFAULT_BEFORE_COMMIT = 'f6f9b8c';

/** The folder whose dist/ holds the build of `commit` (or `commit` itself when it is such a folder). */
export async function buildBefore(commit: string, log: (line: string) => void): Promise<string> {
  if (existsSync(join(commit, 'dist', 'server', 'index.js'))) return commit;
  const { stdout } = await run('git', ['rev-parse', '--short=12', `${commit}^{commit}`], { cwd: PROJECT_ROOT });
  const resolved = stdout.trim();
  const folder = join(CACHE_DIR, `before-${resolved}`);
  if (existsSync(join(folder, 'dist', 'server', 'index.js'))) return folder;
  rmSync(folder, { recursive: true, force: true });
  mkdirSync(folder, { recursive: true });
  log(`building ${resolved} into ${folder} ...`);
  await run('sh', ['-c', `git archive ${resolved} | tar -x -C '${folder}'`], { cwd: PROJECT_ROOT });
  symlinkSync(join(PROJECT_ROOT, 'node_modules'), join(folder, 'node_modules'));
  await run(process.execPath, [join(PROJECT_ROOT, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.build.json'], { cwd: folder, timeout: 300_000 });
  return folder;
}
