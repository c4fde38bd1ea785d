import { h } from './dom.js';

/**
 * CSV as spreadsheets read it (RFC 4180): every field quoted, quotes doubled, lines ended with
 * CRLF. A field that a spreadsheet would run as a formula (starting with =, +, -, @, a tab or a
 * carriage return) gets a leading apostrophe, so an exported userid such as "=HYPERLINK(...)"
 * stays text (docs/console.md#csv-export).
 */
export function toCsv(
  header: readonly string[],
  rows: readonly (readonly (string | number | null)[])[],
): string {
  const field = (value: string | number | null): string => {
    const text = value === null ? '' : String(value);
    const safe = /^[=+\-@\t\r]/.test(text) ? `'${text}` : text;
    return `"${safe.replaceAll('"', '""')}"`;
  };
  return [header, ...rows].map((row) => row.map(field).join(',')).join('\r\n') + '\r\n';
}

/** Offers `csv` as a file download named `name`, built in the browser (nothing is sent anywhere). */
export function downloadCsv(name: string, csv: string): void {
  const url = URL.createObjectURL(new Blob([csv], { type: 'text/csv;charset=utf-8' }));
  const link = h('a', { href: url, download: name, hidden: true });
  document.body.append(link);
  link.click();
  link.remove();
  // After the click has been handled: revoking at once can cancel the download in some browsers.
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

/**
 * Every page of a list, `size` at a time, for an export; stops at `limit` records so a huge log
 * cannot exhaust the tab.
 */
export async function allPages<T>(
  fetchPage: (offset: number, size: number) => Promise<{ items: T[]; total: number }>,
  limit = 100_000,
): Promise<{ items: T[]; total: number }> {
  const size = 1000;
  const items: T[] = [];
  let total = 0;
  for (let offset = 0; offset < limit; offset += size) {
    const page = await fetchPage(offset, size);
    total = page.total;
    items.push(...page.items);
    if (page.items.length < size || items.length >= total) break;
  }
  return { items: items.slice(0, limit), total };
}

/** Today's UTC day, for file names: licensor-users-2026-06-01.csv */
export function fileDay(now = new Date()): string {
  return now.toISOString().slice(0, 10);
}
