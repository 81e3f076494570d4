import { headOf } from '../task/cut-text';
import { TERMINAL_UNSAFE } from '../terminal-unsafe';

/** @internal A plain text table: a header row, columns padded to their widest cell. */
export function table(headers: string[], rows: (string | number | undefined)[][]): string {
  const cells = [headers, ...rows.map((row) => row.map((cell) => clean(cell)))];
  // Row by row: Math.max(...column) takes an argument per row, and throws past about 120,000.
  const widths = headers.map((_, i) => cells.reduce((width, row) => Math.max(width, String(row[i] ?? '').length), 0));
  const line = (row: (string | number | undefined)[]) =>
    row
      .map((cell, i) => String(cell ?? '').padEnd(widths[i]))
      .join('  ')
      .trimEnd();
  return [line(headers), line(widths.map((w) => '-'.repeat(w))), ...cells.slice(1).map(line)].join('\n');
}

/**
 * One line, at most 60 characters (never half of a surrogate pair), with a space for each
 * character a terminal must not get raw (TERMINAL_UNSAFE: a payload could hold escape sequences
 * or a bidirectional override).
 */
function clean(cell: string | number | undefined): string {
  if (cell === undefined) return '';
  const text = String(cell).replace(TERMINAL_UNSAFE, ' ');
  return text.length > 60 ? `${headOf(text, 59)}…` : text;
}
