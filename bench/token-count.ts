/**
 * Token counting and the event loop: the longest block while
 * - the server counts the usage of a 1 MB message (`countUsage`, as when the upstream gives none):
 *   one letter repeated, and, the costliest text for the tokenizer, random letters and Chinese
 *   with no break;
 * - a real server over a socket answers a 1 MB message from an upstream without usage, while
 *   `GET /health` is asked every 20 ms (its slowest answer is the figure a client sees);
 * - the chat page's context fitting (`fitToContext`, synchronous) takes a 150k-character message;
 * - for reference, the tokenizer on a whole 32k run of one letter (what every count was before).
 * The longest block is the longest gap between two turns of a setImmediate ping loop;
 * monitorEventLoopDelay's maximum is printed beside it.
 *
 * Run alone: node --import tsx bench/token-count.ts [--quick]
 */
import { cpus, loadavg } from 'node:os';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { countTokens } from 'gpt-tokenizer/model/gpt-3.5-turbo';
import { countUsage } from '../src/server/token-count.js';
import { fitToContext } from '../src/store/context-window.js';
import { postChat, send, startFixture, userMessage } from '../test/server-fixture.js';

export interface TokenCountRow {
  name: string;
  chars: number;
  elapsedMs: number;
  /** Longest gap between two turns of the ping loop. */
  longestBlockMs: number;
  /** monitorEventLoopDelay's maximum (1 ms resolution). */
  histogramMaxMs: number;
  /** Slowest `GET /health` answer during the work (server scenario only). */
  slowestHealthMs?: number;
  healthAnswers?: number;
}

const round = (value: number): number => Math.round(value * 10) / 10;

/** Runs `work` while the event loop is watched. */
async function watch(work: () => Promise<unknown>): Promise<{ elapsedMs: number; longestBlockMs: number; histogramMaxMs: number }> {
  const histogram = monitorEventLoopDelay({ resolution: 1 });
  let longest = 0;
  let last = performance.now();
  let running = true;
  const ping = (): void => {
    const now = performance.now();
    longest = Math.max(longest, now - last);
    last = now;
    if (running) setImmediate(ping);
  };
  histogram.enable();
  // The histogram records the gap between two of its timer's runs: let it run once first.
  await new Promise((resolve) => setTimeout(resolve, 5));
  last = performance.now();
  setImmediate(ping);
  const started = performance.now();
  await work();
  const elapsedMs = performance.now() - started;
  running = false;
  await new Promise((resolve) => setImmediate(resolve));
  histogram.disable();
  return { elapsedMs: round(elapsedMs), longestBlockMs: round(longest), histogramMaxMs: round(histogram.max / 1e6) };
}

/** Synchronous work, run in its own turn of the loop so the ping loop sees it as one block. */
const inTurn = (work: () => unknown): Promise<void> =>
  new Promise((resolve) =>
    setImmediate(() => {
      work();
      resolve();
    }),
  );

function randomText(length: number, alphabet: string, seed: number): string {
  let state = seed;
  const characters: string[] = [];
  for (let index = 0; index < length; index += 1) {
    state = (state * 1_103_515_245 + 12_345) & 0x7fff_ffff;
    characters.push(alphabet[state % alphabet.length] ?? 'a');
  }
  return characters.join('');
}

const LETTERS = 'abcdefghijklmnopqrstuvwxyz';
const CHINESE =
  '的一是不了人我在有他这中大来上国个到说们为子和你地出道也时年得就那要下以生会自着去之过家学对可她里后小么心多天而能好都然没日于起还发成事只作当想看文无开手十用主行方又如前所本见经头面公同三已老从动两长知民样现分将外但身些与高意进把法此实回二理美点月明其种声全工己话儿者向情部正名定女问力机给等几很业最间新什打便位因重被走电四第门相次东政海口使教西再平真听世气信北少关并内加化由却代军产入先山五太水万市眼体别处总才场师书比住员九笑性通目华报立马命张活难神数件安表原车白应路期叫死常提感金何更反合放做系计或司利受光王果亲界及今京务制解各任至清物台象记边共风战干接它许八特觉望直服毛林题建南度统色字请交爱让认算论百吃义';

async function serverScenario(content: string): Promise<TokenCountRow> {
  const fixture = await startFixture({ bodyLimitBytes: 4 * 1024 * 1024 });
  try {
    fixture.alpha.enqueue({ usage: false, text: 'ok' });
    let slowest = 0;
    let answers = 0;
    let chatDone = false;
    const healthLoop = (async () => {
      while (!chatDone) {
        const asked = performance.now();
        await send(fixture.url, { path: '/health' });
        slowest = Math.max(slowest, performance.now() - asked);
        answers += 1;
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    })();
    const watched = await watch(async () => {
      const response = await postChat(fixture.url, { model: 'test-model', messages: userMessage(content) });
      chatDone = true;
      if (response.status !== 200) throw new Error(`chat answered ${response.status}: ${response.body.slice(0, 200)}`);
    });
    await healthLoop;
    return {
      name: 'server: POST 1 MB "b" (no upstream usage) + GET /health every 20 ms',
      chars: content.length,
      ...watched,
      slowestHealthMs: round(slowest),
      healthAnswers: answers,
    };
  } finally {
    await fixture.close();
  }
}

export async function runTokenCountBench(options: { quick?: boolean } = {}): Promise<TokenCountRow[]> {
  const rows: TokenCountRow[] = [];
  const oneMegabyte = 1_048_576;
  // Load the tokenizers first: their loading is not what is measured.
  await countUsage([{ role: 'user', content: 'warm up' }], 'ok');
  fitToContext([{ role: 'user', content: 'warm up' }], { model: 'gpt-4o' });

  const usageCases: Array<[string, string]> = [['countUsage: 1 MB "b"', 'b'.repeat(oneMegabyte)]];
  if (options.quick !== true) {
    usageCases.push(['countUsage: 1 MB random letters, no break', randomText(oneMegabyte, LETTERS, 1)]);
    usageCases.push(['countUsage: 300k Chinese characters, no break', randomText(300_000, CHINESE, 2)]);
  }
  for (const [name, content] of usageCases) {
    rows.push({ name, chars: content.length, ...(await watch(() => countUsage([{ role: 'user', content }], 'ok'))) });
  }

  rows.push(await serverScenario('b'.repeat(oneMegabyte)));

  const fitCases: Array<[string, string]> = [
    ['fitToContext: 150k "b"', 'b'.repeat(150_000)],
    ['fitToContext: 150k random letters, no break', randomText(150_000, LETTERS, 3)],
    ['fitToContext: 150k Chinese characters, no break', randomText(150_000, CHINESE, 4)],
  ];
  for (const [name, content] of fitCases) {
    const history = [
      { role: 'user' as const, content: 'hello' },
      { role: 'assistant' as const, content: 'hi' },
      { role: 'user' as const, content },
    ];
    rows.push({ name, chars: content.length, ...(await watch(() => inTurn(() => fitToContext(history, { model: 'gpt-4o' })))) });
  }
  // A conversation of many long messages: one fitting counts at most FIT_TOKENIZER_CHARS exactly.
  const longHistory = Array.from({ length: 40 }, (_, index) => ({
    role: index % 2 === 0 ? ('user' as const) : ('assistant' as const),
    content: randomText(8_000, CHINESE, 10 + index),
  }));
  rows.push({
    name: 'fitToContext: 40 messages of 8k Chinese characters, no break',
    chars: 320_000,
    ...(await watch(() => inTurn(() => fitToContext(longHistory, { model: 'gpt-4.1' })))),
  });

  const reference = 'b'.repeat(32_768);
  rows.push({
    name: 'before, for reference: countTokens on a whole 32k run of "b"',
    chars: reference.length,
    ...(await watch(() => inTurn(() => countTokens(reference)))),
  });

  process.stdout.write(`token counting, ${cpus().length} CPUs, 1-minute load average ${loadavg()[0]?.toFixed(2)} at the end (other work stretches blocks)\n`);
  process.stdout.write(`${renderTable(rows)}\n`);
  return rows;
}

function renderTable(rows: readonly TokenCountRow[]): string {
  return [
    '| scenario | chars | elapsed ms | longest event-loop block ms | monitorEventLoopDelay max ms | slowest /health ms (answers) |',
    '|---|---:|---:|---:|---:|---:|',
    ...rows.map(
      (row) =>
        `| ${row.name} | ${row.chars} | ${row.elapsedMs} | ${row.longestBlockMs} | ${row.histogramMaxMs} | ${row.slowestHealthMs === undefined ? '' : `${row.slowestHealthMs} (${row.healthAnswers ?? 0})`} |`,
    ),
  ].join('\n');
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  runTokenCountBench({ quick: process.argv.includes('--quick') }).catch((error: unknown) => {
    process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exitCode = 1;
  });
}
