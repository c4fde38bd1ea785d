import { styleText } from 'node:util';

/**
 * How administrator commands print: aligned tables and short sentences for people (coloured only on
 * a terminal, never with NO_COLOR), or the API's JSON unchanged with --json.
 */

export type Style = 'bold' | 'dim' | 'red' | 'green' | 'yellow' | 'cyan';

/** A table cell: text, optionally styled (the style never counts towards the width). */
export type Cell = string | { text: string; style: Style | undefined };

export interface Column {
  header: string;
  /** Numbers read better right-aligned. */
  align?: 'right';
}

export class Output {
  readonly json: boolean;
  readonly color: boolean;
  readonly #write: (text: string) => void;

  constructor(options: { json: boolean; color: boolean; write?: (text: string) => void }) {
    this.json = options.json;
    this.color = options.color;
    this.#write = options.write ?? ((text) => process.stdout.write(text));
  }

  paint(style: Style | undefined, text: string): string {
    if (!this.color || style === undefined) return text;
    // Whether to colour is decided once, by the caller (a terminal, no NO_COLOR: connect.ts);
    // styleText's own check of process.stdout would differ between Node lines and ignore `write`.
    return styleText(style, text, { validateStream: false });
  }

  /** Lines of text, each ended by a newline. */
  print(...lines: string[]): void {
    this.#write(lines.map((line) => `${line}\n`).join(''));
  }

  /** The API's JSON as it came, pretty-printed. */
  printJson(value: unknown): void {
    this.#write(`${JSON.stringify(value, null, 2)}\n`);
  }

  /** Columns padded to their widest cell, two spaces apart, no trailing spaces. */
  table(columns: readonly Column[], rows: readonly (readonly Cell[])[]): void {
    const cells = rows.map((row) =>
      columns.map((_, i) => {
        const cell = row[i] ?? '';
        return typeof cell === 'string'
          ? { text: printable(cell), style: undefined }
          : { text: printable(cell.text), style: cell.style };
      }),
    );
    const widths = columns.map((column, i) =>
      Math.max(column.header.length, ...cells.map((row) => row[i]?.text.length ?? 0)),
    );
    const render = (row: { text: string; style: Style | undefined }[]): string =>
      row
        .map(({ text, style }, i) => {
          const width = widths[i] ?? 0;
          const last = i === row.length - 1;
          const padded =
            columns[i]?.align === 'right' ? text.padStart(width) : last ? text : text.padEnd(width);
          return this.paint(style, padded);
        })
        .join('  ')
        .trimEnd();
    this.print(
      render(columns.map((c) => ({ text: c.header, style: 'bold' as const }))),
      ...cells.map(render),
    );
  }

  /** `label: value` lines with the values aligned. */
  fields(pairs: readonly (readonly [string, Cell])[]): void {
    const width = Math.max(...pairs.map(([label]) => label.length)) + 1;
    this.print(
      ...pairs.map(([label, value]) => {
        const cell = typeof value === 'string' ? { text: value, style: undefined } : value;
        return `${`${label}:`.padEnd(width)}  ${this.paint(cell.style, printable(cell.text))}`;
      }),
    );
  }
}

/**
 * Text from the server shown on a terminal: control characters (an escape sequence in a user's
 * name, a newline that would break a table) are shown escaped instead of being obeyed.
 */
export function printable(text: string, options: { keepNewlines?: boolean } = {}): string {
  let out = '';
  for (const ch of text) {
    const code = ch.codePointAt(0) ?? 0;
    const control = code < 0x20 || (code >= 0x7f && code < 0xa0);
    out +=
      control && !(options.keepNewlines === true && ch === '\n')
        ? `\\u${code.toString(16).padStart(4, '0')}`
        : ch;
  }
  return out;
}

const MIDNIGHT = 'T00:00:00.000Z';

/** A timestamp as people read it: the date alone at midnight UTC, else date and time in UTC. */
export function formatTime(iso: string): string {
  if (iso.endsWith(MIDNIGHT)) return iso.slice(0, 10);
  return `${iso.slice(0, 10)} ${iso.slice(11, 16)} UTC`;
}

/** "in 12 days", "3 days ago", "today", relative to `now`. */
export function relativeDays(iso: string, now: Date): string {
  const days = Math.round((Date.parse(iso) - now.getTime()) / 86_400_000);
  if (days === 0) return Date.parse(iso) >= now.getTime() ? 'later today' : 'earlier today';
  if (days > 0) return `in ${plural(days, 'day')}`;
  return `${plural(-days, 'day')} ago`;
}

export function plural(count: number, noun: string, nouns = `${noun}s`): string {
  return `${count} ${count === 1 ? noun : nouns}`;
}

/** "Showing 11-20 of 57 users." for a page of `shown` records starting at `offset`. */
export function pageLine(offset: number, shown: number, total: number, nouns: string): string {
  if (shown === 0) return `No ${nouns} at offset ${offset} (${total} in all).`;
  return `Showing ${offset + 1}-${offset + shown} of ${total} ${nouns}.`;
}
