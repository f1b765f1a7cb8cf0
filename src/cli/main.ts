/**
 * The `g4f` command line. Start-up time matters: `g4f --version` alone is answered here, without
 * loading commander; everything else goes to the commander program (`./program.ts`).
 */
import { readFileSync } from 'node:fs';
import { flushStdout, watchStdout, writeOut } from './stdout.js';
import { EXIT } from './usage-error.js';

watchStdout();

function readVersion(): string {
  try {
    const pkg: unknown = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8'));
    if (typeof pkg === 'object' && pkg !== null && 'version' in pkg && typeof pkg.version === 'string') return pkg.version;
  } catch {
    // Fall through.
  }
  return 'unknown';
}

async function main(argv: readonly string[]): Promise<number> {
  const args = argv.slice(2);
  if (args.length === 1 && (args[0] === '--version' || args[0] === '-V')) {
    // What commander prints for it.
    await writeOut(`${readVersion()}\n`);
    return EXIT.ok;
  }
  const { runProgram } = await import('./program.js');
  return runProgram(argv, readVersion());
}

void main(process.argv).then(async (code) => {
  await flushStdout();
  process.exit(code);
});
