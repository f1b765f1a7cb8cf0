/**
 * Reading the lines of `g4f chat`. On a terminal, a fresh readline prompt per line (with
 * the shared history), and raw key reading while an answer streams, so that Ctrl-C stops
 * the answer and keys typed meanwhile are not echoed into it. When stdin is not a
 * terminal, one readline over the whole input (lines arriving early are kept).
 */
import { createInterface, type Interface } from 'node:readline';

/** What reading a line gave: the line, the end of input (Ctrl-D), or Ctrl-C at the prompt. */
export type LineResult = { kind: 'line'; line: string } | { kind: 'end' } | { kind: 'interrupt' };

export interface LineReader {
  readonly terminal: boolean;
  read(prompt: string): Promise<LineResult>;
  /** While an answer streams: calls `onInterrupt` on Ctrl-C. Returns the function that stops listening. */
  whileBusy(onInterrupt: () => void): () => void;
  close(): void;
}

const CTRL_C = 0x03;
const HISTORY_SIZE = 200;

export function createLineReader(input: NodeJS.ReadStream, output: NodeJS.WriteStream): LineReader {
  return input.isTTY === true && output.isTTY === true ? terminalReader(input, output) : pipedReader(input, output);
}

function terminalReader(input: NodeJS.ReadStream, output: NodeJS.WriteStream): LineReader {
  const history: string[] = [];
  let current: Interface | undefined;
  return {
    terminal: true,
    read(prompt) {
      const rl = createInterface({ input, output, terminal: true, history: [...history], historySize: HISTORY_SIZE });
      current = rl;
      return new Promise<LineResult>((resolve) => {
        let settled = false;
        const settle = (result: LineResult): void => {
          if (settled) return;
          settled = true;
          current = undefined;
          rl.close();
          resolve(result);
        };
        rl.on('line', (line) => {
          if (line.trim() !== '' && history[0] !== line) history.unshift(line);
          if (history.length > HISTORY_SIZE) history.pop();
          settle({ kind: 'line', line });
        });
        rl.on('SIGINT', () => {
          if (!settled) output.write('\n');
          settle({ kind: 'interrupt' });
        });
        rl.on('close', () => {
          if (!settled) output.write('\n');
          settle({ kind: 'end' });
        });
        rl.setPrompt(prompt);
        rl.prompt();
      });
    },
    whileBusy(onInterrupt) {
      const onData = (data: Buffer | string): void => {
        const bytes = typeof data === 'string' ? Buffer.from(data) : data;
        if (bytes.includes(CTRL_C)) onInterrupt();
        // Anything else typed during an answer is dropped, not echoed into it.
      };
      input.setRawMode(true);
      input.on('data', onData);
      input.resume();
      return () => {
        input.off('data', onData);
        input.setRawMode(false);
        input.pause();
      };
    },
    close() {
      current?.close();
    },
  };
}

function pipedReader(input: NodeJS.ReadStream, output: NodeJS.WriteStream): LineReader {
  const rl = createInterface({ input, output, terminal: false });
  const lines = rl[Symbol.asyncIterator]();
  return {
    terminal: false,
    async read() {
      const next = await lines.next();
      return next.done === true ? { kind: 'end' } : { kind: 'line', line: next.value };
    },
    whileBusy() {
      return () => undefined;
    },
    close() {
      rl.close();
    },
  };
}
