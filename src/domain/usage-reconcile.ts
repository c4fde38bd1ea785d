import { canonicalJson } from './canonical-json.js';
import { chainOf, summarize, type ReportRow, type UsageReport } from './usage-report.js';
import { USER_TYPES, type UserType } from './users.js';

/**
 * What `licensor report verify` checks after the signature, and `reconcile`'s vendor view
 * (docs/usage-report.md#reconcile). Pure: the caller has verified the signature already.
 */

const DAY = /^\d{4}-\d{2}-\d{2}$/;
const HEX64 = /^[0-9a-f]{64}$/;

function isCount(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;
}

/**
 * Why a row's `peakActive` is not one, or null: `all` always; each user type's peak on a day that
 * has them (docs/usage-report.md#peaks-by-user-type), all types or none, none above `all` (each
 * type's count at an instant is part of the total then).
 */
function peakProblem(peak: unknown): string | null {
  if (typeof peak !== 'object' || peak === null || Array.isArray(peak)) return 'has no "peakActive"';
  const p = peak as Record<string, unknown>;
  if (!isCount(p.all)) return 'has counts that are not whole numbers';
  const types = Object.keys(p).filter((k) => k !== 'all');
  if (types.length === 0) return null;
  if (types.some((k) => !(USER_TYPES as readonly string[]).includes(k)))
    return `has a peak of a user type other than ${USER_TYPES.join(', ')}`;
  if (types.length !== USER_TYPES.length) return `has the peak of some user types only`;
  for (const type of USER_TYPES) {
    const n = p[type];
    if (!isCount(n)) return 'has counts that are not whole numbers';
    if (n > p.all) return `has a ${type} peak above its peak over all types`;
  }
  return null;
}

/**
 * The payload as a report, or the reason it is not one: its fields, every day's chain recomputed
 * from `chainStart` (days strictly increasing), and the summary recomputed from the days.
 */
export function checkReport(payload: Record<string, unknown>): UsageReport | string {
  const p = payload as Partial<UsageReport>;
  if (typeof p.instanceId !== 'string') return 'no "instanceId"';
  if (typeof p.from !== 'string' || !DAY.test(p.from) || typeof p.to !== 'string' || !DAY.test(p.to))
    return '"from" and "to" must be days (YYYY-MM-DD)';
  if (typeof p.chainStart !== 'string' || !HEX64.test(p.chainStart)) return '"chainStart" is not a SHA-256';
  if (!Array.isArray(p.days) || !Array.isArray(p.licenses)) return '"days" and "licenses" must be arrays';
  let previous = p.chainStart;
  let lastDay = '';
  for (const row of p.days as unknown[]) {
    const r = row as Partial<ReportRow>;
    if (typeof r !== 'object' || r === null || typeof r.day !== 'string' || !DAY.test(r.day))
      return 'a day row has no valid "day"';
    if (r.day <= lastDay || r.day < p.from || r.day > p.to)
      return `day ${r.day} is out of order or outside the period`;
    const peak = peakProblem(r.peakActive);
    if (peak !== null) return `day ${r.day} ${peak}`;
    if (!isCount(r.licenseSeats) || !isCount(r.hardSeats))
      return `day ${r.day} has counts that are not whole numbers`;
    const expected = chainOf(previous, r as ReportRow);
    if (r.chain !== expected) return `day ${r.day}: its chain does not follow from the day before`;
    previous = expected;
    lastDay = r.day;
  }
  const report = p as UsageReport;
  if (canonicalJson(report.summary) !== canonicalJson(summarize(report.days)))
    return 'the summary does not match the days';
  return report;
}

export interface LicenseOverage {
  uuid: string;
  licensee: string | null;
  /** The days within the license's term whose peak exceeded that day's hard seats. */
  daysOverSeats: string[];
  /** The largest peak minus hard seats on those days; 0 when none. */
  peakOverage: number;
}

/** The period's highest peak of each user type, over the days that carry them. */
export interface PeaksByType {
  byType: Record<UserType, number>;
  /** How many of the period's days carry peaks by type (days recorded before migration 9 do not). */
  days: number;
  /** The first of them. */
  from: string;
}

export interface Reconciliation {
  instanceId: string;
  from: string;
  to: string;
  /**
   * Overage is judged on the peak over all types: a license's seats are not per user type
   * (docs/usage-report.md#reconcile).
   */
  licenses: LicenseOverage[];
  summary: UsageReport['summary'];
  /** Null when no day of the period carries peaks by type. */
  peaksByType: PeaksByType | null;
  /** Present when a previous report was given. */
  previous?: {
    overlapFrom: string | null;
    overlapTo: string | null;
    agrees: boolean;
    /** The first day of the overlap whose row or chain differs; null when they agree. */
    firstDifferentDay: string | null;
    reason: string | null;
  };
}

/** The highest peak of each user type over the days that carry them; null when none does. */
export function peaksByType(days: readonly ReportRow[]): PeaksByType | null {
  const typed = days.filter((d) => USER_TYPES.every((t) => d.peakActive[t] !== undefined));
  const first = typed[0];
  if (first === undefined) return null;
  const byType = Object.fromEntries(
    USER_TYPES.map((t) => [t, Math.max(...typed.map((d) => d.peakActive[t] as number))]),
  ) as Record<UserType, number>;
  return { byType, days: typed.length, from: first.day };
}

function dayOf(instant: string): string {
  return instant.slice(0, 10);
}

function licenseOverage(report: UsageReport, license: UsageReport['licenses'][number]): LicenseOverage {
  const first = dayOf(license.startsAt);
  const last = license.expires === null ? '9999-12-31' : dayOf(license.expires);
  const over = report.days.filter((d) => d.day >= first && d.day <= last && d.peakActive.all > d.hardSeats);
  const l = license.licensee;
  return {
    uuid: license.uuid,
    licensee: l ? (l.company ?? l.name ?? l.email ?? null) : null,
    daysOverSeats: over.map((d) => d.day),
    peakOverage: Math.max(0, ...over.map((d) => d.peakActive.all - d.hardSeats)),
  };
}

/** Compares the days two reports share: the first one whose row or chain differs is named. */
function compare(report: UsageReport, previous: UsageReport): NonNullable<Reconciliation['previous']> {
  const overlapFrom = report.from > previous.from ? report.from : previous.from;
  const overlapTo = report.to < previous.to ? report.to : previous.to;
  if (report.instanceId !== previous.instanceId)
    return {
      overlapFrom: null,
      overlapTo: null,
      agrees: false,
      firstDifferentDay: null,
      reason: 'the reports come from different instances',
    };
  if (overlapFrom > overlapTo)
    return {
      overlapFrom: null,
      overlapTo: null,
      agrees: true,
      firstDifferentDay: null,
      reason: 'the periods do not overlap',
    };
  const inOverlap = (r: ReportRow): boolean => r.day >= overlapFrom && r.day <= overlapTo;
  const now = new Map(report.days.filter(inOverlap).map((r) => [r.day, r]));
  const then = new Map(previous.days.filter(inOverlap).map((r) => [r.day, r]));
  const days = [...new Set([...now.keys(), ...then.keys()])].sort();
  for (const day of days) {
    const a = now.get(day);
    const b = then.get(day);
    const differ = (x: ReportRow, y: ReportRow): boolean =>
      canonicalJson({ ...x, chain: '' }) !== canonicalJson({ ...y, chain: '' });
    let reason: string | null = null;
    if (!a || !b) reason = `day ${day} is in only one of the reports`;
    else if (differ(a, b)) reason = `day ${day} was rewritten: its counts differ`;
    else if (a.chain !== b.chain) reason = `the history before day ${day} was rewritten: its chain differs`;
    if (reason !== null) return { overlapFrom, overlapTo, agrees: false, firstDifferentDay: day, reason };
  }
  return { overlapFrom, overlapTo, agrees: true, firstDifferentDay: null, reason: null };
}

/** The vendor's view of a verified report, and of its agreement with an earlier one. */
export function reconcile(report: UsageReport, previous?: UsageReport): Reconciliation {
  return {
    instanceId: report.instanceId,
    from: report.from,
    to: report.to,
    licenses: report.licenses.map((l) => licenseOverage(report, l)),
    summary: report.summary,
    peaksByType: peaksByType(report.days),
    ...(previous && { previous: compare(report, previous) }),
  };
}
