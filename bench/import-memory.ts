/**
 * Memory of the serving process for the largest import the page's API allows
 * (src/store/limits.ts): `g4f serve` as built in dist/, run with the heap flags the command gives
 * it (Node's defaults; G4F_BENCH_NODE_ARGS adds flags), on a fresh data directory. Two imports, each at the
 * limits: the most messages (every message short), and the longest messages (each at the
 * per-message limit). Every string holds one character outside Latin-1, so that V8 keeps it at
 * two bytes per character: the most memory a text of that length can take.
 *
 * For each, the steps the page takes, each measured apart: the import (its reply is a summary),
 * opening the conversation (GET with every message), and its export as JSON and as Markdown. The
 * peak RSS of each step is the process's `VmHWM`, reset before the step through
 * `/proc/<pid>/clear_refs`. After every step the server must still answer /health.
 *
 * Last, the largest body the import route reads, its text over the character limit: refused
 * with a 400, and measured too (the body is parsed before its text can be counted).
 *
 * Needs the build (`npm run build`). Run alone: `node --import tsx bench/import-memory.ts`;
 * writes bench/results/import-memory.md (`--quick`: the import of the most messages only,
 * printed, not written). Exit code 1 when a step is not answered as expected.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CONVERSATION_LIMITS } from '../src/store/limits.js';
import { alive, startServe, stopServe, type Serve } from './serve-process.js';

const ROOT = resolve(import.meta.dirname, '..');
const MIB = 1024 * 1024;

export interface ImportMemoryStep {
  step: string;
  status: number;
  /** Bytes of the answer's body. */
  replyBytes: number;
  elapsedMs: number;
  peakRssBytes: number;
}

export interface ImportMemoryCase {
  name: string;
  messages: number;
  /** Characters of the import text (the limit is CONVERSATION_LIMITS.importChars). */
  importChars: number;
  /** Bytes of the request body. */
  bodyBytes: number;
  steps: ImportMemoryStep[];
}

export interface ImportMemoryResult {
  nodeArgs: string[];
  idleRssBytes: number;
  cases: ImportMemoryCase[];
  /** The highest peak of every step of every case. */
  peakRssBytes: number;
  /** Whether the server answered every step as it should and stayed up. */
  ok: boolean;
}

/** Extra node flags for `g4f serve` from G4F_BENCH_NODE_ARGS (none by default: it runs with Node's defaults). */
function serveNodeArgs(): string[] {
  return (process.env.G4F_BENCH_NODE_ARGS ?? '').split(/\s+/).filter((flag) => flag !== '');
}

/** A text of exactly `length` characters, one of them outside Latin-1 (a two-byte string in V8). */
function wideText(length: number, seed: number): string {
  const filler = `lorem ipsum dolor sit amet ${seed} `;
  return `ж${filler.repeat(Math.ceil(length / filler.length)).slice(0, Math.max(0, length - 1))}`;
}

/** A g4f JSON export of `messages` messages, as long as the import limit allows (each within the message limit). */
function largestImport(messages: number): string {
  const { importChars, messageChars, systemPromptChars, titleChars } = CONVERSATION_LIMITS;
  const document = (contentLength: number): string =>
    JSON.stringify({
      format: 'g4f-conversation',
      version: 1,
      conversation: { title: wideText(titleChars, 0), systemPrompt: wideText(systemPromptChars, 1), model: 'gpt-4', provider: '' },
      messages: Array.from({ length: messages }, (_, index) => ({
        role: index % 2 === 0 ? 'user' : 'assistant',
        content: wideText(contentLength, index),
      })),
    });
  // document(0) holds texts of one character (the wide one): each added character adds one to the whole.
  const contentLength = Math.min(messageChars, Math.floor((importChars - document(0).length) / messages) + 1);
  const text = document(contentLength);
  if (text.length > importChars) throw new Error(`the generated import is ${text.length} characters, over ${importChars}`);
  return text;
}

function status(pid: number): string {
  return readFileSync(`/proc/${pid}/status`, 'utf8');
}

function kib(pid: number, key: string): number {
  const match = new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(status(pid));
  return match === null ? 0 : Number(match[1]) * 1024;
}

/** Resets the process's peak RSS (VmHWM) to its current RSS; false where the kernel does not allow it. */
function resetPeak(pid: number): boolean {
  try {
    writeFileSync(`/proc/${pid}/clear_refs`, '5');
    return true;
  } catch {
    return false;
  }
}

function exitedWithin(server: Serve, ms: number): Promise<void> {
  if (!alive(server)) return Promise.resolve();
  return new Promise((resolvePromise) => {
    const timer = setTimeout(resolvePromise, ms);
    server.process.once('exit', () => {
      clearTimeout(timer);
      resolvePromise();
    });
  });
}

/** One request with the peak RSS it caused; status 0 when the server died on it. */
async function measureStep(server: Serve, step: string, request: () => Promise<Response>): Promise<ImportMemoryStep & { body: string }> {
  const pid = server.process.pid!;
  resetPeak(pid);
  const started = performance.now();
  let peakRssBytes = 0;
  // Sampled too, so that a step the server dies on still has a figure.
  const sampler = setInterval(() => {
    if (alive(server)) peakRssBytes = Math.max(peakRssBytes, kib(pid, 'VmHWM'));
  }, 20);
  try {
    const response = await request();
    const body = await response.text();
    const elapsedMs = Math.round(performance.now() - started);
    peakRssBytes = Math.max(peakRssBytes, kib(pid, 'VmHWM'));
    const health = await fetch(`${server.url}/health`);
    await health.text();
    if (health.status !== 200) throw new Error(`/health answered ${health.status}`);
    return { step, status: response.status, replyBytes: Buffer.byteLength(body), elapsedMs, peakRssBytes, body };
  } catch (error) {
    // A connection cut by a dying server fails before its exit is seen: wait for either.
    await exitedWithin(server, 10_000);
    if (alive(server)) throw new Error(`${step}: ${(error as Error).message}`);
    const reason = /heap out of memory/.test(server.stderr()) ? 'out of heap' : `exit ${String(server.process.exitCode ?? server.process.signalCode)}`;
    return {
      step: `${step}: the server died (${reason})`,
      status: 0,
      replyBytes: 0,
      elapsedMs: Math.round(performance.now() - started),
      peakRssBytes,
      body: '',
    };
  } finally {
    clearInterval(sampler);
  }
}

async function runCase(server: Serve, name: string, messages: number, log: (line: string) => void): Promise<ImportMemoryCase> {
  const text = largestImport(messages);
  const body = JSON.stringify({ format: 'json', content: text });
  log(`${name}: ${messages} messages, ${text.length} characters, a ${(Buffer.byteLength(body) / MIB).toFixed(1)} MiB body`);
  const result: ImportMemoryCase = { name, messages, importChars: text.length, bodyBytes: Buffer.byteLength(body), steps: [] };
  const imported = await measureStep(server, 'import (POST /api/conversations/import)', () =>
    fetch(`${server.url}/api/conversations/import`, { method: 'POST', headers: { 'content-type': 'application/json' }, body }),
  );
  const { body: summary, ...importStep } = imported;
  result.steps.push(importStep);
  log(`  ${importStep.step}: ${importStep.status}, peak RSS ${mib(importStep.peakRssBytes)} MiB`);
  if (imported.status !== 201) return result;
  const { id, messageCount } = JSON.parse(summary) as { id: string; messageCount: number };
  if (messageCount !== messages) throw new Error(`${name}: the summary counts ${messageCount} messages, not ${messages}`);
  const later: Array<[string, string]> = [
    ['open (GET /api/conversations/:id)', `/api/conversations/${id}`],
    ['export as JSON', `/api/conversations/${id}/export?format=json`],
    ['export as Markdown', `/api/conversations/${id}/export?format=markdown`],
  ];
  for (const [step, path] of later) {
    const { body: _body, ...measured } = await measureStep(server, step, () => fetch(`${server.url}${path}`));
    result.steps.push(measured);
    log(`  ${measured.step}: ${measured.status}, peak RSS ${mib(measured.peakRssBytes)} MiB`);
    if (measured.status !== 200) return result;
  }
  // Delete it, so that the next case starts from the same store.
  await (await fetch(`${server.url}/api/conversations/${id}`, { method: 'DELETE' })).text();
  return result;
}

export async function runImportMemoryBench(options: { quick?: boolean; print?: boolean; log?: (line: string) => void } = {}): Promise<ImportMemoryResult> {
  const log = options.log ?? ((line: string) => process.stderr.write(`[import-memory] ${line}\n`));
  const workDir = mkdtempSync(join(tmpdir(), 'g4f-import-memory-'));
  const nodeArgs = serveNodeArgs();
  let server: Serve | undefined;
  try {
    server = await startServe({ workDir, dataDir: join(workDir, 'data'), nodeArgs });
    const pid = server.process.pid!;
    if (!resetPeak(pid)) log('cannot reset the peak RSS (/proc/<pid>/clear_refs): each step shows the peak since start');
    await (await fetch(`${server.url}/api/conversations`)).text();
    const idleRssBytes = kib(pid, 'VmRSS');
    const { importMessages, messageChars, importChars } = CONVERSATION_LIMITS;
    const shapes: Array<[string, number]> = [
      [`most messages (${importMessages.toLocaleString('en-US')})`, importMessages],
      [`longest messages (${messageChars.toLocaleString('en-US')} characters each)`, Math.floor(importChars / (messageChars + 40))],
    ];
    const cases: ImportMemoryCase[] = [];
    for (const [name, messages] of options.quick === true ? shapes.slice(0, 1) : shapes) {
      // A fresh server for each import: nothing of the one before in its heap.
      if (cases.length > 0) {
        await stopServe(server);
        server = await startServe({ workDir, dataDir: join(workDir, `data-${cases.length}`), nodeArgs });
        await (await fetch(`${server.url}/api/conversations`)).text();
      }
      cases.push(await runCase(server, name, messages, log));
    }
    // The largest body the import route reads: its text over `importChars`, refused (400) only once parsed.
    await stopServe(server);
    server = await startServe({ workDir, dataDir: join(workDir, 'data-body'), nodeArgs });
    await (await fetch(`${server.url}/api/conversations`)).text();
    const { importBodyBytes } = CONVERSATION_LIMITS;
    const oversized = JSON.stringify({ format: 'json', content: wideText(importBodyBytes - 100, 0) });
    log(`largest body: ${importBodyBytes - 100} characters of text, a ${(Buffer.byteLength(oversized) / MIB).toFixed(1)} MiB body`);
    const { body: refusal, ...refused } = await measureStep(server, 'import over the character limit (refused)', () =>
      fetch(`${server!.url}/api/conversations/import`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: oversized }),
    );
    log(`  ${refused.step}: ${refused.status}, peak RSS ${mib(refused.peakRssBytes)} MiB: ${refusal.slice(0, 160)}`);
    cases.push({ name: 'largest body', messages: 0, importChars: importBodyBytes - 100, bodyBytes: Buffer.byteLength(oversized), steps: [refused] });
    const steps = cases.flatMap((entry) => entry.steps);
    const peakRssBytes = Math.max(...steps.map((step) => step.peakRssBytes));
    const ok =
      refused.status === 400 &&
      cases
        .slice(0, -1)
        .every((entry) => entry.steps.length === 4 && entry.steps[0]?.status === 201 && entry.steps.slice(1).every((step) => step.status === 200));
    const result: ImportMemoryResult = { nodeArgs, idleRssBytes, cases, peakRssBytes, ok };
    if (!ok) process.exitCode = 1;
    const report = markdownReport(result);
    if (options.quick !== true) {
      mkdirSync(join(ROOT, 'bench', 'results'), { recursive: true });
      writeFileSync(join(ROOT, 'bench', 'results', 'import-memory.md'), report);
      log('written to bench/results/import-memory.md');
    }
    if (options.print !== false) process.stdout.write(`${report}\n`);
    return result;
  } finally {
    if (server !== undefined) await stopServe(server);
    rmSync(workDir, { recursive: true, force: true });
  }
}

function mib(bytes: number): string {
  return (bytes / MIB).toFixed(1);
}

function markdownReport(result: ImportMemoryResult): string {
  const limits = CONVERSATION_LIMITS;
  const number = (value: number): string => value.toLocaleString('en-US');
  const rows = result.cases.flatMap((entry) =>
    entry.steps.map((step, index) => {
      const what = index === 0 ? `${entry.name}: ${number(entry.importChars)} characters, ${mib(entry.bodyBytes)} MiB body` : '';
      return `| ${what} | ${step.step} | ${step.status} | ${number(Math.ceil(step.replyBytes / 1024))} | ${step.elapsedMs} | ${mib(step.peakRssBytes)} |`;
    }),
  );
  return [
    '# Memory of the largest import',
    '',
    `\`g4f serve\` as built (\`node ${result.nodeArgs.join(' ')} bin/g4f.js serve\`), Node ${process.version}, ` +
      `${cpus().length} CPUs, ${new Date().toISOString().slice(0, 10)}; \`node --import tsx bench/import-memory.ts\` (or \`npm run bench -- --only import\`).`,
    '',
    `Limits (src/store/limits.ts): an import of at most ${number(limits.importChars)} characters, ${number(limits.importMessages)} messages and a ` +
      `${number(limits.importBodyBytes)}-byte body; each message at most ${number(limits.messageChars)} characters, the system prompt at most ` +
      `${number(limits.systemPromptChars)}. Every text holds a character outside Latin-1, so V8 keeps it at two bytes per character. ` +
      'Each import runs on a fresh server; the peak RSS of each step is its own (VmHWM reset before it).',
    '',
    `RSS when idle: ${mib(result.idleRssBytes)} MiB. Highest peak of any step: **${mib(result.peakRssBytes)} MiB**. ` +
      (result.ok ? 'The server answered every step as expected, and /health after each.' : '**Not every step was answered as expected.**'),
    '',
    '| import | step | status | reply KiB | ms | peak RSS MiB |',
    '|---|---|---:|---:|---:|---:|',
    ...rows,
    '',
  ].join('\n');
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === resolve(process.argv[1])) {
  runImportMemoryBench({ quick: process.argv.includes('--quick') }).catch((error: unknown) => {
    process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exitCode = 1;
  });
}
