import { LicensorError } from './errors.js';
import type { FeatureClaim, LicenseClaims } from './license-claims.js';

/** A license as stored: the verified key, its claims, and what happened to it since. */
export interface LicenseRecord {
  id: number;
  uuid: string;
  licenseKey: string;
  /** The whole verified payload, unknown claims included. */
  payload: Record<string, unknown>;
  claims: LicenseClaims;
  /** When the license was added, then when it was last changed (deleted, invalidated). */
  updatedAt: Date;
  deleted: boolean;
  invalidated: boolean;
}

/** How far in the future a key's `createdAt` may lie before it is refused: clocks drift. */
export const CREATED_AT_SKEW_MS = 5 * 60 * 1000;

export function isExpired(license: LicenseRecord, now: Date): boolean {
  return license.claims.expires !== null && now.getTime() >= license.claims.expires.getTime();
}

const DAY_MS = 24 * 60 * 60 * 1000;

/**
 * When the grace of a license ends: `expires` + `graceDays` days; null for a perpetual license or
 * one without grace (docs/licenses.md#grace-period).
 */
export function graceUntil(claims: Pick<LicenseClaims, 'expires' | 'graceDays'>): Date | null {
  if (claims.expires === null || claims.graceDays === 0) return null;
  return new Date(claims.expires.getTime() + claims.graceDays * DAY_MS);
}

/** The instant a license stops being in force: the end of its grace, or `expires`; null never. */
export function inForceUntil(claims: Pick<LicenseClaims, 'expires' | 'graceDays'>): Date | null {
  return graceUntil(claims) ?? claims.expires;
}

/** Expired, but its grace has not ended: it still counts (docs/licenses.md#grace-period). */
export function isInGrace(license: LicenseRecord, now: Date): boolean {
  const until = graceUntil(license.claims);
  return isExpired(license, now) && until !== null && now.getTime() < until.getTime();
}

/** `expires`, and the grace after it, have passed. */
function isPastGrace(license: LicenseRecord, now: Date): boolean {
  const until = inForceUntil(license.claims);
  return until !== null && now.getTime() >= until.getTime();
}

export function hasStarted(license: LicenseRecord, now: Date): boolean {
  return license.claims.startsAt === null || now.getTime() >= license.claims.startsAt.getTime();
}

/**
 * In force: not deleted, not invalidated, started, and not expired or still in its grace
 * (docs/licenses.md).
 */
export function isActive(license: LicenseRecord, now: Date): boolean {
  return !license.deleted && !license.invalidated && hasStarted(license, now) && !isPastGrace(license, now);
}

/**
 * Expired but still standing: its `noticeOnExpire` shows (in grace too), and once its grace has
 * ended its `hardExpiration` can block.
 */
export function isLapsed(license: LicenseRecord, now: Date): boolean {
  return !license.deleted && !license.invalidated && isExpired(license, now);
}

export type LicenseState = 'active' | 'grace' | 'scheduled' | 'expired' | 'invalidated' | 'deleted';

export function licenseState(license: LicenseRecord, now: Date): LicenseState {
  if (license.deleted) return 'deleted';
  if (license.invalidated) return 'invalidated';
  if (isInGrace(license, now)) return 'grace';
  if (isExpired(license, now)) return 'expired';
  if (!hasStarted(license, now)) return 'scheduled';
  return 'active';
}

export interface Notice {
  kind: 'notice' | 'noticeOnExpire';
  text: string;
  licenseId: number;
}

/** What all active licenses grant together (docs/licenses.md: licenses stack). */
export interface EffectiveLicense {
  hardSeats: number;
  licenseSeats: number;
  features: Record<string, FeatureClaim>;
  handlers: Record<string, Record<string, unknown>>;
  dataAccessBlocked: boolean;
  notices: Notice[];
  /**
   * The earliest `expires` still ahead among active licenses; null when none is active or all are
   * perpetual or in grace.
   */
  nextExpiry: Date | null;
  /** How many licenses are in force. */
  activeLicenses: number;
  /**
   * Licenses in force in their grace: the earliest end of grace among them, and their uuids in id
   * order; null when none is in grace (docs/licenses.md#grace-period).
   */
  grace: { until: Date; licenses: string[] } | null;
}

/**
 * Data access is blocked while no license is in force and a lapsed one has `hardExpiration`
 * (docs/licenses.md#data-access-blocked); a lapsed license with hardExpiration that is still in
 * force is in its grace and blocks nothing yet. The effective license's `dataAccessBlocked`, and the
 * scheduler's data access turns, which need only this.
 */
export function dataAccessBlockedAt(licenses: readonly LicenseRecord[], now: Date): boolean {
  return (
    !licenses.some((l) => isActive(l, now)) &&
    licenses.some((l) => l.claims.hardExpiration && isLapsed(l, now))
  );
}

/**
 * Computes the effective license over every stored license at `now`. Licenses are taken in id
 * order, so where two licenses describe the same handler the later one's description wins; a
 * feature is enabled when any active license enables it.
 */
export function effectiveLicense(licenses: readonly LicenseRecord[], now: Date): EffectiveLicense {
  const ordered = [...licenses].sort((a, b) => a.id - b.id);
  const active = ordered.filter((l) => isActive(l, now));
  const lapsed = ordered.filter((l) => isLapsed(l, now));

  const totals: InForceTotals = {
    hardSeats: 0,
    licenseSeats: 0,
    features: new Map(),
    handlers: new Map(),
    nextExpiry: null,
    grace: null,
  };
  for (const license of active) addInForce(totals, license, now);

  const seen = new Set<string>();
  const notices: Notice[] = [];
  const addNotice = (kind: Notice['kind'], text: string | null, licenseId: number): void => {
    // The same text from two licenses is shown once: a login page is not a log.
    if (text === null || text.trim() === '' || seen.has(`${kind}\n${text}`)) return;
    seen.add(`${kind}\n${text}`);
    notices.push({ kind, text, licenseId });
  };
  // A license in grace is expired: its noticeOnExpire shows, not its notice.
  for (const license of active)
    if (!isExpired(license, now)) addNotice('notice', license.claims.notice, license.id);
  for (const license of lapsed) addNotice('noticeOnExpire', license.claims.noticeOnExpire, license.id);

  return {
    hardSeats: totals.hardSeats,
    licenseSeats: totals.licenseSeats,
    features: Object.fromEntries(totals.features),
    handlers: Object.fromEntries(totals.handlers),
    dataAccessBlocked: dataAccessBlockedAt(ordered, now),
    notices,
    nextExpiry: totals.nextExpiry,
    activeLicenses: active.length,
    grace: totals.grace,
  };
}

/** What the licenses in force add up to, folded in id order (effectiveLicense, stackLicense). */
export interface InForceTotals {
  hardSeats: number;
  licenseSeats: number;
  features: Map<string, FeatureClaim>;
  handlers: Map<string, Record<string, unknown>>;
  nextExpiry: Date | null;
  grace: EffectiveLicense['grace'];
}

/**
 * Adds one license in force at `now` to `totals`, after every license of a lower id: its seats,
 * its features (enabled when any license enables them), its handlers (the later license's
 * description wins), and its expiry or its grace. Maps, not object writes, so that a feature named
 * "__proto__" stays an ordinary key.
 */
export function addInForce(totals: InForceTotals, license: LicenseRecord, now: Date): void {
  const { claims } = license;
  totals.hardSeats += claims.seats;
  totals.licenseSeats += claims.seats + claims.softSeats;
  for (const [name, feature] of Object.entries(claims.features)) {
    const enabled = feature.enabled || totals.features.get(name)?.enabled === true;
    totals.features.set(name, { enabled });
  }
  for (const [name, handler] of Object.entries(claims.handlers)) totals.handlers.set(name, handler);
  const { grace, nextExpiry } = totals;
  if (isInGrace(license, now)) {
    const until = graceUntil(claims) as Date;
    totals.grace = {
      until: grace && grace.until < until ? grace.until : until,
      licenses: [...(grace?.licenses ?? []), license.uuid],
    };
  } else if (claims.expires && (!nextExpiry || claims.expires < nextExpiry))
    totals.nextExpiry = claims.expires;
}

/**
 * The instants around `now` at which the effective license can change by itself: the latest
 * `startsAt`, `expires` or end of grace at or before `now` and the earliest after it, over the
 * licenses that are not deleted or invalidated. The effective license computed at `now` holds for every instant in
 * [from, until); null is unbounded.
 */
export function licenseTimeBounds(
  licenses: readonly LicenseRecord[],
  now: Date,
): { from: number | null; until: number | null } {
  const ms = now.getTime();
  let from: number | null = null;
  let until: number | null = null;
  for (const license of licenses) {
    if (license.deleted || license.invalidated) continue;
    for (const at of [license.claims.startsAt, license.claims.expires, graceUntil(license.claims)]) {
      if (at === null) continue;
      const t = at.getTime();
      if (t <= ms) from = from === null ? t : Math.max(from, t);
      else until = until === null ? t : Math.min(until, t);
    }
  }
  return { from, until };
}

/** The seed's `licenseStatus` fields. */
export interface SeatStatus {
  activeUserCount: number;
  licenseSeats: number;
  canAddUser: boolean;
  hardSeats: number;
}

/**
 * The seed's fields; `canAddUser` is whether the next user gets a seat under `limit` (the seat
 * limit of seat-policy.ts; licenseSeats when no cap applies).
 */
export function seatStatus(
  effective: EffectiveLicense,
  activeUserCount: number,
  limit: number = effective.licenseSeats,
): SeatStatus {
  return {
    activeUserCount,
    licenseSeats: effective.licenseSeats,
    canAddUser: activeUserCount < limit,
    hardSeats: effective.hardSeats,
  };
}

/**
 * Refuses a key whose time claims make it unusable now: expired and past its grace (its own code),
 * or generated in the future beyond the allowed clock skew. A key with a future `startsAt` is
 * accepted and waits; an expired key still in its grace is accepted, so a late renewal can be added.
 */
export function checkKeyTimes(claims: LicenseClaims, now: Date): void {
  const until = inForceUntil(claims);
  if (claims.expires && until && now.getTime() >= until.getTime())
    throw new LicensorError(
      'LICENSE_EXPIRED',
      claims.graceDays > 0
        ? `the license expired at ${claims.expires.toISOString()} and its ${claims.graceDays} days of grace ended at ${until.toISOString()}`
        : `the license expired at ${claims.expires.toISOString()}`,
    );
  if (claims.createdAt.getTime() > now.getTime() + CREATED_AT_SKEW_MS)
    throw new LicensorError(
      'LICENSE_NOT_YET_VALID',
      `the license was created in the future (${claims.createdAt.toISOString()}); check the clocks of the issuer and this server`,
    );
}

/**
 * The re-add rules (docs/licenses.md), given every stored record with the new key's uuid. A store calls this
 * inside the transaction that inserts, so the decision and the write are one step.
 */
export function checkCanAdd(uuid: string, sameUuid: readonly LicenseRecord[]): void {
  const live = sameUuid.find((l) => !l.deleted);
  if (live)
    throw new LicensorError(
      'LICENSE_ALREADY_EXISTS',
      `a license with uuid "${uuid}" is already added (id ${live.id})`,
    );
  if (sameUuid.some((l) => l.deleted && l.claims.hardDelete))
    throw new LicensorError(
      'LICENSE_HARD_DELETED',
      `the license with uuid "${uuid}" was deleted with hardDelete and can never be added again`,
    );
}
