/**
 * `npm run bench -- --only gateway --profile`: runs the gateway bench against g4f serve alone with
 * `node --cpu-prof` on the server process, then summarises the profile: self time by function and
 * by file, so the costs of the request path show with file:line.
 */
import { mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CACHE_DIR, PROJECT_ROOT } from './child-process.js';
import { runGatewayBench, type GatewayBenchOptions } from './gateway.js';

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
  columnNumber: number;
}

interface CpuProfile {
  nodes: Array<{ id: number; callFrame: CallFrame }>;
  samples: number[];
  timeDeltas: number[];
}

function place(url: string): string {
  if (url === '') return '(native)';
  const path = url.startsWith('file://') ? fileURLToPath(url) : url;
  return path.startsWith(PROJECT_ROOT) ? relative(PROJECT_ROOT, path) : path;
}

/** Self time by function and by file, as Markdown. */
export function summariseProfile(profile: CpuProfile, top = 30): string {
  const frames = new Map<number, CallFrame>();
  for (const node of profile.nodes) frames.set(node.id, node.callFrame);
  const byFunction = new Map<string, number>();
  const byFile = new Map<string, number>();
  let total = 0;
  profile.samples.forEach((id, index) => {
    const micros = profile.timeDeltas[index] ?? 0;
    const frame = frames.get(id);
    if (frame === undefined) return;
    total += micros;
    const file = place(frame.url);
    const key = `${frame.functionName === '' ? '(anonymous)' : frame.functionName} ${file}${frame.url === '' ? '' : `:${frame.lineNumber + 1}`}`;
    byFunction.set(key, (byFunction.get(key) ?? 0) + micros);
    byFile.set(file, (byFile.get(file) ?? 0) + micros);
  });
  const rows = (map: Map<string, number>): string[] =>
    [...map.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([key, micros]) => `| ${key} | ${(micros / 1000).toFixed(0)} | ${((micros / total) * 100).toFixed(1)}% |`);
  return [
    `Profile of g4f serve: ${(total / 1e6).toFixed(1)} s of samples.`,
    '',
    '| function (self time) | ms | share |',
    '| --- | ---: | ---: |',
    ...rows(byFunction),
    '',
    '| file (self time) | ms | share |',
    '| --- | ---: | ---: |',
    ...rows(byFile),
  ].join('\n');
}

export async function runProfile(options: GatewayBenchOptions): Promise<string> {
  const folder = join(CACHE_DIR, 'profiles');
  rmSync(folder, { recursive: true, force: true });
  mkdirSync(folder, { recursive: true });
  await runGatewayBench({ ...options, targets: ['g4f'], g4fNodeArgs: [...(options.g4fNodeArgs ?? []), '--cpu-prof', `--cpu-prof-dir=${folder}`] });
  const files = readdirSync(folder).filter((file) => file.endsWith('.cpuprofile'));
  if (files.length === 0) throw new Error(`no .cpuprofile written in ${folder}`);
  const path = join(folder, files[0] ?? '');
  return `${summariseProfile(JSON.parse(readFileSync(path, 'utf8')) as CpuProfile)}\n\n(profile: ${relative(PROJECT_ROOT, path)})`;
}
