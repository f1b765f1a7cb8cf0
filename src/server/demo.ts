/**
 * Demo mode: the project's upstream emulators run in-process and the built-in providers are
 * pointed at them, so the server answers without any real upstream. A message that starts with
 * one of the trigger prompts below gets a special answer, so that every part of the chat page
 * can be tried (the page lists them in its demo banner, from `/api/config`).
 */
import { configureProvider } from '../core/settings.js';
import { startEmulators, type Plan, type RecordedRequest, type StartedEmulators } from '../emulators/index.js';

export interface Demo {
  emulators: StartedEmulators;
  close(): Promise<void>;
}

export interface DemoOptions {
  host?: string;
  /** Delay between two chunks of the demo answer (default 20 ms, so it visibly streams). */
  chunkDelayMs?: number;
}

export interface DemoTrigger {
  /** The message (or its first word group) that triggers it, e.g. `/demo error`. */
  prompt: string;
  /** What it shows. */
  description: string;
}

const CODE_ANSWER = [
  'Three small examples.',
  '',
  '```ts',
  'export function sum(values: readonly number[]): number {',
  '  return values.reduce((total, value) => total + value, 0);',
  '}',
  '```',
  '',
  '```python',
  'def fib(n: int) -> int:',
  '    return n if n < 2 else fib(n - 1) + fib(n - 2)',
  '```',
  '',
  '```',
  'plain text, no language given',
  '```',
  '',
  '| language | typed |',
  '|---|---|',
  '| TypeScript | yes |',
  '| Python | optional |',
].join('\n');

/** The trigger prompts and their plans (each emulator answers them the same way, so fallback cannot hide them). */
const TRIGGERS: ReadonlyArray<DemoTrigger & { plan(chunkDelayMs: number): Plan }> = [
  {
    prompt: '/demo error',
    description: 'every provider fails: the error bubble and Retry',
    plan: () => ({ status: 503, errorMessage: 'Demo: the emulated provider refused this request on purpose' }),
  },
  {
    prompt: '/demo cut',
    description: 'the answer breaks off halfway: an interrupted answer',
    plan: (chunkDelayMs) => ({ tokens: 120, chunkDelayMs, disconnectAfterChunks: 60 }),
  },
  {
    prompt: '/demo long',
    description: 'a long, slow answer (about a minute): try Stop',
    plan: (chunkDelayMs) => ({ tokens: 3_000, chunkDelayMs: Math.max(chunkDelayMs, 20) }),
  },
  {
    prompt: '/demo code',
    description: 'code blocks with highlighting and copy buttons, and a table',
    plan: (chunkDelayMs) => ({ text: CODE_ANSWER, chunkCount: 40, chunkDelayMs }),
  },
];

/** The trigger prompts of demo mode, for the page's banner. */
export const DEMO_TRIGGERS: readonly DemoTrigger[] = TRIGGERS.map(({ prompt, description }) => ({ prompt, description }));

function lastUserText(messages: ReadonlyArray<{ role?: unknown; content?: unknown }> | undefined): string {
  const users = (messages ?? []).filter((message) => message.role === 'user');
  const content = users.at(-1)?.content;
  return typeof content === 'string' ? content.trim().toLowerCase() : '';
}

function triggerOf(messages: ReadonlyArray<{ role?: unknown; content?: unknown }> | undefined): (typeof TRIGGERS)[number] | undefined {
  const text = lastUserText(messages);
  return TRIGGERS.find((entry) => text === entry.prompt || text.startsWith(`${entry.prompt} `));
}

/**
 * Whether a conversation ends with a demo trigger prompt. Those answers fail on purpose, so
 * their failures must not count against the providers' health.
 */
export function isDemoTrigger(messages: ReadonlyArray<{ role?: unknown; content?: unknown }>): boolean {
  return triggerOf(messages) !== undefined;
}

/** The plan for one request: a trigger's, else the friendly demo answer. */
export function demoPlan(request: RecordedRequest, chunkDelayMs: number): Plan {
  const body = request.body as { messages?: Array<{ role?: unknown; content?: unknown }> } | undefined;
  const trigger = triggerOf(body?.messages);
  return trigger === undefined ? { reply: 'demo', chunkDelayMs } : trigger.plan(chunkDelayMs);
}

/** Starts the emulators and routes Lockchat and Mishalsgpt to them (process-wide provider settings). */
export async function startDemo(options: DemoOptions = {}): Promise<Demo> {
  const chunkDelayMs = options.chunkDelayMs ?? 20;
  const emulators = await startEmulators({
    ...(options.host === undefined ? {} : { host: options.host }),
    chunkDelayMs,
  });
  for (const emulator of [emulators.lockchat, emulators.openai]) emulator.setScript((request) => demoPlan(request, chunkDelayMs));
  configureProvider('Lockchat', { baseUrl: emulators.lockchat.url });
  configureProvider('Mishalsgpt', { baseUrl: emulators.openai.url });
  return { emulators, close: () => emulators.close() };
}
