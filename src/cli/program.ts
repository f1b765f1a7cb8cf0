/**
 * The commander program of `g4f`: its commands, their options and help. Each command imports
 * what it needs inside its action, so that parsing the command line loads commander and tiny
 * modules only.
 */
import { createRequire } from 'node:module';
import type * as Commander from 'commander';
import type { GlobalOptions } from './context.js';
import { createStyle } from './style.js';
import { EXIT } from './usage-error.js';

// commander is CommonJS: required directly, which spares Node parsing it for its ESM exports.
const { Command, CommanderError, InvalidArgumentError, Option } = createRequire(import.meta.url)('commander') as typeof Commander;
type Command = Commander.Command;

function parseTemperature(value: string): number {
  const number = Number(value);
  if (value.trim() === '' || !Number.isFinite(number) || number < 0 || number > 2) {
    throw new InvalidArgumentError('expected a number from 0 to 2.');
  }
  return number;
}

function parsePositiveInteger(value: string): number {
  const number = Number(value);
  if (!/^\d+$/.test(value.trim()) || !Number.isSafeInteger(number) || number <= 0) {
    throw new InvalidArgumentError('expected a positive whole number.');
  }
  return number;
}

/** A positive whole number, kept as text (the key store checks it again). */
function parsePositiveIntegerText(value: string): string {
  return String(parsePositiveInteger(value));
}

function parseLimit(value: string): number {
  const number = parsePositiveInteger(value);
  if (number > 1000) throw new InvalidArgumentError('expected at most 1000.');
  return number;
}

function parsePort(value: string): number {
  const number = Number(value);
  if (!/^\d+$/.test(value.trim()) || number > 65_535) throw new InvalidArgumentError('expected a port from 0 to 65535.');
  return number;
}

function globalsOf(command: Command): GlobalOptions {
  const options = command.optsWithGlobals<{ config?: string; verbose?: boolean }>();
  const globals: GlobalOptions = { verbose: options.verbose === true };
  if (options.config !== undefined) globals.config = options.config;
  return globals;
}

let exitCode: number = EXIT.ok;

export function createProgram(version: string): Command {
  const stderrStyle = createStyle(process.stderr);
  const program = new Command('g4f')
    .description('Chat models through many providers, from the command line.')
    .version(version, '-V, --version', 'print the version')
    .option('--config <path>', 'configuration file (default: $G4F_CONFIG, then ./g4f.config.json)')
    .option('--verbose', 'show error details: every provider tried, causes and stacks')
    .helpOption('-h, --help', 'show help')
    .configureHelp({ showGlobalOptions: true })
    .showSuggestionAfterError(true)
    .exitOverride()
    .configureOutput({
      outputError(text, write) {
        const line = text
          .replace(/^error:\s*/i, '')
          .replace(/\s*\n+\s*/g, ' ')
          .trim();
        write(`${stderrStyle.red('g4f: error:')} ${line} (see g4f --help)\n`);
      },
    });

  program
    .command('ask')
    .description('ask one question; the answer is streamed to stdout (piped stdin is the prompt, or is appended to it)')
    .argument('[prompt...]', 'the question (quotes optional)')
    .option('-m, --model <model>', 'model name or alias')
    .option('-p, --provider <name>', 'use only this provider')
    .option('-s, --system <text>', 'system prompt')
    .addOption(new Option('-t, --temperature <number>', 'sampling temperature, 0 to 2').argParser(parseTemperature))
    .option('--no-stream', 'ask the upstream for the whole answer at once')
    .option('--json', 'print one OpenAI-shaped chat.completion object')
    .option('--stdin', 'wait for piped stdin to start and end, however long it takes')
    .option('--image <path|url>', 'send an image with the prompt (repeatable; a vision model is needed)', (value: string, previous: string[] = []) => [
      ...previous,
      value,
    ])
    .addHelpText(
      'after',
      '\nWith a prompt argument and without --stdin, piped stdin must start within 250 ms, else it is\n' +
        'ignored (so that a silent open pipe cannot hang the command); input that comes later is not\n' +
        'read, and a warning on stderr says so.',
    )
    .action(async (words: string[], options: import('./ask.js').AskOptions, command: Command) => {
      const { runAsk } = await import('./ask.js');
      exitCode = await runAsk(words, options, globalsOf(command));
    });

  /** Where `chat`, `conversations` and `serve` keep conversations. */
  const conversationsDirOption = (): Commander.Option =>
    new Option('--data-dir <dir>', 'where conversations are stored (default: $G4F_DATA_DIR, then the user data directory)');

  program
    .command('chat')
    .description('an interactive conversation (type /help inside)')
    .option('-m, --model <model>', 'model name or alias')
    .option('-p, --provider <name>', 'use only this provider')
    .option('-s, --system <text>', 'system prompt')
    .option('--resume <id>', 'continue a stored conversation')
    .addOption(conversationsDirOption())
    .option('--no-save', 'do not store this conversation')
    .action(async (options: import('./chat.js').ChatOptions, command: Command) => {
      const { runChat } = await import('./chat.js');
      exitCode = await runChat(options, globalsOf(command));
    });

  program
    .command('providers')
    .description('list the providers (name, models, stream, auth, base URL, health)')
    .option('--check', 'send a tiny request to each provider and report status and latency')
    .addOption(new Option('--timeout <ms>', 'per-provider timeout of --check').argParser(parsePositiveInteger).default(15_000))
    .option('--json', 'print JSON instead of a table')
    .action(async (options: import('./providers.js').ProvidersOptions, command: Command) => {
      const { runProviders } = await import('./providers.js');
      exitCode = await runProviders(options, globalsOf(command));
    });

  program
    .command('models')
    .description('list the models, their aliases and the providers that serve them, in order')
    .option('--json', 'print JSON instead of a table')
    .action(async (options: import('./models.js').ModelsOptions, command: Command) => {
      const { runModels } = await import('./models.js');
      exitCode = await runModels(options, globalsOf(command));
    });

  program
    .command('conversations')
    .description('list the stored conversations (newest first); continue one with g4f chat --resume ID')
    .option('--search <text>', 'only conversations whose title or messages contain this text')
    .addOption(new Option('--limit <n>', 'at most this many').argParser(parseLimit).default(50))
    .addOption(conversationsDirOption())
    .option('--json', 'print JSON instead of a table')
    .action(async (options: import('./conversations.js').ConversationsOptions, command: Command) => {
      const { runConversations } = await import('./conversations.js');
      exitCode = await runConversations(options, globalsOf(command));
    });

  program
    .command('serve')
    .description('run the OpenAI-compatible HTTP server and the chat page')
    .option('--host <host>', 'address to listen on', '127.0.0.1')
    .addOption(new Option('--port <port>', 'port to listen on').argParser(parsePort).default(1337))
    .option('--demo', 'answer from the built-in demo upstream (no real providers)')
    .addOption(conversationsDirOption())
    .addOption(
      new Option('--log-format <format>', 'request log on stderr: human lines, or JSON lines (auto: human on a terminal)')
        .choices(['auto', 'human', 'json'])
        .default('auto'),
    )
    .action(async (options: import('./serve.js').ServeOptions, command: Command) => {
      const { runServe } = await import('./serve.js');
      exitCode = await runServe(options, globalsOf(command));
    });

  const keys = program.command('keys').description("named API keys of g4f serve, with limits and budgets (in the server's database)");
  const dataDirOption = (): Commander.Option =>
    new Option('--data-dir <dir>', 'the data directory of the SQLite database (default: $G4F_DATA_DIR; G4F_DATABASE_URL wins)');
  keys
    .command('create')
    .description('create a key and print it (once: only its hash is stored)')
    .requiredOption('--name <name>', 'a unique name (letters, digits, . _ -)')
    .addOption(new Option('--rpm <n>', 'requests a minute').argParser(parsePositiveIntegerText))
    .addOption(new Option('--tpm <n>', 'tokens a minute').argParser(parsePositiveIntegerText))
    .addOption(new Option('--max-parallel <n>', 'requests in flight at once').argParser(parsePositiveIntegerText))
    .addOption(new Option('--budget-tokens <n>', 'tokens a budget period').argParser(parsePositiveIntegerText))
    .addOption(new Option('--budget-period <period>', 'when the budget starts again').choices(['day', 'week', 'month', 'total']).default('total'))
    .option('--models <list>', 'the only models the key may use, comma-separated')
    .option('--expires <duration>', 'when the key stops working: 30d, 12h, 2w, or an ISO date')
    .addOption(dataDirOption())
    .option('--json', 'print the key and its settings as JSON')
    .action(async (options: import('./keys.js').KeysCreateOptions, command: Command) => {
      const { runKeysCreate } = await import('./keys.js');
      exitCode = await runKeysCreate(options, globalsOf(command));
    });
  keys
    .command('list')
    .description('every key: name, status, limits, created, last used, usage this period (never the key)')
    .addOption(dataDirOption())
    .option('--json', 'print JSON instead of a table')
    .action(async (options: import('./keys.js').KeysListOptions, command: Command) => {
      const { runKeysList } = await import('./keys.js');
      exitCode = await runKeysList(options, globalsOf(command));
    });
  keys
    .command('revoke')
    .description('revoke a key: it is refused (401) from now on')
    .argument('<name>', 'the key name')
    .addOption(dataDirOption())
    .action(async (name: string, options: import('./keys.js').KeysListOptions, command: Command) => {
      const { runKeysRevoke } = await import('./keys.js');
      exitCode = await runKeysRevoke(name, options, globalsOf(command));
    });
  keys
    .command('usage')
    .description('requests and tokens per key, day, model and provider')
    .argument('[name]', 'one key only')
    .addOption(dataDirOption())
    .option('--json', 'print JSON instead of a table')
    .action(async (name: string | undefined, options: import('./keys.js').KeysListOptions, command: Command) => {
      const { runKeysUsage } = await import('./keys.js');
      exitCode = await runKeysUsage(name, options, globalsOf(command));
    });

  return program;
}

/** Runs the command line (`argv` as in process.argv); resolves to the exit code. */
export async function runProgram(argv: readonly string[], version: string): Promise<number> {
  const program = createProgram(version);
  try {
    await program.parseAsync([...argv]);
    return exitCode;
  } catch (error) {
    if (error instanceof CommanderError) return error.exitCode === 0 ? EXIT.ok : EXIT.usage;
    const { reportFailure } = await import('./failure.js');
    return reportFailure(error, program.opts<{ verbose?: boolean }>().verbose === true);
  }
}
