/**
 * The server's structured logger: one JSON object per line. Injectable, so tests collect
 * records instead of printing them, and `quiet` drops them.
 */

export type LogLevel = 'info' | 'warn' | 'error';

export interface LogRecord {
  /** What happened, e.g. `request`, `listening`, `insecure-bind`. */
  event: string;
  [field: string]: unknown;
}

export interface Logger {
  log(level: LogLevel, record: LogRecord): void;
}

interface Writable {
  write(text: string): unknown;
}

/** JSON lines with a time and a level, to `stream` (the caller picks it; the CLI passes stderr). */
export function createJsonLogger(stream: Writable): Logger {
  let lastMs = 0;
  let lastTime = '';
  return {
    log(level, record) {
      const now = Date.now();
      if (now !== lastMs) {
        lastMs = now;
        lastTime = new Date(now).toISOString();
      }
      // The record's own JSON, with the time and level put in front (no copy of the record).
      const fields = JSON.stringify(record);
      stream.write(`{"time":"${lastTime}","level":"${level}"${fields.length > 2 ? `,${fields.slice(1)}` : '}'}\n`);
    },
  };
}

export const silentLogger: Logger = { log() {} };

export interface CollectingLogger extends Logger {
  readonly records: Array<LogRecord & { level: LogLevel }>;
}

/** Keeps every record in memory (tests). */
export function createCollectingLogger(): CollectingLogger {
  const records: Array<LogRecord & { level: LogLevel }> = [];
  return {
    records,
    log(level, record) {
      records.push({ level, ...record });
    },
  };
}
