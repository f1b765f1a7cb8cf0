/**
 * `g4f chat` in a real pseudo-terminal: the built binary runs inside tmux; keys go in
 * with `send-keys`, the screen comes back with `capture-pane`. The upstreams are the
 * emulators, whose recorded request bodies show the history sent.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { after, before, beforeEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createEmulator, type Emulator } from '../src/emulators/index.js';

const run = promisify(execFile);
const ROOT = new URL('..', import.meta.url).pathname;
const BIN = join(ROOT, 'bin', 'g4f.js');
const SOCKET = `g4f-chat-test-${process.pid}`;
/** How long to wait for the screen to show something: generous, for a loaded machine. */
const SCREEN_DEADLINE_MS = 30_000;

let openai: Emulator;
let lockchat: Emulator;
let workDir: string;
let sessionCount = 0;

async function tmux(...args: string[]): Promise<string> {
  const { stdout } = await run('tmux', ['-L', SOCKET, ...args], { cwd: workDir });
  return stdout;
}

function quote(text: string): string {
  return `'${text.replace(/'/g, `'\\''`)}'`;
}

/** Starts `g4f chat ...` in a new 200x50 tmux session; the pane stays after it exits, showing `EXITED <code>`. */
async function startChat(args: readonly string[] = []): Promise<string> {
  const name = `chat-${++sessionCount}`;
  const env = [
    `G4F_MISHALSGPT_URL=${openai.url}`,
    `G4F_LOCKCHAT_URL=${lockchat.url}`,
    `G4F_DATA_DIR=${join(workDir, 'data')}`,
    `G4F_CACHE_DIR=${join(workDir, 'cache')}`,
  ];
  const command = [
    'env -u G4F_CONFIG -u NO_COLOR',
    ...env.map(quote),
    quote(process.execPath),
    quote(BIN),
    'chat',
    ...args.map(quote),
    '; echo "EXITED $?"; sleep 600',
  ].join(' ');
  await tmux('new-session', '-d', '-s', name, '-x', '200', '-y', '50', '-c', workDir, command);
  await screenShows(name, (screen) => /^> /m.test(screen));
  return name;
}

async function screen(name: string): Promise<string> {
  return tmux('capture-pane', '-p', '-J', '-S', '-', '-t', name);
}

/** Polls the screen until `predicate` holds (an event we wait for, with a generous deadline). */
async function screenShows(name: string, predicate: (screen: string) => boolean): Promise<string> {
  const deadline = Date.now() + SCREEN_DEADLINE_MS;
  let last = '';
  while (Date.now() < deadline) {
    last = await screen(name);
    if (predicate(last)) return last;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`the screen did not show what was expected within ${SCREEN_DEADLINE_MS} ms:\n${last}`);
}

const contains =
  (text: string) =>
  (shown: string): boolean =>
    shown.includes(text);
/** Counts the prompts (`> ` at the start of a line). */
const prompts = (shown: string): number => shown.split('\n').filter((line) => line.startsWith('> ')).length;

async function type(name: string, text: string): Promise<void> {
  await tmux('send-keys', '-t', name, '-l', text);
  await tmux('send-keys', '-t', name, 'Enter');
}

/** The conversations stored in `dataDir`, as `g4f conversations --json` lists them. */
async function storedConversations(dataDir: string): Promise<Array<{ id: string; title: string; messageCount: number }>> {
  const { stdout } = await run(process.execPath, [BIN, 'conversations', '--json', '--data-dir', dataDir], { cwd: workDir });
  return JSON.parse(stdout) as Array<{ id: string; title: string; messageCount: number }>;
}

type Body = { model: string; messages: Array<{ role: string; content: string }> };
const bodyOf = (emulator: Emulator, index: number): Body => emulator.requests[index]?.body as Body;

before(async () => {
  assert.ok(existsSync(join(ROOT, 'dist', 'cli', 'main.js')), 'run `npm run build` first: the tests run the built binary');
  await run('tmux', ['-V']).catch(() => assert.fail('tmux is needed for the pseudo-terminal tests (apt-get install tmux)'));
  workDir = mkdtempSync(join(tmpdir(), 'g4f-chat-'));
  openai = await createEmulator({ protocol: 'openai' });
  lockchat = await createEmulator({ protocol: 'lockchat' });
});

after(async () => {
  await tmux('kill-server').catch(() => undefined);
  await Promise.all([openai?.close(), lockchat?.close()]);
  if (workDir !== undefined) rmSync(workDir, { recursive: true, force: true });
});

beforeEach(() => {
  openai.reset();
  lockchat.reset();
  openai.setDefaultPlan({});
  lockchat.setDefaultPlan({});
});

describe('g4f chat in a terminal', () => {
  test('two turns: answers stream in and the history is sent upstream; /exit leaves with 0', async () => {
    const name = await startChat();
    await type(name, 'my name is Ada');
    await screenShows(name, contains('Echo: my name is Ada'));
    await type(name, 'what is my name?');
    await screenShows(name, contains('Echo: what is my name?'));
    assert.equal(openai.requests.length, 2);
    assert.deepEqual(bodyOf(openai, 1).messages, [
      { role: 'user', content: 'my name is Ada' },
      { role: 'assistant', content: 'Echo: my name is Ada' },
      { role: 'user', content: 'what is my name?' },
    ]);
    await type(name, '/exit');
    await screenShows(name, contains('EXITED 0'));
  });

  test("the model's reasoning is shown dimmed, apart from the answer, and is not sent back as history", async () => {
    openai.setDefaultPlan({ reasoning: 'weighing the options', chunks: ['The answer ', 'is 4.'] });
    const name = await startChat();
    await type(name, 'what is 2+2?');
    await screenShows(name, contains('The answer is 4.'));
    // -e keeps the escape sequences: the reasoning is in dim (SGR 2), the answer is not.
    const shown = (await tmux('capture-pane', '-p', '-e', '-t', name)).split('\n');
    const thought = shown.findIndex((line) => line.includes('weighing the options'));
    const answer = shown.findIndex((line) => line.includes('The answer is 4.'));
    assert.ok(thought !== -1 && answer > thought + 1, `the reasoning first, then a blank line, then the answer:\n${shown.join('\n')}`);
    assert.match(shown[thought] as string, /\u001b\[[0-9;]*\b2m[^\u001b]*weighing the options/);
    assert.equal((shown[answer - 1] as string).replace(/\u001b\[[0-9;]*m/g, '').trim(), '');
    assert.doesNotMatch(shown[answer] as string, /\u001b\[[0-9;]*\b2m/);
    openai.setDefaultPlan({});
    await type(name, 'and 3+3?');
    await screenShows(name, contains('Echo: and 3+3?'));
    assert.deepEqual(bodyOf(openai, 1).messages, [
      { role: 'user', content: 'what is 2+2?' },
      { role: 'assistant', content: 'The answer is 4.' },
      { role: 'user', content: 'and 3+3?' },
    ]);
    await type(name, '/exit');
    await screenShows(name, contains('EXITED 0'));
  });

  test('Ctrl-C during an answer stops it, aborts the upstream request and keeps the session', async () => {
    openai.setDefaultPlan({ chunks: ['Once upon ', 'a time ', 'there was ', 'a very long story'], chunkDelayMs: 3_000 });
    const name = await startChat();
    await type(name, 'tell me a story');
    await screenShows(name, contains('Once upon'));
    await tmux('send-keys', '-t', name, 'C-c');
    const shown = await screenShows(name, contains('[stopped]'));
    assert.ok(!shown.includes('a very long story'), shown);
    const aborted = await openai.waitForAbort(0, SCREEN_DEADLINE_MS);
    assert.equal(aborted.aborted, true);
    // The session goes on, and its history holds what had arrived of the stopped answer.
    await screenShows(name, (screen) => prompts(screen) >= 2);
    openai.setDefaultPlan({});
    await type(name, 'still there?');
    await screenShows(name, contains('Echo: still there?'));
    const messages = bodyOf(openai, 1).messages;
    assert.deepEqual(messages[0], { role: 'user', content: 'tell me a story' });
    assert.equal(messages[1]?.role, 'assistant');
    assert.match(messages[1]?.content ?? '', /^Once upon /);
    assert.doesNotMatch(messages[1]?.content ?? '', /a very long story/);
    assert.deepEqual(messages[2], { role: 'user', content: 'still there?' });
    // Ctrl-D at an empty prompt leaves with 0.
    await tmux('send-keys', '-t', name, 'C-d');
    await screenShows(name, contains('EXITED 0'));
  });

  test('Ctrl-C at the prompt leaves with 130', async () => {
    const name = await startChat();
    await tmux('send-keys', '-t', name, 'C-c');
    await screenShows(name, contains('EXITED 130'));
    assert.equal(openai.requests.length + lockchat.requests.length, 0);
  });

  test('/model, /system, /provider, /clear and /help', async () => {
    const name = await startChat(['--system', 'be kind']);
    await type(name, '/help');
    await screenShows(name, contains('/provider [name|auto]'));
    await type(name, '/model gpt4');
    await screenShows(name, contains('model: gpt-4 (providers: Lockchat)'));
    await type(name, '/system be terse');
    await screenShows(name, contains('System prompt set.'));
    await type(name, 'first');
    await screenShows(name, contains('Echo: first'));
    assert.equal(openai.requests.length, 0);
    assert.deepEqual(bodyOf(lockchat, 0), {
      ...bodyOf(lockchat, 0),
      model: 'gpt-4',
      messages: [
        { role: 'system', content: 'be terse' },
        { role: 'user', content: 'first' },
      ],
    });
    await type(name, '/model no-such-model');
    await screenShows(name, contains('no-such-model does not exist'));
    await type(name, '/model gpt-3.5-turbo');
    await screenShows(name, contains('model: gpt-3.5-turbo'));
    await type(name, '/provider lockchat');
    await screenShows(name, contains('provider: Lockchat'));
    await type(name, '/clear');
    await screenShows(name, contains('Conversation cleared.'));
    await type(name, '/system off');
    await screenShows(name, contains('System prompt removed.'));
    await type(name, 'second');
    await screenShows(name, contains('Echo: second'));
    assert.equal(openai.requests.length, 0, 'the pinned provider answers');
    assert.deepEqual(bodyOf(lockchat, 1).messages, [{ role: 'user', content: 'second' }]);
    await type(name, '/bogus');
    await screenShows(name, contains('Unknown command /bogus'));
    await type(name, '/exit');
    await screenShows(name, contains('EXITED 0'));
  });

  test('a session is stored; --resume continues it with its history, model and system prompt', async () => {
    const first = await startChat(['--model', 'gpt-4', '--system', 'remember things']);
    await type(first, 'the code word is tangerine');
    await screenShows(first, contains('Echo: the code word is tangerine'));
    await type(first, '/exit');
    const shown = await screenShows(first, contains('EXITED 0'));
    const id = /Saved as (\S+): continue with g4f chat --resume \1/.exec(shown)?.[1];
    assert.ok(id !== undefined, shown);

    lockchat.reset();
    const second = await startChat(['--resume', id]);
    const resumed = await screenShows(second, contains('resumed 2 messages'));
    // The end of the conversation so far is shown, dimmed, before the prompt.
    assert.match(resumed, /resumed 2 messages.*\n> the code word is tangerine\nEcho: the code word is tangerine\n> $/m);
    const coloured = await tmux('capture-pane', '-p', '-e', '-t', second);
    // Dimmed: no change of attributes from the dim header to the end of the earlier turns.
    assert.match(coloured, /\u001b\[2m[^\u001b]*\n> the code word is tangerine\nEcho: the code word is tangerine\n\u001b\[0m/);
    await type(second, 'what was the code word?');
    await screenShows(second, contains('Echo: what was the code word?'));
    assert.deepEqual(bodyOf(lockchat, 0), {
      ...bodyOf(lockchat, 0),
      model: 'gpt-4',
      messages: [
        { role: 'system', content: 'remember things' },
        { role: 'user', content: 'the code word is tangerine' },
        { role: 'assistant', content: 'Echo: the code word is tangerine' },
        { role: 'user', content: 'what was the code word?' },
      ],
    });
    await type(second, '/exit');
    const after = await screenShows(second, contains('EXITED 0'));
    assert.ok(after.includes(`Saved as ${id}`), after);
  });

  test('when every provider fails: one error line, the question is not kept, the session goes on', async () => {
    openai.setDefaultPlan({ status: 500, errorMessage: 'openai side down' });
    lockchat.setDefaultPlan({ status: 500, errorMessage: 'lockchat side down' });
    const name = await startChat();
    await type(name, 'doomed question');
    await screenShows(name, contains('error: all providers failed for gpt-3.5-turbo'));
    openai.setDefaultPlan({});
    const before = openai.requests.length;
    await type(name, 'second try');
    await screenShows(name, contains('Echo: second try'));
    assert.deepEqual(bodyOf(openai, before).messages, [{ role: 'user', content: 'second try' }]);
    await type(name, '/exit');
    const shown = await screenShows(name, contains('EXITED 0'));
    // The stored conversation is the one of the answered question, titled by it.
    const id = /Saved as (\S+): continue with g4f chat --resume \1/.exec(shown)?.[1];
    assert.ok(id !== undefined, shown);
    const stored = (await storedConversations(join(workDir, 'data'))).find((conversation) => conversation.id === id);
    assert.deepEqual([stored?.title, stored?.messageCount], ['second try', 2]);
  });

  test('Ctrl-C before any text of the first answer: nothing is stored and no conversation is offered to --resume', async () => {
    const dataDir = join(workDir, 'stopped-first-data');
    openai.setDefaultPlan({ firstChunkDelayMs: 60_000 });
    const name = await startChat(['--data-dir', dataDir]);
    await type(name, 'never answered');
    await openai.waitForRequests(1, SCREEN_DEADLINE_MS);
    await tmux('send-keys', '-t', name, 'C-c');
    await screenShows(name, contains('[stopped] (the question was not kept in the conversation)'));
    await openai.waitForAbort(0, SCREEN_DEADLINE_MS);
    await type(name, '/exit');
    const shown = await screenShows(name, contains('EXITED 0'));
    assert.doesNotMatch(shown, /Saved as/);
    assert.deepEqual(await storedConversations(dataDir), []);
  });
});

describe('g4f serve on a terminal', () => {
  test('--demo says so; each request is one short human line, not JSON', async () => {
    const name = `serve-${++sessionCount}`;
    const command = [
      'env -u NO_COLOR',
      quote(`G4F_DATA_DIR=${join(workDir, 'serve-data')}`),
      quote(process.execPath),
      quote(BIN),
      'serve --demo --port 0; echo "EXITED $?"; sleep 600',
    ].join(' ');
    await tmux('new-session', '-d', '-s', name, '-x', '200', '-y', '50', '-c', workDir, command);
    const started = await screenShows(name, (shown) => /listening on http:\/\/127\.0\.0\.1:\d+ in demo mode/.test(shown));
    const url = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(started)?.[1] ?? '';
    const response = await fetch(`${url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'gpt-3.5-turbo', messages: [{ role: 'user', content: 'hello' }] }),
    });
    assert.equal(response.status, 200);
    await response.text();
    const shown = await screenShows(name, (text) => /^\d\d:\d\d:\d\d POST \/v1\/chat\/completions 200 \d+ ms \S+$/m.test(text));
    assert.doesNotMatch(shown, /"event":"request"/);
    await tmux('send-keys', '-t', name, 'C-c');
    await screenShows(name, contains('EXITED 0'));
  });
});

describe('colour on a terminal', () => {
  async function providersScreen(extraEnv: string[]): Promise<string> {
    const name = `colour-${++sessionCount}`;
    const command = [
      'env -u NO_COLOR',
      ...[`G4F_DATA_DIR=${join(workDir, 'data')}`, `G4F_MISHALSGPT_URL=${openai.url}`, `G4F_LOCKCHAT_URL=${lockchat.url}`, ...extraEnv].map(quote),
      quote(process.execPath),
      quote(BIN),
      'providers; echo "EXITED $?"; sleep 600',
    ].join(' ');
    await tmux('new-session', '-d', '-s', name, '-x', '200', '-y', '50', '-c', workDir, command);
    await screenShows(name, contains('EXITED 0'));
    // -e keeps the escape sequences of colours in the capture.
    return tmux('capture-pane', '-p', '-e', '-t', name);
  }

  test('a terminal gets colour; NO_COLOR turns it off', async () => {
    const coloured = await providersScreen([]);
    assert.match(coloured, /\u001b\[[0-9;]*m/);
    assert.match(coloured, /Mishalsgpt/);
    const plain = await providersScreen(['NO_COLOR=1']);
    assert.match(plain, /Mishalsgpt/);
    assert.doesNotMatch(plain, /\u001b\[[0-9;]*m/);
  });
});
