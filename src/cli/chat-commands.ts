/** The slash commands of `g4f chat`: /model, /provider, /system, /clear, /help, /exit. */
import type { ChatTurn } from './chat-log.js';
import type { Router } from '../routing/types.js';
import type { ConversationLog } from './chat-log.js';
import { describeFailure } from './failure.js';
import type { Style } from './style.js';

export interface ChatSession {
  model: string;
  /** Undefined: every provider of the model, in order (fallback). */
  provider: string | undefined;
  /** "" for none. */
  system: string;
  /** The conversation so far (without the system prompt). */
  history: ChatTurn[];
}

export interface SlashContext {
  session: ChatSession;
  router: Router;
  log: ConversationLog;
  style: Style;
  say(text: string): Promise<unknown>;
}

const COMMANDS: ReadonlyArray<readonly [string, string]> = [
  ['/model [name]', 'show or change the model'],
  ['/provider [name|auto]', 'show or pin the provider (auto: fall back across all of them)'],
  ['/system [text|off]', 'show, set or remove the system prompt'],
  ['/clear', 'forget the conversation so far (starts a new one)'],
  ['/help', 'this list'],
  ['/exit', 'leave (also Ctrl-D, or Ctrl-C at the prompt)'],
];

export const CHAT_HELP = [...COMMANDS.map(([usage, text]) => `${usage.padEnd(23)}${text}`), 'Ctrl-C during an answer stops that answer.'].join('\n');

export async function runSlashCommand(line: string, context: SlashContext): Promise<'exit' | 'continue'> {
  const { session, router, log, style, say } = context;
  const space = line.indexOf(' ');
  const name = (space === -1 ? line : line.slice(0, space)).toLowerCase();
  const argument = space === -1 ? '' : line.slice(space + 1).trim();
  switch (name) {
    case '/exit':
    case '/quit':
      return 'exit';
    case '/help':
      await say(CHAT_HELP);
      return 'continue';
    case '/clear':
      session.history = [];
      await log.restart();
      await say(style.dim('Conversation cleared.'));
      return 'continue';
    case '/model': {
      if (argument === '') {
        await say(`model: ${session.model}`);
        return 'continue';
      }
      const resolved = tryResolve(router, argument, session.provider);
      if (typeof resolved === 'string') {
        await say(style.red(resolved));
        return 'continue';
      }
      session.model = resolved.model;
      await log.settingsChanged();
      await say(style.dim(`model: ${resolved.model} (providers: ${resolved.providers.join(', ')})`));
      return 'continue';
    }
    case '/provider': {
      if (argument === '') {
        await say(`provider: ${session.provider ?? 'auto'}`);
        return 'continue';
      }
      if (argument.toLowerCase() === 'auto') {
        session.provider = undefined;
      } else {
        const resolved = tryResolve(router, session.model, argument);
        if (typeof resolved === 'string') {
          await say(style.red(resolved));
          return 'continue';
        }
        session.provider = resolved.providers[0] ?? argument;
      }
      await log.settingsChanged();
      await say(style.dim(`provider: ${session.provider ?? 'auto'}`));
      return 'continue';
    }
    case '/system': {
      if (argument === '') {
        await say(session.system === '' ? 'system prompt: (none)' : `system prompt: ${session.system}`);
        return 'continue';
      }
      session.system = argument.toLowerCase() === 'off' ? '' : argument;
      await log.settingsChanged();
      await say(style.dim(session.system === '' ? 'System prompt removed.' : 'System prompt set.'));
      return 'continue';
    }
    default:
      await say(style.red(`Unknown command ${name}. Type /help for the list.`));
      return 'continue';
  }
}

function tryResolve(router: Router, model: string, provider: string | undefined): { model: string; providers: string[] } | string {
  try {
    const resolved = router.resolve(model, provider);
    return { model: resolved.model, providers: resolved.providers.map((candidate) => candidate.name) };
  } catch (error) {
    return describeFailure(error);
  }
}
