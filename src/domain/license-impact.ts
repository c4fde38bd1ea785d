import { ERROR_STATUS, LicensorError, type ErrorCode } from './errors.js';
import type { LicenseClaims } from './license-claims.js';
import {
  checkCanAdd,
  checkKeyTimes,
  effectiveLicense,
  seatStatus,
  type EffectiveLicense,
  type LicenseRecord,
} from './license.js';

/**
 * The ways a key can be refused for a reason of the key itself (verification, its time claims) or
 * of the re-add rules. A dry run reports these as its answer instead of failing.
 */
export const KEY_REFUSAL_CODES = [
  'MALFORMED_LICENSE_KEY',
  'UNSUPPORTED_ALGORITHM',
  'UNSUPPORTED_KEY_HEADER',
  'UNTRUSTED_ISSUER',
  'INVALID_SIGNATURE',
  'INVALID_CLAIMS',
  'LICENSE_KEY_TOO_LARGE',
  'LICENSE_EXPIRED',
  'LICENSE_NOT_YET_VALID',
  'LICENSE_ALREADY_EXISTS',
  'LICENSE_HARD_DELETED',
] as const satisfies ErrorCode[];

export type KeyRefusalCode = (typeof KEY_REFUSAL_CODES)[number];

export interface KeyRefusal {
  code: KeyRefusalCode;
  /** The status POST /admin/license would answer with. */
  status: number;
  detail: string;
}

/** Whether `err` is a refusal of a key (rather than, say, a database that cannot be reached). */
export function isKeyRefusal(err: unknown): err is LicensorError & { code: KeyRefusalCode } {
  return err instanceof LicensorError && (KEY_REFUSAL_CODES as readonly string[]).includes(err.code);
}

export function keyRefusal(err: LicensorError & { code: KeyRefusalCode }): KeyRefusal {
  return { code: err.code, status: ERROR_STATUS[err.code], detail: err.detail };
}

/** The seats and state of the effective license at one instant, with the active user count. */
export interface LicenseSnapshot {
  hardSeats: number;
  licenseSeats: number;
  canAddUser: boolean;
  /** Active users above the hard seats. */
  overage: number;
  dataAccessBlocked: boolean;
  activeLicenses: number;
  /** The earliest end of grace among licenses in force in their grace, ISO 8601; null when none. */
  graceUntil: string | null;
}

/** What adding or deleting a license would change, computed without changing anything. */
export interface LicenseImpact {
  /** The license the change is about: the candidate (not stored yet) or the one to delete. */
  subject: { record: LicenseRecord; stored: boolean } | null;
  /** Why the change would be refused; then `after` equals `before` and nothing is gained or lost. */
  refusal: KeyRefusal | null;
  activeUserCount: number;
  before: LicenseSnapshot;
  after: LicenseSnapshot;
  /** Feature names enabled after but not before, and the reverse; sorted. */
  featuresGained: string[];
  featuresLost: string[];
  /** Handler names covered after but not before, and the reverse; sorted. */
  handlersGained: string[];
  handlersLost: string[];
  /** Stored licenses the candidate's `supersedes` would invalidate, in id order. */
  invalidates: { id: number; uuid: string }[];
  /** Active users beyond the license seats afterwards: the users that hold no seat any more. */
  usersOverLimitAfter: number;
  /**
   * For a key that starts later (`startsAt` in the future): what changes on its start date, when
   * it comes into force. Null otherwise, and for a refusal.
   */
  atStart: LicenseShift | null;
}

/** What changes at one instant `at`: the effective license just before it against at it. */
export interface LicenseShift {
  at: Date;
  before: LicenseSnapshot;
  after: LicenseSnapshot;
  featuresGained: string[];
  featuresLost: string[];
  handlersGained: string[];
  handlersLost: string[];
  /** With today's active users: those beyond the license seats from `at` on. */
  usersOverLimitAfter: number;
}

/** A key that verified: its uuid and claims, as POST /admin/license would store them. */
export interface LicenseCandidate {
  licenseKey: string;
  payload: Record<string, unknown>;
  claims: LicenseClaims;
}

function snapshot(effective: EffectiveLicense, activeUserCount: number): LicenseSnapshot {
  const seats = seatStatus(effective, activeUserCount);
  return {
    hardSeats: seats.hardSeats,
    licenseSeats: seats.licenseSeats,
    canAddUser: seats.canAddUser,
    overage: Math.max(0, activeUserCount - effective.hardSeats),
    dataAccessBlocked: effective.dataAccessBlocked,
    activeLicenses: effective.activeLicenses,
    graceUntil: effective.grace?.until.toISOString() ?? null,
  };
}

function enabledFeatures(effective: EffectiveLicense): Set<string> {
  return new Set(
    Object.entries(effective.features)
      .filter(([, feature]) => feature.enabled)
      .map(([name]) => name),
  );
}

function minus(a: Set<string>, b: Set<string>): string[] {
  return [...a].filter((name) => !b.has(name)).sort();
}

function compare(
  before: readonly LicenseRecord[],
  after: readonly LicenseRecord[],
  activeUserCount: number,
  now: Date,
  afterNow: Date = now,
): Omit<LicenseImpact, 'subject' | 'refusal' | 'invalidates' | 'atStart'> {
  const was = effectiveLicense(before, now);
  const will = effectiveLicense(after, afterNow);
  const [featuresBefore, featuresAfter] = [enabledFeatures(was), enabledFeatures(will)];
  const [handlersBefore, handlersAfter] = [
    new Set(Object.keys(was.handlers)),
    new Set(Object.keys(will.handlers)),
  ];
  const afterSnapshot = snapshot(will, activeUserCount);
  return {
    activeUserCount,
    before: snapshot(was, activeUserCount),
    after: afterSnapshot,
    featuresGained: minus(featuresAfter, featuresBefore),
    featuresLost: minus(featuresBefore, featuresAfter),
    handlersGained: minus(handlersAfter, handlersBefore),
    handlersLost: minus(handlersBefore, handlersAfter),
    usersOverLimitAfter: Math.max(0, activeUserCount - afterSnapshot.licenseSeats),
  };
}

/**
 * A key that could not be verified at all: nothing would change. The refusal is the error that
 * verification threw.
 */
export function refusedKeyImpact(
  stored: readonly LicenseRecord[],
  refusal: LicensorError & { code: KeyRefusalCode },
  activeUserCount: number,
  now: Date,
): LicenseImpact {
  return {
    subject: null,
    refusal: keyRefusal(refusal),
    invalidates: [],
    atStart: null,
    ...compare(stored, stored, activeUserCount, now),
  };
}

/**
 * What adding a verified key would change, given every stored license (deleted ones included, for
 * the re-add rules). Applies the same rules in the same order as adding does: the key's time
 * claims (checkKeyTimes), then the re-add rules (checkCanAdd); a refusal by either changes
 * nothing. Otherwise the key is stored with the next id and then invalidates every live license
 * whose uuid its `supersedes` names, as the stores do in one transaction.
 */
export function additionImpact(
  stored: readonly LicenseRecord[],
  candidate: LicenseCandidate,
  activeUserCount: number,
  now: Date,
): LicenseImpact {
  const { claims } = candidate;
  const record: LicenseRecord = {
    id: stored.reduce((max, l) => Math.max(max, l.id), 0) + 1,
    uuid: claims.uuid,
    licenseKey: candidate.licenseKey,
    payload: candidate.payload,
    claims,
    updatedAt: now,
    deleted: false,
    invalidated: false,
  };
  try {
    checkKeyTimes(claims, now);
    checkCanAdd(
      claims.uuid,
      stored.filter((l) => l.uuid === claims.uuid),
    );
  } catch (err) {
    if (!isKeyRefusal(err)) throw err;
    return {
      subject: { record, stored: false },
      refusal: keyRefusal(err),
      invalidates: [],
      atStart: null,
      ...compare(stored, stored, activeUserCount, now),
    };
  }
  const superseded = new Set(claims.supersedes);
  const isSuperseded = (l: LicenseRecord) => superseded.has(l.uuid) && !l.deleted && !l.invalidated;
  const after = [...stored, record].map((l) =>
    isSuperseded(l) ? { ...l, invalidated: true, updatedAt: now } : l,
  );
  const { startsAt } = claims;
  return {
    subject: { record: after.at(-1) ?? record, stored: false },
    refusal: null,
    invalidates: stored.filter(isSuperseded).map((l) => ({ id: l.id, uuid: l.uuid })),
    ...compare(stored, after, activeUserCount, now),
    atStart: startsAt !== null && startsAt > now ? shiftAt(after, activeUserCount, startsAt) : null,
  };
}

/**
 * What deleting license `id` would change. LICENSE_NOT_FOUND, as deleting would answer, when there
 * is no such license or it is already deleted.
 */
export function deletionImpact(
  stored: readonly LicenseRecord[],
  id: number,
  activeUserCount: number,
  now: Date,
): LicenseImpact {
  const target = stored.find((l) => l.id === id && !l.deleted);
  if (target === undefined) throw new LicensorError('LICENSE_NOT_FOUND', `no license with id ${id}`);
  const after = stored.map((l) => (l === target ? { ...l, deleted: true, updatedAt: now } : l));
  return {
    subject: { record: target, stored: true },
    refusal: null,
    invalidates: [],
    atStart: null,
    ...compare(stored, after, activeUserCount, now),
  };
}

/**
 * What changes at `at` by itself (licenses starting or expiring then): the effective license one
 * millisecond before against at `at`, with `activeUserCount` users.
 */
export function shiftAt(licenses: readonly LicenseRecord[], activeUserCount: number, at: Date): LicenseShift {
  const { activeUserCount: _count, ...shift } = compare(
    licenses,
    licenses,
    activeUserCount,
    new Date(at.getTime() - 1),
    at,
  );
  return { at, ...shift };
}

/** A change ahead: the instant, the licenses that start or expire then, and what changes. */
export interface LicenseChangeAhead extends LicenseShift {
  starting: LicenseRecord[];
  expiring: LicenseRecord[];
}

/**
 * Every instant after `now` and up to `until` at which a license that is neither deleted nor
 * invalidated starts or expires, in time order, with what changes then (docs/licenses.md#changes-ahead).
 * An expiry whose license has hardExpiration and leaves no license active shows as
 * `after.dataAccessBlocked`.
 */
export function changesAhead(
  licenses: readonly LicenseRecord[],
  activeUserCount: number,
  now: Date,
  until: Date,
): LicenseChangeAhead[] {
  const live = licenses.filter((l) => !l.deleted && !l.invalidated);
  const instants = new Set<number>();
  for (const l of live)
    for (const t of [l.claims.startsAt, l.claims.expires])
      if (t !== null && t > now && t <= until) instants.add(t.getTime());
  return [...instants]
    .sort((a, b) => a - b)
    .map((t) => ({
      ...shiftAt(live, activeUserCount, new Date(t)),
      starting: live.filter((l) => l.claims.startsAt?.getTime() === t),
      expiring: live.filter((l) => l.claims.expires?.getTime() === t),
    }));
}
