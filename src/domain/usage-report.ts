import { createHash } from 'node:crypto';
import { canonicalJson } from './canonical-json.js';
import type { LicenseRecord } from './license.js';
import type { UserType } from './users.js';

/**
 * The signed usage report (docs/usage-report.md): what the vendor bills a true-up from. Built here
 * from the daily usage history alone; verified and reconciled offline by `licensor report`.
 */

/** The longest period one report covers, both ends included. */
export const MAX_REPORT_DAYS = 400;
/** What the first day's chain follows: 64 zeros. */
export const CHAIN_GENESIS = '0'.repeat(64);

/** One recorded day of the usage history, as the store returns it. */
export interface HistoryDay {
  day: string;
  peakActiveUsers: number;
  /** The day's peak of each user type; null on a day recorded before they were (migration 9). */
  peakByType: Record<UserType, number> | null;
  licenseSeats: number;
  hardSeats: number;
}

/**
 * A day's highest counts of active users: over all types, and of each user type on the days
 * recorded since the history keeps them (docs/usage-report.md#peaks-by-user-type). A day recorded
 * before carries `all` alone, so its row, and its chain, are what they were.
 */
export type PeakActive = { all: number } & Partial<Record<UserType, number>>;

export interface ReportRow {
  day: string;
  peakActive: PeakActive;
  licenseSeats: number;
  hardSeats: number;
  /** Hex SHA-256 over the previous day's chain and this row's canonical JSON (chainOf). */
  chain: string;
}

export interface ReportLicense {
  uuid: string;
  licensee: { name?: string; email?: string; company?: string } | null;
  seats: number;
  softSeats: number;
  /** When the term starts: startsAt, or createdAt for a key without one (RFC 3339). */
  startsAt: string;
  expires: string | null;
}

export interface ReportSummary {
  peakActive: number;
  /** The first day the period's peak was reached; null when the period has no day. */
  peakDay: string | null;
  /** Days whose peak exceeded that day's hard seats. */
  daysOverSeats: number;
  /** The largest peak minus hard seats; 0 when no day was over. */
  maxOverage: number;
}

export interface UsageReport {
  instanceId: string;
  generatedAt: string;
  from: string;
  to: string;
  /** The chain of the last recorded day before `from`, or CHAIN_GENESIS when there is none. */
  chainStart: string;
  licenses: ReportLicense[];
  days: ReportRow[];
  summary: ReportSummary;
}

/** The chain of one row: SHA-256 (hex) over the UTF-8 of `previous` then the row's JCS without `chain`. */
export function chainOf(previous: string, row: Omit<ReportRow, 'chain'>): string {
  const { day, peakActive, licenseSeats, hardSeats } = row;
  return createHash('sha256')
    .update(previous + canonicalJson({ day, peakActive, licenseSeats, hardSeats }))
    .digest('hex');
}

/**
 * The rows the chain runs over: every recorded day from the first one with a user or a license
 * (days before that are left out), oldest first, each chained to the one before.
 */
export function chainHistory(history: readonly HistoryDay[]): ReportRow[] {
  const first = history.findIndex((d) => d.peakActiveUsers > 0 || d.licenseSeats > 0);
  if (first === -1) return [];
  let previous = CHAIN_GENESIS;
  return history.slice(first).map((d) => {
    const row = {
      day: d.day,
      peakActive: { all: d.peakActiveUsers, ...d.peakByType },
      licenseSeats: d.licenseSeats,
      hardSeats: d.hardSeats,
    };
    previous = chainOf(previous, row);
    return { ...row, chain: previous };
  });
}

export function summarize(rows: readonly ReportRow[]): ReportSummary {
  let peak: ReportRow | undefined;
  let daysOverSeats = 0;
  let maxOverage = 0;
  for (const row of rows) {
    if (!peak || row.peakActive.all > peak.peakActive.all) peak = row;
    const over = row.peakActive.all - row.hardSeats;
    if (over > 0) daysOverSeats++;
    if (over > maxOverage) maxOverage = over;
  }
  return { peakActive: peak?.peakActive.all ?? 0, peakDay: peak?.day ?? null, daysOverSeats, maxOverage };
}

const DAY_MS = 86_400_000;

/** The licenses whose term overlaps [from, to] (whole UTC days), deleted or not, invalidated ones excepted. */
function licensesInForce(licenses: readonly LicenseRecord[], from: string, to: string): ReportLicense[] {
  const start = Date.parse(`${from}T00:00:00Z`);
  const end = Date.parse(`${to}T00:00:00Z`) + DAY_MS;
  return licenses
    .filter((l) => {
      if (l.invalidated) return false;
      const begins = (l.claims.startsAt ?? l.claims.createdAt).getTime();
      const ends = l.claims.expires?.getTime() ?? Infinity;
      return begins < end && ends > start;
    })
    .map((l) => ({
      uuid: l.uuid,
      licensee: l.claims.licensee,
      seats: l.claims.seats,
      softSeats: l.claims.softSeats,
      startsAt: (l.claims.startsAt ?? l.claims.createdAt).toISOString(),
      expires: l.claims.expires?.toISOString() ?? null,
    }));
}

/**
 * The report of [from, to]. `history` must run from the first recorded day (so the chain starts
 * where the history does, and two reports over different periods agree on the days they share) up
 * to at least `to`; the caller reads it from the daily history, never from the users.
 */
export function buildUsageReport(input: {
  instanceId: string;
  generatedAt: Date;
  from: string;
  to: string;
  history: readonly HistoryDay[];
  licenses: readonly LicenseRecord[];
}): UsageReport {
  const chained = chainHistory(input.history);
  const before = chained.filter((r) => r.day < input.from);
  const days = chained.filter((r) => r.day >= input.from && r.day <= input.to);
  return {
    instanceId: input.instanceId,
    generatedAt: input.generatedAt.toISOString(),
    from: input.from,
    to: input.to,
    chainStart: before.at(-1)?.chain ?? CHAIN_GENESIS,
    licenses: licensesInForce(input.licenses, input.from, input.to),
    days,
    summary: summarize(days),
  };
}
