/** Aligned text tables for listings (plain text when piped; colour is added by the caller). */
import { stripAnsi } from './style.js';

export function formatTable(header: readonly string[], rows: readonly (readonly string[])[], style?: (text: string) => string): string {
  const widths = header.map((title, column) => Math.max(stripAnsi(title).length, ...rows.map((row) => stripAnsi(row[column] ?? '').length)));
  const line = (cells: readonly string[]): string =>
    cells
      .map((cell, column) => (column === cells.length - 1 ? cell : pad(cell, widths[column] ?? 0)))
      .join('  ')
      .trimEnd();
  const head = line(header);
  return [style === undefined ? head : style(head), ...rows.map(line)].join('\n');
}

function pad(text: string, width: number): string {
  return text + ' '.repeat(Math.max(0, width - stripAnsi(text).length));
}
