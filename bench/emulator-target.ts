/**
 * Child process: the emulated OpenAI-compatible upstream with no delays. Prints
 * `{"url": "http://127.0.0.1:PORT"}` on stdout once listening; exits on SIGTERM or when stdin closes.
 * Run from the compiled copy (see `child-process.ts`); `G4F_BENCH_ROOT` is the project folder.
 */
import { pathToFileURL } from 'node:url';
import { join } from 'node:path';

type EmulatorModule = typeof import('../src/emulators/index.js');

/** Twenty words: the answer is cut into 20 content chunks of one word each. */
const REPLY = Array.from({ length: 20 }, (_, index) => `word${index + 1} `).join('');

const root = process.env.G4F_BENCH_ROOT ?? process.cwd();
const emulators = (await import(pathToFileURL(join(root, 'dist/emulators/index.js')).href)) as EmulatorModule;
const emulator = await emulators.createEmulator({
  protocol: 'openai',
  recordRequests: false,
  defaultPlan: { chunkCount: 20, text: REPLY },
  models: ['bench-model'],
});
process.stdout.write(`${JSON.stringify({ url: emulator.url })}\n`);

const stop = (): void => {
  void emulator.close().finally(() => process.exit(0));
};
process.on('SIGTERM', stop);
process.stdin.on('end', stop);
process.stdin.resume();
