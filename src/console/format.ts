/** Dates, relative times and counts as the console shows them; computed in the browser. */

const DAY_MS = 86_400_000;

export function plural(count: number, noun: string, nouns = `${noun}s`): string {
  return `${count} ${count === 1 ? noun : nouns}`;
}

/** YYYY-MM-DD in UTC (the server's days are UTC days). */
export function formatDay(iso: string): string {
  return new Date(iso).toISOString().slice(0, 10);
}

/** YYYY-MM-DD HH:MM UTC. */
export function formatDateTime(iso: string): string {
  const text = new Date(iso).toISOString();
  return `${text.slice(0, 10)} ${text.slice(11, 16)} UTC`;
}

const UNITS: [Intl.RelativeTimeFormatUnit, number][] = [
  ['year', 365 * DAY_MS],
  ['month', 30 * DAY_MS],
  ['day', DAY_MS],
  ['hour', 3_600_000],
  ['minute', 60_000],
];

const relative = new Intl.RelativeTimeFormat('en', { numeric: 'auto' });

/**
 * "in 12 days", "3 hours ago", "tomorrow", "in less than a minute". Days up to 90, then months up
 * to two years, so an expiry reads in the unit people plan with.
 */
export function relativeTime(iso: string, now: Date): string {
  const diff = new Date(iso).getTime() - now.getTime();
  const abs = Math.abs(diff);
  if (abs < 60_000) return diff >= 0 ? 'in less than a minute' : 'less than a minute ago';
  const unit =
    abs >= 730 * DAY_MS
      ? UNITS[0]!
      : abs >= 90 * DAY_MS
        ? UNITS[1]!
        : abs >= DAY_MS
          ? UNITS[2]!
          : abs >= 3_600_000
            ? UNITS[3]!
            : UNITS[4]!;
  return relative.format(Math.round(diff / unit[1]), unit[0]);
}

/** Whole days from now until `iso` (negative when past). */
export function daysUntil(iso: string, now: Date): number {
  return (new Date(iso).getTime() - now.getTime()) / DAY_MS;
}

/** "Showing 11–20 of 57 users" */
export function pageText(offset: number, shown: number, total: number, nouns: string): string {
  if (total === 0) return `No ${nouns}`;
  if (shown === 0) return `No ${nouns} on this page (${total} in all)`;
  return `Showing ${offset + 1}–${offset + shown} of ${total} ${nouns}`;
}
