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

export function hasStarted(license: LicenseRecord, now: Date): boolean {
  return license.claims.startsAt === null || now.getTime() >= license.claims.startsAt.getTime();
}

/** Not deleted, not invalidated, started, not expired (docs/licenses.md). */
export function isActive(license: LicenseRecord, now: Date): boolean {
  return !license.deleted && !license.invalidated && hasStarted(license, now) && !isExpired(license, now);
}

/** Expired but still standing: its `noticeOnExpire` shows and its `hardExpiration` can block. */
function isLapsed(license: LicenseRecord, now: Date): boolean {
  return !license.deleted && !license.invalidated && isExpired(license, now);
}

export type LicenseState = 'active' | 'scheduled' | 'expired' | 'invalidated' | 'deleted';

export function licenseState(license: LicenseRecord, now: Date): LicenseState {
  if (license.deleted) return 'deleted';
  if (license.invalidated) return 'invalidated';
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
  /** The earliest `expires` among active licenses; null when none is active or all are perpetual. */
  nextExpiry: Date | null;
  activeLicenseIds: number[];
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

  const features = new Map<string, FeatureClaim>();
  const handlers = new Map<string, Record<string, unknown>>();
  let hardSeats = 0;
  let licenseSeats = 0;
  let nextExpiry: Date | null = null;
  for (const license of active) {
    const { claims } = license;
    hardSeats += claims.seats;
    licenseSeats += claims.seats + claims.softSeats;
    for (const [name, feature] of Object.entries(claims.features)) {
      const enabled = feature.enabled || features.get(name)?.enabled === true;
      features.set(name, { enabled });
    }
    for (const [name, handler] of Object.entries(claims.handlers)) handlers.set(name, handler);
    if (claims.expires && (!nextExpiry || claims.expires < nextExpiry)) nextExpiry = claims.expires;
  }

  const seen = new Set<string>();
  const notices: Notice[] = [];
  const addNotice = (kind: Notice['kind'], text: string | null, licenseId: number): void => {
    // The same text from two licenses is shown once: a login page is not a log.
    if (text === null || text.trim() === '' || seen.has(`${kind}\n${text}`)) return;
    seen.add(`${kind}\n${text}`);
    notices.push({ kind, text, licenseId });
  };
  for (const license of active) addNotice('notice', license.claims.notice, license.id);
  for (const license of lapsed) addNotice('noticeOnExpire', license.claims.noticeOnExpire, license.id);

  return {
    hardSeats,
    licenseSeats,
    features: Object.fromEntries(features),
    handlers: Object.fromEntries(handlers),
    dataAccessBlocked: active.length === 0 && lapsed.some((l) => l.claims.hardExpiration),
    notices,
    nextExpiry,
    activeLicenseIds: active.map((l) => l.id),
  };
}

/**
 * The instants around `now` at which the effective license can change by itself: the latest
 * `startsAt` or `expires` at or before `now` and the earliest after it, over the licenses that are
 * not deleted or invalidated. The effective license computed at `now` holds for every instant in
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
    for (const at of [license.claims.startsAt, license.claims.expires]) {
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

export function seatStatus(effective: EffectiveLicense, activeUserCount: number): SeatStatus {
  return {
    activeUserCount,
    licenseSeats: effective.licenseSeats,
    canAddUser: activeUserCount < effective.licenseSeats,
    hardSeats: effective.hardSeats,
  };
}

/**
 * Refuses a key whose time claims make it unusable now: expired (its own code), or generated in
 * the future beyond the allowed clock skew. A key with a future `startsAt` is accepted and waits.
 */
export function checkKeyTimes(claims: LicenseClaims, now: Date): void {
  if (claims.expires && now.getTime() >= claims.expires.getTime())
    throw new LicensorError('LICENSE_EXPIRED', `the license expired at ${claims.expires.toISOString()}`);
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
