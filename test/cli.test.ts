/**
 * The built `g4f` binary, run as a child process against the upstream emulators
 * (real HTTP on 127.0.0.1). `npm test` builds first; alone: `npm run build` then
 * `node --import tsx --test test/cli.test.ts`.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, beforeEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createEmulator, type Emulator, type Plan } from '../src/emulators/index.js';
import { createNativeEmulator } from '../src/emulators/native.js';
import { openStore } from '../src/store/index.js';

const ROOT = new URL('..', import.meta.url).pathname;
const BIN = join(ROOT, 'bin', 'g4f.js');
const VERSION = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;
/** A guard against a hung child, far above any normal run. */
const HANG_GUARD_MS = 60_000;

let openai: Emulator;
let lockchat: Emulator;
let workDir: string;

interface RunResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

function childEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (!key.startsWith('G4F_') && key !== 'NO_COLOR' && key !== 'FORCE_COLOR') env[key] = value;
  }
  return {
    ...env,
    G4F_MISHALSGPT_URL: openai.url,
    G4F_LOCKCHAT_URL: lockchat.url,
    G4F_DATA_DIR: join(workDir, 'data'),
    G4F_CACHE_DIR: join(workDir, 'cache'),
    ...extra,
  };
}

interface StartOptions {
  stdin?: string;
  /** A stdin pipe left open for the test to write to (or not). */
  keepStdinOpen?: boolean;
  env?: Record<string, string>;
}

function startG4f(args: readonly string[], options: StartOptions = {}): ChildProcess {
  const child = spawn(process.execPath, [BIN, ...args], {
    cwd: workDir,
    env: childEnv(options.env),
    stdio: [options.stdin === undefined && options.keepStdinOpen !== true ? 'ignore' : 'pipe', 'pipe', 'pipe'],
  });
  if (options.stdin !== undefined) child.stdin?.end(options.stdin);
  return child;
}

function finished(child: ChildProcess, output: { stdout: string; stderr: string }): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const guard = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`g4f did not exit within ${HANG_GUARD_MS} ms; stderr: ${output.stderr}`));
    }, HANG_GUARD_MS);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(guard);
      resolve({ code, signal, stdout: output.stdout, stderr: output.stderr });
    });
  });
}

function collect(child: ChildProcess): { stdout: string; stderr: string } {
  const output = { stdout: '', stderr: '' };
  child.stdout?.setEncoding('utf8').on('data', (text: string) => (output.stdout += text));
  child.stderr?.setEncoding('utf8').on('data', (text: string) => (output.stderr += text));
  return output;
}

async function runG4f(args: readonly string[], options: StartOptions = {}): Promise<RunResult> {
  const child = startG4f(args, options);
  return finished(child, collect(child));
}

/** Resolves once `predicate` holds for the child's stdout so far. */
function stdoutMatches(child: ChildProcess, output: { stdout: string }, predicate: (text: string) => boolean): Promise<void> {
  return new Promise((resolve, reject) => {
    if (predicate(output.stdout)) return resolve();
    const onData = (): void => {
      if (predicate(output.stdout)) {
        child.stdout?.off('data', onData);
        resolve();
      }
    };
    child.stdout?.on('data', onData);
    child.on('close', () => reject(new Error(`exited before the expected output; stdout: ${output.stdout}`)));
  });
}

/** Polls a condition on collected output (an event we wait for, with a generous deadline). */
async function waitFor(condition: () => boolean, deadlineMs = HANG_GUARD_MS): Promise<void> {
  const deadline = Date.now() + deadlineMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('the expected output did not come');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** The conversations stored in `dataDir`, as `g4f conversations --json` lists them. */
async function storedConversations(dataDir: string): Promise<Array<{ id: string; title: string; messageCount: number }>> {
  const listed = await runG4f(['conversations', '--json', '--data-dir', dataDir]);
  assert.equal(listed.code, 0, listed.stderr);
  return JSON.parse(listed.stdout) as Array<{ id: string; title: string; messageCount: number }>;
}

function lastUserContent(body: unknown): string {
  const messages = (body as { messages: Array<{ role: string; content: string }> }).messages;
  return messages.filter((message) => message.role === 'user').at(-1)?.content ?? '';
}

before(async () => {
  assert.ok(existsSync(join(ROOT, 'dist', 'cli', 'main.js')), 'run `npm run build` first: the tests run the built binary');
  openai = await createEmulator({ protocol: 'openai' });
  lockchat = await createEmulator({ protocol: 'lockchat' });
  workDir = mkdtempSync(join(tmpdir(), 'g4f-cli-'));
});

after(async () => {
  await Promise.all([openai.close(), lockchat.close()]);
  rmSync(workDir, { recursive: true, force: true });
});

beforeEach(() => {
  openai.reset();
  lockchat.reset();
  openai.setDefaultPlan({});
  lockchat.setDefaultPlan({});
});

describe('g4f --version and --help', () => {
  test('--version prints the package version and exits 0', async () => {
    const result = await runG4f(['--version']);
    assert.equal(result.code, 0);
    assert.equal(result.stdout.trim(), VERSION);
    assert.equal(result.stderr, '');
  });

  test('-V prints the version as well, and --version beside another option goes through the parser', async () => {
    const short = await runG4f(['-V']);
    assert.equal(short.code, 0);
    assert.equal(short.stdout, `${VERSION}\n`);
    assert.equal(short.stderr, '');
    const withOption = await runG4f(['--verbose', '--version']);
    assert.equal(withOption.code, 0);
    assert.equal(withOption.stdout, `${VERSION}\n`);
  });

  test('--help lists every command', async () => {
    const result = await runG4f(['--help']);
    assert.equal(result.code, 0);
    for (const command of ['ask', 'chat', 'providers', 'models', 'serve', 'conversations']) assert.match(result.stdout, new RegExp(`^\\s+${command}\\b`, 'm'));
    assert.match(result.stdout, /--config <path>/);
    assert.match(result.stdout, /--verbose/);
  });

  for (const [command, option] of [
    ['ask', '--no-stream'],
    ['ask', '--stdin'],
    ['chat', '--resume <id>'],
    ['providers', '--check'],
    ['models', '--json'],
    ['serve', '--port <port>'],
    ['conversations', '--search <text>'],
  ] as const) {
    test(`${command} --help shows its options and the global ones`, async () => {
      const result = await runG4f([command, '--help']);
      assert.equal(result.code, 0);
      assert.match(result.stdout, new RegExp(`Usage: g4f ${command}`));
      assert.ok(result.stdout.includes(option), result.stdout);
      assert.match(result.stdout, /Global Options:[\s\S]*--verbose/);
    });
  }
});

describe('the launcher (bin/g4f.js)', () => {
  test('runs the tsc output in its own process, with no heap flags', async () => {
    const result = await runG4f(['--version']);
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.stdout.trim(), VERSION);
  });
});

describe('usage errors exit 2 with one line on stderr', () => {
  const cases: Array<[string, string[], RegExp]> = [
    ['an unknown command', ['bogus'], /unknown command 'bogus'/],
    ['an unknown option', ['ask', '--bogus', 'hi'], /unknown option '--bogus'/],
    ['a temperature out of range', ['ask', '--temperature', '7', 'hi'], /temperature.*0 to 2/],
    ['no prompt at all', ['ask'], /no prompt/],
    ['an unknown model', ['ask', '--model', 'no-such-model', 'hi'], /no-such-model does not exist/],
    ['an unknown provider', ['ask', '--provider', 'Nowhere', 'hi'], /Unknown provider: Nowhere/],
    ['a missing config file', ['--config', 'missing.json', 'ask', 'hi'], /cannot read config file/],
    ['no prompt, with a missing config file (the prompt is checked first)', ['--config', 'missing.json', 'ask'], /no prompt/],
  ];
  for (const [name, args, pattern] of cases) {
    test(name, async () => {
      const result = await runG4f(args);
      assert.equal(result.code, 2, result.stderr);
      assert.equal(result.stdout, '');
      const lines = result.stderr.trimEnd().split('\n');
      assert.equal(lines.length, 1, result.stderr);
      assert.match(lines[0] ?? '', /^g4f: error: /);
      assert.match(lines[0] ?? '', pattern);
    });
  }

  test('an invalid config file is a usage error', async () => {
    const path = join(workDir, 'bad.json');
    writeFileSync(path, '{"providers": 12}');
    const result = await runG4f(['--config', path, 'models']);
    assert.equal(result.code, 2);
    assert.match(result.stderr, /^g4f: error: .*providers/);
  });

  test('no request reaches an upstream on a usage error', async () => {
    await runG4f(['ask', '--model', 'no-such-model', 'hi']);
    assert.equal(openai.requests.length + lockchat.requests.length, 0);
  });
});

describe('g4f ask', () => {
  test('streams the answer to stdout as it arrives', async () => {
    openai.setDefaultPlan({ chunks: ['alpha ', 'beta ', 'gamma ', 'delta'], chunkDelayMs: 300 });
    const child = startG4f(['ask', 'hello']);
    const output = collect(child);
    const done = finished(child, output);
    await stdoutMatches(child, output, (text) => text.includes('alpha'));
    // The first words are out while the upstream is still writing the answer.
    assert.equal(openai.requests[0]?.outcome, 'pending');
    assert.ok(!output.stdout.includes('delta'), output.stdout);
    const result = await done;
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.stdout, 'alpha beta gamma delta\n');
    assert.equal(result.stderr, '');
    assert.equal((openai.requests[0]?.body as { stream?: boolean }).stream, true);
  });

  test('the words of the prompt are joined; the answer is the upstream text', async () => {
    const result = await runG4f(['ask', 'what', 'is', '2+2']);
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.stdout, 'Echo: what is 2+2\n');
    assert.equal(lastUserContent(openai.requests[0]?.body), 'what is 2+2');
  });

  test('piped stdin is the prompt', async () => {
    const result = await runG4f(['ask'], { stdin: 'a question from a pipe\n' });
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.stdout, 'Echo: a question from a pipe\n');
  });

  test('piped stdin is appended to the prompt, multi-byte text intact', async () => {
    const file = 'const café = "naïve ☕";\n'.repeat(2000);
    const result = await runG4f(['ask', 'review this'], { stdin: file });
    assert.equal(result.code, 0, result.stderr);
    assert.equal(lastUserContent(openai.requests[0]?.body), `review this\n\n${file.trim()}`);
  });

  test('a prompt argument and a stdin pipe that stays open and silent: answers without waiting for it', async () => {
    const child = startG4f(['ask', 'hello'], { keepStdinOpen: true });
    try {
      const result = await finished(child, collect(child));
      assert.equal(result.code, 0, result.stderr);
      assert.equal(result.stdout, 'Echo: hello\n');
      assert.equal(lastUserContent(openai.requests[0]?.body), 'hello');
    } finally {
      child.stdin?.destroy();
    }
  });

  test('once piped bytes arrive, stdin is read to its end, however slowly the rest comes', async () => {
    const child = startG4f(['ask', 'review this'], { keepStdinOpen: true });
    const done = finished(child, collect(child));
    child.stdin?.write('part one');
    // Well past the wait for a first byte: the rest still belongs to the prompt.
    setTimeout(() => child.stdin?.end(' and part two'), 1_000);
    const result = await done;
    assert.equal(result.code, 0, result.stderr);
    assert.equal(lastUserContent(openai.requests[0]?.body), 'review this\n\npart one and part two');
  });

  test('without a prompt argument, a slow stdin is waited for', async () => {
    const child = startG4f(['ask'], { keepStdinOpen: true });
    const done = finished(child, collect(child));
    setTimeout(() => child.stdin?.end('late question'), 1_000);
    const result = await done;
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.stdout, 'Echo: late question\n');
  });

  test('input that comes after the wait for stdin gave up is not sent, and one warning line names --stdin', async () => {
    // The answer stalls, so that the command is still running when the late input comes.
    openai.setDefaultPlan({ chunks: ['partial ', 'answer'], stallAfterChunks: 1 });
    const child = startG4f(['ask', 'sum it up'], { keepStdinOpen: true });
    child.stdin?.on('error', () => undefined);
    const output = collect(child);
    const done = finished(child, output);
    try {
      // The request is on its way: the wait for stdin is over. Then the slow writer writes.
      await openai.waitForRequests(1, HANG_GUARD_MS);
      child.stdin?.write('late data\n');
      await waitFor(() => output.stderr.includes('\n'));
      assert.match(output.stderr, /^g4f: warning: input arrived on stdin after 250 ms without any and was ignored; use --stdin to wait for it\n$/);
      assert.equal(lastUserContent(openai.requests[0]?.body), 'sum it up');
    } finally {
      child.kill('SIGINT');
    }
    const result = await done;
    assert.equal(result.code, 130, result.stderr);
    assert.equal(openai.requests.length, 1, 'the late input caused no other request');
  });

  test('--stdin waits for piped input however late it starts, and sends it', async () => {
    const child = startG4f(['ask', '--stdin', 'sum it up'], { keepStdinOpen: true });
    const done = finished(child, collect(child));
    // A slow writer: its first byte comes well after the 250 ms that are waited without --stdin.
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    assert.equal(openai.requests.length, 0, 'nothing is asked before stdin ends');
    child.stdin?.end('late data');
    const result = await done;
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.stderr, '');
    assert.equal(result.stdout, 'Echo: sum it up\n\nlate data\n');
  });

  test('--system, --temperature and --model reach the upstream', async () => {
    const result = await runG4f(['ask', '-s', 'be brief', '-t', '0.2', '-m', 'gpt4', 'hi']);
    assert.equal(result.code, 0, result.stderr);
    assert.equal(openai.requests.length, 0);
    const body = lockchat.requests[0]?.body as { model: string; temperature: number; messages: unknown[] };
    assert.equal(body.model, 'gpt-4');
    assert.equal(body.temperature, 0.2);
    assert.deepEqual(body.messages, [
      { role: 'system', content: 'be brief' },
      { role: 'user', content: 'hi' },
    ]);
  });

  test('--provider pins one provider', async () => {
    const result = await runG4f(['ask', '--provider', 'lockchat', 'hi']);
    assert.equal(result.code, 0, result.stderr);
    assert.equal(openai.requests.length, 0);
    assert.equal(lockchat.requests.length, 1);
  });

  test('--no-stream makes one non-streaming upstream call', async () => {
    const result = await runG4f(['ask', '--no-stream', 'hi']);
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.stdout, 'Echo: hi\n');
    assert.notEqual((openai.requests[0]?.body as { stream?: boolean }).stream, true);
  });

  for (const streaming of [true, false]) {
    test(`--json prints one chat.completion object${streaming ? '' : ' (with --no-stream)'}`, async () => {
      openai.setDefaultPlan({ text: 'four', chunkCount: 2 });
      const result = await runG4f(['ask', '--json', ...(streaming ? [] : ['--no-stream']), '2+2?']);
      assert.equal(result.code, 0, result.stderr);
      const completion = JSON.parse(result.stdout) as Record<string, unknown>;
      assert.equal(completion.object, 'chat.completion');
      assert.match(String(completion.id), /^chatcmpl-/);
      assert.equal(typeof completion.created, 'number');
      assert.equal(completion.model, 'gpt-3.5-turbo');
      assert.equal(completion.provider, 'Mishalsgpt');
      assert.deepEqual(completion.choices, [{ index: 0, message: { role: 'assistant', content: 'four' }, logprobs: null, finish_reason: 'stop' }]);
    });
  }

  for (const mode of [[], ['--no-stream'], ['--json']] as const) {
    test(`an empty answer (blanks only) is a failure: exit 1, one line naming the provider${mode.length === 0 ? '' : ` (${mode.join(' ')})`}`, async () => {
      openai.setDefaultPlan({ text: ' \n  ', chunkCount: 2 });
      const result = await runG4f(['ask', ...mode, 'hi']);
      assert.equal(result.code, 1, result.stderr);
      assert.equal(result.stdout, '');
      assert.equal(result.stderr, 'g4f: error: Mishalsgpt returned an empty answer\n');
    });
  }

  test('an answer with no text at all from every provider: exit 1, each provider named', async () => {
    openai.setDefaultPlan({ text: '' });
    lockchat.setDefaultPlan({ text: '' });
    const result = await runG4f(['ask', 'hi']);
    assert.equal(result.code, 1, result.stderr);
    assert.equal(result.stdout, '');
    assert.match(
      result.stderr,
      /^g4f: error: all providers failed for gpt-3\.5-turbo: Mishalsgpt \(returned an empty answer\); Lockchat \(returned an empty answer\)\n$/,
    );
  });

  test('--json while streaming has usage, counted with the tokenizer when the upstream sends none', async () => {
    openai.setDefaultPlan({ text: 'four', chunkCount: 2 });
    const result = await runG4f(['ask', '--json', '2+2?']);
    assert.equal(result.code, 0, result.stderr);
    assert.equal(openai.requests.length, 1);
    const usage = (JSON.parse(result.stdout) as { usage?: Record<string, number> }).usage;
    assert.ok(usage !== undefined, result.stdout);
    // cl100k: "four" is 1 token; the prompt is 3 + (3 + "user" + "2+2?") tokens.
    assert.equal(usage.completion_tokens, 1);
    assert.ok((usage.prompt_tokens ?? 0) > 6, JSON.stringify(usage));
    assert.equal(usage.total_tokens, (usage.prompt_tokens ?? 0) + (usage.completion_tokens ?? 0));
  });

  test('--json --no-stream keeps the upstream usage', async () => {
    openai.setDefaultPlan({ text: 'four five six' });
    const result = await runG4f(['ask', '--json', '--no-stream', '2+2?']);
    assert.equal(result.code, 0, result.stderr);
    // The emulator counts words: 1 prompt word, 3 answer words.
    assert.deepEqual((JSON.parse(result.stdout) as { usage?: unknown }).usage, { prompt_tokens: 1, completion_tokens: 3, total_tokens: 4 });
  });

  test('falls back to the next provider and still exits 0', async () => {
    openai.setDefaultPlan({ status: 503 });
    const result = await runG4f(['ask', 'hi']);
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.stdout, 'Echo: hi\n');
    assert.ok(openai.requests.length >= 1);
    assert.equal(lockchat.requests.length, 1);
  });

  test('all providers failing: exit 1 and one line naming each provider and why', async () => {
    openai.setDefaultPlan({ status: 500, errorMessage: 'mishalsgpt exploded' });
    lockchat.setDefaultPlan({ status: 502, errorMessage: 'lockchat is down' });
    const result = await runG4f(['ask', 'hi']);
    assert.equal(result.code, 1);
    assert.equal(result.stdout, '');
    const lines = result.stderr.trimEnd().split('\n');
    assert.equal(lines.length, 1, result.stderr);
    const line = lines[0] ?? '';
    assert.match(line, /^g4f: error: all providers failed for gpt-3\.5-turbo: /);
    assert.match(line, /Mishalsgpt \(HTTP 500: mishalsgpt exploded\)/);
    assert.match(line, /Lockchat \(HTTP 502: lockchat is down\)/);
    assert.doesNotMatch(result.stderr, /\n\s+at /);
  });

  test('--verbose adds the detail: each attempt, causes and stacks', async () => {
    openai.setDefaultPlan({ status: 500 });
    lockchat.setDefaultPlan({ status: 500 });
    const result = await runG4f(['--verbose', 'ask', 'hi']);
    assert.equal(result.code, 1);
    assert.match(result.stderr, /^g4f: error: all providers failed/);
    assert.match(result.stderr, /attempt: Mishalsgpt/);
    assert.match(result.stderr, /ProviderHttpError \[http_status\]/);
    assert.match(result.stderr, /\n\s+at /);
  });

  test('a provider that cannot be reached is reported as a connection failure', async () => {
    const result = await runG4f(['ask', '--provider', 'Mishalsgpt', 'hi'], { env: { G4F_MISHALSGPT_URL: 'http://127.0.0.1:9' } });
    assert.equal(result.code, 1);
    assert.match(result.stderr, /^g4f: error: .*Mishalsgpt.*(ECONNREFUSED|connect)/);
    assert.equal(result.stderr.trimEnd().split('\n').length, 1);
  });

  test('stdout closed early (| head -c 10): quiet exit 0, upstream request aborted', async () => {
    openai.setDefaultPlan({ tokens: 20_000, chunkDelayMs: 2 });
    const child = startG4f(['ask', 'a long answer please']);
    let stderr = '';
    child.stderr?.setEncoding('utf8').on('data', (text: string) => (stderr += text));
    const closed = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
      child.on('close', (code, signal) => resolve({ code, signal })),
    );
    let received = 0;
    await new Promise<void>((resolve) => {
      child.stdout?.on('data', (data: Buffer) => {
        received += data.length;
        if (received >= 10) {
          child.stdout?.destroy();
          resolve();
        }
      });
    });
    const aborted = await openai.waitForAbort(0, 30_000);
    assert.equal(aborted.aborted, true);
    const { code, signal } = await closed;
    assert.equal(signal, null);
    assert.equal(code, 0);
    assert.equal(stderr, '');
  });

  test('a real shell pipeline into head ends quietly', async () => {
    openai.setDefaultPlan({ tokens: 20_000, chunkDelayMs: 2 });
    const script = `"${process.execPath}" "${BIN}" ask long 2>"${join(workDir, 'pipe-err.txt')}" | head -c 10; echo " status=\${PIPESTATUS[0]}"`;
    const child = spawn('bash', ['-c', script], { cwd: workDir, env: childEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
    const result = await finished(child, collect(child));
    assert.equal(result.stdout, 'lorem ipsu status=0\n');
    assert.equal(readFileSync(join(workDir, 'pipe-err.txt'), 'utf8'), '');
    await openai.waitForAbort(0, 30_000);
  });

  test('Ctrl-C (SIGINT) during the answer: exit 130, upstream request aborted', async () => {
    openai.setDefaultPlan({ chunks: ['first ', 'second ', 'third'], chunkDelayMs: 5_000 });
    const child = startG4f(['ask', 'slow']);
    const output = collect(child);
    const done = finished(child, output);
    await stdoutMatches(child, output, (text) => text.includes('first'));
    child.kill('SIGINT');
    const result = await done;
    assert.equal(result.code, 130);
    assert.doesNotMatch(result.stderr, /\n\s+at /);
    await openai.waitForAbort(0, 30_000);
  });
});

describe('g4f chat with piped input', () => {
  test('each line is a turn, with the history sent upstream; the end of input leaves with 0', async () => {
    const result = await runG4f(['chat'], { stdin: 'first line\n/model gpt-4\nsecond line\n' });
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.stdout, 'Echo: first line\nmodel: gpt-4 (providers: Lockchat)\nEcho: second line\n');
    assert.deepEqual((lockchat.requests[0]?.body as { messages: unknown }).messages, [
      { role: 'user', content: 'first line' },
      { role: 'assistant', content: 'Echo: first line' },
      { role: 'user', content: 'second line' },
    ]);
  });

  test('an empty answer: the question is dropped (history and store), and the user is told', async () => {
    const dataDir = join(workDir, 'empty-answer-data');
    openai.enqueue({ text: '  ' });
    const result = await runG4f(['chat', '--data-dir', dataDir], { stdin: 'unanswered\nsecond\n' });
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stderr, /error: Mishalsgpt returned an empty answer/);
    assert.match(result.stderr, /the question was not kept in the conversation/);
    assert.equal(openai.requests.length, 2);
    assert.deepEqual((openai.requests[1]?.body as { messages: unknown }).messages, [{ role: 'user', content: 'second' }]);
    const listed = await runG4f(['conversations', '--json', '--data-dir', dataDir]);
    assert.equal(listed.code, 0, listed.stderr);
    const conversations = JSON.parse(listed.stdout) as Array<{ title: string; messageCount: number }>;
    assert.equal(conversations.length, 1);
    assert.equal(conversations[0]?.messageCount, 2, 'only the second question and its answer are stored');
    assert.equal(conversations[0]?.title, 'second', 'titled by the first question that was kept');
  });

  test('a failed answer: the question is dropped and the next request has one user turn', async () => {
    // Every attempt at the first question fails (retries included); the second is answered.
    const script = (request: { body: unknown }): Plan => (lastUserContent(request.body) === 'doomed' ? { status: 500 } : {});
    openai.setScript(script);
    lockchat.setScript(script);
    try {
      const result = await runG4f(['chat', '--no-save'], { stdin: 'doomed\nagain\n' });
      assert.equal(result.code, 0, result.stderr);
      assert.equal(result.stdout, 'Echo: again\n');
      assert.match(result.stderr, /all providers failed/);
      assert.match(result.stderr, /the question was not kept/);
      assert.deepEqual((openai.requests.at(-1)?.body as { messages: unknown }).messages, [{ role: 'user', content: 'again' }]);
    } finally {
      openai.setScript(undefined);
      lockchat.setScript(undefined);
    }
  });

  test('a first question with no answer and nothing after it: no conversation is left in the store', async () => {
    const dataDir = join(workDir, 'unanswered-only-data');
    const script = (): Plan => ({ status: 500 });
    openai.setScript(script);
    lockchat.setScript(script);
    try {
      const failed = await runG4f(['chat', '--data-dir', dataDir], { stdin: 'doomed\n' });
      assert.equal(failed.code, 0, failed.stderr);
      assert.match(failed.stderr, /the question was not kept/);
    } finally {
      openai.setScript(undefined);
      lockchat.setScript(undefined);
    }
    openai.enqueue({ text: ' ' });
    const empty = await runG4f(['chat', '--data-dir', dataDir], { stdin: 'blank answer\n' });
    assert.equal(empty.code, 0, empty.stderr);
    assert.match(empty.stderr, /returned an empty answer/);
    assert.deepEqual(await storedConversations(dataDir), []);
  });

  test('/clear, then a question with no answer: the conversation before /clear stays, no empty one is stored', async () => {
    const dataDir = join(workDir, 'clear-data');
    openai.setScript((request): Plan => (lastUserContent(request.body) === 'doomed' ? { text: '  ' } : {}));
    try {
      const result = await runG4f(['chat', '--data-dir', dataDir], { stdin: 'kept question\n/clear\ndoomed\n' });
      assert.equal(result.code, 0, result.stderr);
      assert.match(result.stderr, /the question was not kept/);
    } finally {
      openai.setScript(undefined);
    }
    const stored = await storedConversations(dataDir);
    assert.deepEqual(
      stored.map((conversation) => [conversation.title, conversation.messageCount]),
      [['kept question', 2]],
    );
  });

  test('a resumed conversation is kept when its new question gets no answer, even with no message of its own', async () => {
    const dataDir = join(workDir, 'resume-empty-data');
    // An empty conversation, as the chat page creates one.
    const store = openStore({ dataDir });
    const created = await store.create({ title: 'from the page' });
    await store.close();
    openai.enqueue({ text: '  ' });
    const result = await runG4f(['chat', '--data-dir', dataDir, '--resume', created.id], { stdin: 'doomed\n' });
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stderr, /the question was not kept/);
    const stored = await storedConversations(dataDir);
    assert.deepEqual(
      stored.map((conversation) => [conversation.id, conversation.messageCount]),
      [[created.id, 0]],
    );
  });

  test('--resume of an unknown conversation is a usage error', async () => {
    const result = await runG4f(['chat', '--resume', 'no-such-id'], { stdin: 'hello\n' });
    assert.equal(result.code, 2);
    assert.match(result.stderr, /^g4f: error: no stored conversation with id no-such-id\n$/);
    assert.equal(openai.requests.length, 0);
  });
});

describe('g4f providers and g4f models', () => {
  test('providers: a table with name, models, stream, auth, base URL, health', async () => {
    const result = await runG4f(['providers']);
    assert.equal(result.code, 0, result.stderr);
    const [header, ...rows] = result.stdout.trimEnd().split('\n');
    assert.match(header ?? '', /^NAME\s+MODELS\s+STREAM\s+AUTH\s+BASE URL\s+HEALTH$/);
    const lockchatRow = rows.find((row) => row.startsWith('Lockchat'));
    const mishalsgptRow = rows.find((row) => row.startsWith('Mishalsgpt'));
    assert.match(lockchatRow ?? '', /gpt-4, gpt-3\.5-turbo\s+yes\s+no\s+/);
    assert.ok(lockchatRow?.includes(lockchat.url), lockchatRow);
    assert.ok(mishalsgptRow?.includes(openai.url), mishalsgptRow);
    assert.match(mishalsgptRow ?? '', /healthy$/);
    assert.doesNotMatch(result.stdout, /\u001b\[/, 'no colour when piped');
    assert.equal(openai.requests.length + lockchat.requests.length, 0);
  });

  test('providers --check: status and latency of each, all at once', async () => {
    openai.setDefaultPlan({ firstChunkDelayMs: 300 });
    lockchat.setDefaultPlan({ firstChunkDelayMs: 300 });
    const result = await runG4f(['providers', '--check']);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /STATUS\s+LATENCY/);
    assert.match(result.stdout, /^Lockchat\s.*\sok\s+\d+ ms$/m);
    assert.match(result.stdout, /^Mishalsgpt\s.*\sok\s+\d+ ms$/m);
    // At once: each upstream had received its request before either answer ended.
    const [first] = openai.requests;
    const [second] = lockchat.requests;
    assert.ok(first !== undefined && second !== undefined);
    assert.ok(second.receivedAt <= (first.endedAt ?? Infinity) && first.receivedAt <= (second.endedAt ?? Infinity));
  });

  test('providers --check: a failing provider is reported and the exit code is 1', async () => {
    lockchat.setDefaultPlan({ status: 500, errorMessage: 'down for maintenance' });
    const result = await runG4f(['providers', '--check']);
    assert.equal(result.code, 1);
    assert.match(result.stdout, /^Lockchat\s.*failed: HTTP 500: down for maintenance/m);
    assert.match(result.stdout, /^Mishalsgpt\s.*\sok\s/m);
    // HEALTH and STATUS never contradict: the check's own result is part of the health shown.
    assert.match(result.stdout, /^Lockchat\s.*\sfailing 0%\s+failed: /m);
    assert.match(result.stdout, /^Mishalsgpt\s.*\shealthy 100%\s+ok\s/m);
  });

  test('providers --check --timeout: a silent provider times out', async () => {
    lockchat.setDefaultPlan({ stallAfterChunks: 0 });
    const result = await runG4f(['providers', '--check', '--timeout', '500', '--json']);
    assert.equal(result.code, 1);
    const listing = JSON.parse(result.stdout) as Array<{ name: string; check: { ok: boolean; code?: string }; health: { consecutiveFailures: number } }>;
    const check = listing.find((provider) => provider.name === 'Lockchat')?.check;
    assert.equal(check?.ok, false);
    assert.equal(check?.code, 'timeout');
    assert.equal(listing.find((provider) => provider.name === 'Lockchat')?.health.consecutiveFailures, 1, 'the timeout is in the health listed');
    assert.equal(listing.find((provider) => provider.name === 'Mishalsgpt')?.check.ok, true);
  });

  test('models: each model, its aliases and its providers in order', async () => {
    const result = await runG4f(['models']);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /^MODEL\s+ALIASES\s+PROVIDERS/);
    assert.match(result.stdout, /^gpt-3\.5-turbo\s+gpt-35-turbo\s+Mishalsgpt > Lockchat$/m);
    assert.match(result.stdout, /^gpt-4\s+gpt4\s+Lockchat$/m);
  });

  test('models --json follows the config file (routes and aliases)', async () => {
    const path = join(workDir, 'g4f.config.json');
    writeFileSync(path, JSON.stringify({ models: { 'gpt-3.5-turbo': ['Lockchat', 'Mishalsgpt'] }, aliases: { fast: 'gpt-3.5-turbo' } }));
    try {
      // ./g4f.config.json in the working directory is picked up without --config.
      const result = await runG4f(['models', '--json']);
      assert.equal(result.code, 0, result.stderr);
      const models = JSON.parse(result.stdout) as Array<{ id: string; aliases: string[]; providers: string[] }>;
      const model = models.find((entry) => entry.id === 'gpt-3.5-turbo');
      assert.deepEqual(model?.providers, ['Lockchat', 'Mishalsgpt']);
      assert.ok(model?.aliases.includes('fast'));
    } finally {
      rmSync(path);
    }
  });

  test('models lists the models an upstream lists ("models": "auto")', async () => {
    const ollama = await createNativeEmulator({ protocol: 'ollama', models: ['qwen3:8b', 'gemma3:4b'] });
    const path = join(workDir, 'auto-models.json');
    writeFileSync(path, JSON.stringify({ providers: [{ name: 'local', type: 'ollama', baseUrl: ollama.url, models: 'auto' }] }));
    try {
      const result = await runG4f(['--config', path, 'models']);
      assert.equal(result.code, 0, result.stderr);
      assert.match(result.stdout, /^qwen3:8b\s+-\s+local$/m);
      assert.match(result.stdout, /^gemma3:4b\s+-\s+local$/m);
      assert.deepEqual(
        ollama.requests.map((request) => `${request.method} ${request.path}`),
        ['GET /api/tags'],
      );
    } finally {
      rmSync(path);
      await ollama.close();
    }
  });
});

describe('g4f conversations', () => {
  test('lists the stored conversations, newest first: id, title, updated, message count', async () => {
    const dataDir = join(workDir, 'listing-data');
    const empty = await runG4f(['conversations', '--data-dir', dataDir]);
    assert.equal(empty.code, 0, empty.stderr);
    assert.equal(empty.stdout, 'No stored conversations.\n');
    assert.equal(existsSync(dataDir), false, 'listing creates no store');
    for (const input of ['first conversation\n', 'second conversation\nand a follow-up\n']) {
      const chat = await runG4f(['chat', '--data-dir', dataDir], { stdin: input });
      assert.equal(chat.code, 0, chat.stderr);
    }
    const json = await runG4f(['conversations', '--json', '--data-dir', dataDir]);
    assert.equal(json.code, 0, json.stderr);
    const listed = JSON.parse(json.stdout) as Array<{ id: string; title: string; updatedAt: string; messageCount: number }>;
    assert.deepEqual(
      listed.map((conversation) => [conversation.title, conversation.messageCount]),
      [
        ['second conversation', 4],
        ['first conversation', 2],
      ],
    );
    const table = await runG4f(['conversations', '--data-dir', dataDir]);
    assert.equal(table.code, 0, table.stderr);
    const [header, ...rows] = table.stdout.trimEnd().split('\n');
    assert.match(header ?? '', /^ID\s+TITLE\s+UPDATED\s+MESSAGES$/);
    assert.equal(rows.length, 2);
    assert.match(rows[0] ?? '', new RegExp(`^${listed[0]?.id}\\s+second conversation\\s+\\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d\\s+4$`));
    const searched = await runG4f(['conversations', '--json', '--search', 'follow-up', '--data-dir', dataDir]);
    assert.deepEqual(
      (JSON.parse(searched.stdout) as Array<{ id: string }>).map((conversation) => conversation.id),
      [listed[0]?.id],
    );
  });
});

describe('g4f serve', () => {
  test('prints its URL, answers over HTTP, and exits 0 on SIGTERM', async () => {
    const child = startG4f(['serve', '--port', '0']);
    const output = collect(child);
    const done = finished(child, output);
    await stdoutMatches(child, output, (text) => /listening on http:\/\/127\.0\.0\.1:\d+\n/.test(text));
    const url = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(output.stdout)?.[1] ?? '';
    const response = await fetch(`${url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'gpt-3.5-turbo', messages: [{ role: 'user', content: 'via the server' }] }),
    });
    assert.equal(response.status, 200);
    const completion = (await response.json()) as { choices: Array<{ message: { content: string } }> };
    assert.equal(completion.choices[0]?.message.content, 'Echo: via the server');
    assert.equal(openai.requests.length, 1, 'the server routes to the emulators named in the environment');
    child.kill('SIGTERM');
    const result = await done;
    assert.equal(result.code, 0, result.stderr);
  });

  test('--demo: the start line says so; off a terminal the request log is JSON lines', async () => {
    const child = startG4f(['serve', '--demo', '--port', '0']);
    const output = collect(child);
    const done = finished(child, output);
    try {
      await stdoutMatches(child, output, (text) => text.includes('\n'));
      assert.match(
        output.stdout,
        /^g4f server listening on http:\/\/127\.0\.0\.1:\d+ in demo mode \(answers come from the built-in demo upstream, not real providers\)\n$/,
      );
      const url = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(output.stdout)?.[1] ?? '';
      const response = await fetch(`${url}/v1/models`);
      assert.equal(response.status, 200);
      await response.text();
      await waitFor(() => output.stderr.includes('"event":"request"'));
      const record = JSON.parse(output.stderr.split('\n').find((line) => line.includes('"event":"request"')) ?? '') as Record<string, unknown>;
      assert.equal(record.path, '/v1/models');
      assert.equal(record.status, 200);
    } finally {
      child.kill('SIGTERM');
    }
    assert.equal((await done).code, 0);
  });

  test('--log-format human: one short line per request', async () => {
    const child = startG4f(['serve', '--port', '0', '--log-format', 'human']);
    const output = collect(child);
    const done = finished(child, output);
    try {
      await stdoutMatches(child, output, (text) => /listening on http:\/\/127\.0\.0\.1:\d+\n/.test(text));
      const url = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(output.stdout)?.[1] ?? '';
      const response = await fetch(`${url}/v1/chat/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'gpt-3.5-turbo', messages: [{ role: 'user', content: 'hi' }] }),
      });
      assert.equal(response.status, 200);
      await response.text();
      await waitFor(() => output.stderr.includes('POST'));
      assert.match(output.stderr, /^\d\d:\d\d:\d\d POST \/v1\/chat\/completions 200 \d+ ms Mishalsgpt$/m);
      assert.doesNotMatch(output.stderr, /\{"time"/);
    } finally {
      child.kill('SIGTERM');
    }
    assert.equal((await done).code, 0);
  });

  test("serve runs in the process started, with Node's default heap; SIGTERM ends it with 0", {
    skip: process.platform !== 'linux' && 'reads /proc',
  }, async () => {
    const child = startG4f(['serve', '--port', '0']);
    const output = collect(child);
    const done = finished(child, output);
    try {
      await stdoutMatches(child, output, (text) => /listening on http:\/\/127\.0\.0\.1:\d+\n/.test(text));
      const children = readFileSync(`/proc/${child.pid}/task/${child.pid}/children`, 'utf8').trim();
      assert.equal(children, '', 'no child process');
      const argv = readFileSync(`/proc/${child.pid}/cmdline`, 'utf8').split('\0');
      assert.ok(!argv.some((arg) => arg.startsWith('--max-')), argv.join(' '));
      const url = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(output.stdout)?.[1] ?? '';
      const response = await fetch(`${url}/v1/models`);
      assert.equal(response.status, 200);
      await response.text();
    } finally {
      child.kill('SIGTERM');
    }
    const result = await done;
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stderr, /SIGTERM: shutting down/);
  });

  test('a port in use: exit 1 with one error line', async () => {
    const child = startG4f(['serve', '--port', '0']);
    const output = collect(child);
    const done = finished(child, output);
    await stdoutMatches(child, output, (text) => /listening on http:\/\/127\.0\.0\.1:\d+\n/.test(text));
    const port = /listening on http:\/\/127\.0\.0\.1:(\d+)/.exec(output.stdout)?.[1] ?? '';
    try {
      const result = await runG4f(['serve', '--port', port]);
      assert.equal(result.code, 1);
      assert.match(result.stderr, /^g4f: error: .*EADDRINUSE/m);
      assert.doesNotMatch(result.stderr, /\n\s+at /);
    } finally {
      child.kill('SIGTERM');
      await done;
    }
  });
});

describe('g4f ask with images, reasoning and tool calls', () => {
  function visionConfig(): string {
    const path = join(workDir, 'vision.config.json');
    writeFileSync(path, JSON.stringify({ providers: [{ name: 'vision', type: 'openai-compatible', baseUrl: `${openai.url}/v1`, models: ['vis'] }] }));
    return path;
  }

  test('--image sends files as data URLs (byte-exact) and URLs as they are, with the prompt', async () => {
    const image = join(workDir, 'pixel.png');
    const bytes = Buffer.from('89504e470d0a1a0a0000000d49484452', 'hex');
    writeFileSync(image, bytes);
    const result = await runG4f(['ask', '--config', visionConfig(), '-m', 'vis', '--image', image, '--image', 'https://example.test/cat.jpg', 'what is this?']);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /\[2 images\]/);
    const content = (openai.requests[0]?.body as { messages: Array<{ content: unknown }> }).messages[0]?.content;
    assert.deepEqual(content, [
      { type: 'text', text: 'what is this?' },
      { type: 'image_url', image_url: { url: `data:image/png;base64,${bytes.toString('base64')}` } },
      { type: 'image_url', image_url: { url: 'https://example.test/cat.jpg' } },
    ]);
  });

  test('--image to a text-only model: exit 2 naming the missing capability, nothing sent', async () => {
    const result = await runG4f(['ask', '-m', 'gpt-4', '--image', 'https://example.test/cat.jpg', 'what is this?']);
    assert.equal(result.code, 2, result.stderr);
    assert.match(result.stderr, /image input/);
    assert.equal(openai.requests.length + lockchat.requests.length, 0);
  });

  test('--image with a file that is not an image: exit 2', async () => {
    const result = await runG4f(['ask', '--config', visionConfig(), '-m', 'vis', '--image', join(workDir, 'missing.txt'), 'x']);
    assert.equal(result.code, 2);
    assert.match(result.stderr, /--image .*missing\.txt/);
  });

  test('--json includes reasoning and tool calls', async () => {
    openai.setDefaultPlan({ reasoning: 'let me think', toolCalls: [{ name: 'lookup', arguments: '{"q":"x"}', id: 'call_7' }] });
    for (const mode of [[], ['--no-stream']]) {
      openai.reset();
      const result = await runG4f(['ask', '--config', visionConfig(), '-m', 'vis', '--json', ...mode, 'find x']);
      assert.equal(result.code, 0, result.stderr);
      const message = (JSON.parse(result.stdout) as { choices: Array<{ message: Record<string, unknown>; finish_reason: string }> }).choices[0];
      assert.equal(message?.message.reasoning_content, 'let me think');
      assert.equal(message?.message.content, null);
      assert.deepEqual(message?.message.tool_calls, [{ id: 'call_7', type: 'function', function: { name: 'lookup', arguments: '{"q":"x"}' } }]);
      assert.equal(message?.finish_reason, 'tool_calls');
    }
  });
});
