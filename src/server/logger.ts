/**
 * The server's structured logger: one JSON object per line. Injectable, so tests collect
 * records instead of printing them, and `quiet` drops them.
 */
import type { Usage } from '../core/spec.js';
import { createGatherer } from './write-gatherer.js';

export type LogLevel = 'info' | 'warn' | 'error';

export interface LogRecord {
  /** What happened, e.g. `request`, `listening`, `insecure-bind`. */
  event: string;
  [field: string]: unknown;
}

/** The one line of each answered request. */
export interface RequestLogRecord extends LogRecord {
  event: 'request';
  id: string;
  method: string;
  path: string;
  status: number;
  latencyMs: number;
  model?: string;
  provider?: string;
  stream?: boolean;
  tokens?: Usage;
  /** The kind of the failure, e.g. `all_providers_failed`. */
  error?: string;
  /** Failed upstream calls: provider, kind, status. */
  upstream?: unknown;
  /** Only with `logMessages`. */
  errorMessage?: string;
  /** Only with `logMessages`. */
  messages?: unknown;
}

export interface Logger {
  log(level: LogLevel, record: LogRecord): void;
  /** A request's line, when the logger has a faster way to write it than `log`. */
  logRequest?(level: LogLevel, record: RequestLogRecord): void;
  /** Writes whatever the logger still holds. */
  flush?(): void;
}

/** Characters a JSON string may hold as they are (no quote, backslash, control or lone surrogate). */
const PLAIN = /^[^"\\\u0000-\u001f\ud800-\udfff]*$/;

function quoted(text: string): string {
  return PLAIN.test(text) ? `"${text}"` : JSON.stringify(text);
}

function requestFields(record: RequestLogRecord): string {
  let text = `"event":"request","id":${quoted(record.id)},"method":${quoted(record.method)},"path":${quoted(record.path)},"status":${record.status},"latencyMs":${Number.isFinite(record.latencyMs) ? record.latencyMs : null}`;
  if (record.model !== undefined) text += `,"model":${quoted(record.model)}`;
  if (record.provider !== undefined) text += `,"provider":${quoted(record.provider)}`;
  if (record.stream !== undefined) text += `,"stream":${record.stream ? 'true' : 'false'}`;
  const tokens = record.tokens;
  if (tokens !== undefined) {
    text += `,"tokens":{"promptTokens":${tokens.promptTokens},"completionTokens":${tokens.completionTokens},"totalTokens":${tokens.totalTokens}}`;
  }
  if (record.error !== undefined) text += `,"error":${quoted(record.error)}`;
  if (record.upstream !== undefined) text += `,"upstream":${JSON.stringify(record.upstream)}`;
  if (record.errorMessage !== undefined) text += `,"errorMessage":${JSON.stringify(record.errorMessage)}`;
  if (record.messages !== undefined) text += `,"messages":${JSON.stringify(record.messages)}`;
  return text;
}

interface Writable {
  write(text: string): unknown;
}

/**
 * Request lines are gathered and written once per turn of the event loop (or at 16 KiB): a write
 * is a system call, and under load many requests end in one turn. Other records are written at
 * once, after any gathered lines, so the order is kept. Whatever is gathered when the process
 * exits is written then (stderr writes are synchronous on files, pipes and terminals).
 */
const FLUSH_AT_CHARS = 16 * 1024;

/** JSON lines with a time and a level, to `stream` (the caller picks it; the CLI passes stderr). */
export function createJsonLogger(stream: Writable): Logger {
  let lastMs = 0;
  let lastTime = '';
  function time(): string {
    const now = Date.now();
    if (now !== lastMs) {
      lastMs = now;
      lastTime = new Date(now).toISOString();
    }
    return lastTime;
  }
  const lines = createGatherer((text) => stream.write(text), { flushAtChars: FLUSH_AT_CHARS, flushOnExit: true });
  return {
    log(level, record) {
      lines.flush();
      // The record's own JSON, with the time and level put in front (no copy of the record).
      const fields = JSON.stringify(record);
      stream.write(`{"time":"${time()}","level":"${level}"${fields.length > 2 ? `,${fields.slice(1)}` : '}'}\n`);
    },
    logRequest(level, record) {
      // Written field by field: a few times cheaper than JSON.stringify of the record.
      lines.add(`{"time":"${time()}","level":"${level}",${requestFields(record)}}\n`);
    },
    flush: lines.flush,
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
