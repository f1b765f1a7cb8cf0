/**
 * Demo mode: the project's upstream emulators run in-process and the built-in providers are
 * pointed at them, so the server answers without any real upstream. A message that starts with
 * one of the trigger prompts below gets a special answer, so that every part of the chat page
 * can be tried (the page lists them in its demo banner, from `/api/config`).
 */
import { NO_CAPABILITIES } from '../core/messages.js';
import type { Runtime } from '../core/runtime.js';
import type { Provider } from '../core/spec.js';
import type { Plan, RecordedRequest, StartedEmulators } from '../emulators/index.js';
import { createOpenAICompatibleProvider } from '../providers/openai-compatible.js';

/** The demo's agent model: tool calls, images and reasoning, from an emulated OpenAI-compatible upstream. */
export const DEMO_AGENT_MODEL = 'demo-agent';

/** The demo's embedding model: deterministic unit vectors from the same emulated upstream (`/v1/embeddings`). */
export const DEMO_EMBEDDING_MODEL = 'demo-embedding';

export interface Demo {
  emulators: StartedEmulators;
  /** The provider `Demo`: `demo-agent` with every capability but embeddings, and `demo-embedding`, which only embeds (its base URL is the emulator's). */
  agent: Provider;
  /** Routes Lockchat and Mishalsgpt to the emulators, in that runtime's provider settings. */
  routeBuiltins(runtime: Runtime): void;
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

interface WireBody {
  model?: unknown;
  messages?: Array<{ role?: unknown; content?: unknown }>;
  tools?: Array<{ function?: { name?: unknown; parameters?: { properties?: Record<string, { type?: unknown }>; required?: unknown } } }>;
}

/** The plan for one request: a trigger's, the agent model's, else the friendly demo answer. */
export function demoPlan(request: RecordedRequest, chunkDelayMs: number): Plan {
  const body = request.body as WireBody | undefined;
  const trigger = triggerOf(body?.messages);
  if (trigger !== undefined) return trigger.plan(chunkDelayMs);
  if (body?.model === DEMO_AGENT_MODEL) return agentPlan(body, chunkDelayMs);
  return { reply: 'demo', chunkDelayMs };
}

/** A sample value of a JSON Schema property type, for the demo's tool calls. */
function sampleValue(type: unknown): unknown {
  if (type === 'number' || type === 'integer') return 1;
  if (type === 'boolean') return true;
  if (type === 'array') return [];
  if (type === 'object') return {};
  return 'Paris';
}

/**
 * The agent model: with tools (and no tool result yet) it calls the first tool; with a tool result
 * it answers from it; with images it says what it was sent; otherwise it reasons, then answers.
 */
function agentPlan(body: WireBody, chunkDelayMs: number): Plan {
  const messages = body.messages ?? [];
  const last = messages.at(-1);
  const tool = body.tools?.[0]?.function;
  if (last?.role === 'tool') {
    const result = typeof last.content === 'string' ? last.content : JSON.stringify(last.content);
    return { text: `The tool answered: ${result}`, chunkDelayMs, reasoning: 'A tool result came back; I will report it.' };
  }
  if (tool !== undefined && typeof tool.name === 'string') {
    const properties = tool.parameters?.properties ?? {};
    const required = Array.isArray(tool.parameters?.required) ? (tool.parameters.required as unknown[]) : Object.keys(properties);
    const args: Record<string, unknown> = {};
    for (const name of required) if (typeof name === 'string') args[name] = sampleValue(properties[name]?.type);
    return { toolCalls: [{ name: tool.name, arguments: args }], chunkDelayMs, reasoning: `The user needs ${tool.name}; I will call it.` };
  }
  const content = last?.content;
  const images = Array.isArray(content) ? content.filter((part) => (part as { type?: unknown }).type === 'image_url').length : 0;
  if (images > 0) {
    return {
      text: `Demo vision: I received ${images} image${images === 1 ? '' : 's'} with your message. (An emulated model: it cannot really see them.)`,
      chunkDelayMs,
      reasoning: 'The message carries images; I will say what arrived.',
    };
  }
  return {
    reply: 'demo',
    chunkDelayMs,
    reasoning: 'This is the demo agent thinking out loud before it answers: reasoning arrives apart from the answer.',
  };
}

/** Starts the emulators and makes the agent provider; `routeBuiltins(runtime)` points a runtime's Lockchat and Mishalsgpt at them. */
export async function startDemo(options: DemoOptions = {}): Promise<Demo> {
  const chunkDelayMs = options.chunkDelayMs ?? 20;
  // Loaded here, not with the server: only demo mode runs the emulators.
  const { startEmulators } = await import('../emulators/index.js');
  const emulators = await startEmulators({
    ...(options.host === undefined ? {} : { host: options.host }),
    chunkDelayMs,
  });
  for (const emulator of [emulators.lockchat, emulators.openai]) emulator.setScript((request) => demoPlan(request, chunkDelayMs));
  const agent = createOpenAICompatibleProvider({
    name: 'Demo',
    url: `${emulators.openai.url}/v1`,
    models: [DEMO_AGENT_MODEL, DEMO_EMBEDDING_MODEL],
    modelCapabilities: {
      [DEMO_AGENT_MODEL]: { embeddings: false },
      [DEMO_EMBEDDING_MODEL]: { ...NO_CAPABILITIES, embeddings: true },
    },
  });
  const routeBuiltins = (runtime: Runtime): void => {
    runtime.configureProvider('Lockchat', { baseUrl: emulators.lockchat.url });
    runtime.configureProvider('Mishalsgpt', { baseUrl: emulators.openai.url });
  };
  return { emulators, agent, routeBuiltins, close: () => emulators.close() };
}
