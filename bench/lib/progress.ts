/**
 * Progress on stderr. On a terminal one line is rewritten in place (\r); elsewhere (CI logs) only
 * the finished line is printed, so a log is not flooded with partial lines.
 */
const tty = process.stderr.isTTY === true;
const BAR_WIDTH = 24;

export function bar(fraction: number): string {
  const f = Math.max(0, Math.min(1, fraction));
  const filled = Math.round(f * BAR_WIDTH);
  return `[${'#'.repeat(filled)}${'.'.repeat(BAR_WIDTH - filled)}] ${(f * 100).toFixed(0).padStart(3)}%`;
}

export class StatusLine {
  #last = '';

  /** Replaces the current line (terminal only). */
  update(text: string): void {
    if (!tty) return;
    const padded = text.padEnd(this.#last.length);
    this.#last = text;
    process.stderr.write(`\r${padded}`);
  }

  /** Ends the line with its final text (printed everywhere). */
  done(text: string): void {
    if (tty) process.stderr.write(`\r${text.padEnd(this.#last.length)}\n`);
    else process.stderr.write(`${text}\n`);
    this.#last = '';
  }
}

export function note(text: string): void {
  process.stderr.write(`${text}\n`);
}

export function fmtInt(n: number): string {
  return Math.round(n).toLocaleString('en-US');
}

export function fmtMs(ms: number): string {
  return ms >= 100 ? ms.toFixed(0) : ms >= 10 ? ms.toFixed(1) : ms.toFixed(2);
}

export function fmtUsers(n: number): string {
  if (n >= 1_000_000 && n % 1_000_000 === 0) return `${n / 1_000_000}M`;
  if (n >= 1000 && n % 1000 === 0) return `${n / 1000}k`;
  return fmtInt(n);
}
