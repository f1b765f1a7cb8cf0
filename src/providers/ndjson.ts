/**
 * Newline-delimited JSON from a byte stream, line by line, with a bounded buffer.
 *
 * Bytes may split anywhere, including inside a multi-byte UTF-8 character: lines are cut on the
 * byte 0x0A (which never occurs inside a UTF-8 sequence) and only whole lines are decoded, so a
 * split character is always reassembled before it is read.
 */
import { StreamParseError } from '../core/errors.js';

/** Default bound of one line, in bytes: a longer line is refused rather than buffered forever. */
export const MAX_LINE_BYTES = 8 * 1024 * 1024;

export interface LineDecoder {
  /** The whole lines these bytes completed (empty lines left out). The array is reused. */
  push(bytes: Uint8Array): readonly string[];
  /** The end of the stream: a last line without its newline still counts. */
  end(): readonly string[];
}

export function createLineDecoder(provider: string, maxLineBytes = MAX_LINE_BYTES): LineDecoder {
  const decoder = new TextDecoder('utf-8');
  /** Bytes of the line in progress, in the pieces they came in. */
  let pending: Uint8Array[] = [];
  let pendingBytes = 0;
  const ready: string[] = [];

  const emit = (pieces: readonly Uint8Array[]): void => {
    const bytes = pieces.length === 1 ? (pieces[0] as Uint8Array) : Buffer.concat(pieces);
    let line = decoder.decode(bytes);
    if (line.endsWith('\r')) line = line.slice(0, -1);
    if (line.trim() !== '') ready.push(line);
  };
  const keep = (piece: Uint8Array): void => {
    if (piece.length === 0) return;
    pendingBytes += piece.length;
    if (pendingBytes > maxLineBytes) {
      pending = [];
      pendingBytes = 0;
      throw new StreamParseError(`${provider} sent a line longer than ${maxLineBytes} bytes`, { provider });
    }
    pending.push(piece);
  };

  return {
    push(bytes) {
      ready.length = 0;
      let start = 0;
      for (let newline = bytes.indexOf(0x0a); newline !== -1; newline = bytes.indexOf(0x0a, start)) {
        keep(bytes.subarray(start, newline));
        if (pending.length > 0) emit(pending);
        pending = [];
        pendingBytes = 0;
        start = newline + 1;
      }
      keep(bytes.subarray(start));
      return ready;
    },
    end() {
      ready.length = 0;
      if (pending.length > 0) emit(pending);
      pending = [];
      pendingBytes = 0;
      return ready;
    },
  };
}

/** One line as JSON; anything else is a StreamParseError naming the provider. */
export function parseJsonLine(provider: string, line: string): unknown {
  try {
    return JSON.parse(line);
  } catch {
    throw new StreamParseError(`${provider} sent a line that is not JSON: ${line.length > 200 ? `${line.slice(0, 200)}…` : line}`, { provider });
  }
}
