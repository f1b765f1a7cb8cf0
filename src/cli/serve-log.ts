/**
 * The request log of `g4f serve`: JSON lines for machines (when stderr is not a terminal, or
 * with `--log-format json`), one short human line per request on a terminal
 * (`14:05:09 POST /v1/chat/completions 200 152 ms Mishalsgpt`).
 */
import type { Logger, LogLevel, LogRecord } from '../server/logger.js';
import type { Style } from './style.js';

export type LogFormat = 'auto' | 'human' | 'json';

interface Writable {
  write(text: string): unknown;
}

/** `auto`: human lines on a terminal, JSON lines otherwise. */
export function chooseLogFormat(format: LogFormat, stream: { isTTY?: boolean }): 'human' | 'json' {
  if (format !== 'auto') return format;
  return stream.isTTY === true ? 'human' : 'json';
}

/** Events the command prints itself (its start line, its shutdown line). */
const SHOWN_BY_THE_COMMAND = new Set(['listening', 'closed']);

export function createHumanLogger(stream: Writable, style: Style, verbose: boolean): Logger {
  return {
    log(level, record) {
      if (SHOWN_BY_THE_COMMAND.has(record.event)) return;
      const line = record.event === 'request' ? requestLine(record, style, verbose) : eventLine(level, record, style);
      stream.write(`${line}\n`);
    },
  };
}

function requestLine(record: LogRecord, style: Style, verbose: boolean): string {
  const status = typeof record.status === 'number' ? record.status : 0;
  const colour = status >= 500 ? style.red : status >= 400 ? style.yellow : style.green;
  const parts = [
    style.dim(clock()),
    text(record.method),
    text(record.path),
    colour(String(status)),
    `${typeof record.latencyMs === 'number' ? Math.round(record.latencyMs) : '?'} ms`,
  ];
  if (record.provider !== undefined) parts.push(text(record.provider));
  if (record.error !== undefined) parts.push(style.red(text(record.error)));
  if (verbose) {
    if (record.model !== undefined) parts.push(style.dim(`model=${text(record.model)}`));
    if (record.stream !== undefined) parts.push(style.dim(`stream=${text(record.stream)}`));
    if (record.tokens !== undefined) parts.push(style.dim(`tokens=${JSON.stringify(record.tokens)}`));
  }
  return parts.join(' ');
}

function eventLine(level: LogLevel, record: LogRecord, style: Style): string {
  const { event, message, ...rest } = record;
  const label = level === 'error' ? style.red('error:') : level === 'warn' ? style.yellow('warning:') : style.dim('info:');
  const detail = typeof message === 'string' ? message : '';
  const fields = Object.keys(rest).length === 0 ? '' : ` ${style.dim(JSON.stringify(rest))}`;
  return `${style.dim(clock())} ${label} ${event}${detail === '' ? '' : `: ${detail}`}${fields}`;
}

function text(value: unknown): string {
  return typeof value === 'string' ? value : String(value);
}

function clock(): string {
  return new Date().toTimeString().slice(0, 8);
}
