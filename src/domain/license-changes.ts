import { changeAudit, type AuditDraft } from './changes.js';
import {
  dataAccessEvents,
  seatFigures,
  seatThresholdLevels,
  seatThresholds,
  type EventDraft,
} from './events.js';
import type { LicenseClaims } from './license-claims.js';
import { LicenseList } from './license-list.js';
import { licenseView } from './license-view.js';
import { checkCanAdd, effectiveLicense, type EffectiveLicense, type LicenseRecord } from './license.js';

/**
 * License changes, decided here and executed by each store in one transaction (docs/licenses.md):
 * the re-add rules before the insert, then the audit entry and events once the row exists.
 */

/** A verified license key ready to be stored. */
export interface NewLicense {
  licenseKey: string;
  payload: Record<string, unknown>;
  claims: LicenseClaims;
}

/**
 * The re-add rules (checkCanAdd) over every stored record with the key's uuid; answers the uuids
 * whose live licenses the new one invalidates.
 */
export function planAddLicense(
  license: NewLicense,
  sameUuid: readonly LicenseRecord[],
): { supersede: string[] } {
  checkCanAdd(license.claims.uuid, sameUuid);
  return { supersede: license.claims.supersedes };
}

/** The record of `license` stored with `id` at `now`, as the store's row reads back. */
export function storedLicense(license: NewLicense, id: number, now: Date): LicenseRecord {
  return {
    id,
    uuid: license.claims.uuid,
    licenseKey: license.licenseKey,
    payload: license.payload,
    claims: license.claims,
    updatedAt: now,
    deleted: false,
    invalidated: false,
  };
}

/**
 * The live licenses once `added` is stored and the uuids in `supersede` invalidated, as the
 * store's writes leave them: a store keeps these in memory instead of reading every license back.
 * Without supersedes, `added` is appended in O(1), so the snapshot stacks it onto the effective
 * license it kept (effectiveSpan).
 */
export function licensesAfterAdd(
  liveBefore: LicenseList,
  added: LicenseRecord,
  supersede: readonly string[],
  now: Date,
): LicenseList {
  if (supersede.length === 0) return liveBefore.append(added);
  return LicenseList.of([
    ...liveBefore
      .array()
      .map((l) =>
        supersede.includes(l.uuid) && !l.invalidated ? { ...l, invalidated: true, updatedAt: now } : l,
      ),
    added,
  ]);
}

/** The live licenses once the license with `id` is deleted. */
export function licensesAfterDelete(liveBefore: LicenseList, id: number): LicenseList {
  return LicenseList.of(liveBefore.array().filter((l) => l.id !== id));
}

/** What the store read, in the change's transaction, to produce the change's events. */
export interface LicenseChangeState {
  /** Live (not deleted) licenses before the change, and after it. */
  liveBefore: LicenseList;
  liveAfter: LicenseList;
  activeUserCount: number;
  firedThresholds: readonly number[];
}

export interface LicenseChangeEffects {
  audit: AuditDraft;
  events: EventDraft[];
  firedThresholds: number[];
}

/**
 * The audit entry and events of a license added or deleted: `license.added` or `license.deleted`
 * with the license as the API shows it, `data_access.*` when data access turns over, and
 * `seats.threshold` when fewer seats put the active users over a threshold.
 */
export function licenseChangeEffects(
  kind: 'added' | 'deleted',
  license: LicenseRecord,
  state: LicenseChangeState,
  now: Date,
  /** The effective license at `now`; a store passes its memoised one (it costs O(licenses)). */
  effectiveOf: (licenses: LicenseList) => EffectiveLicense = (l) => effectiveLicense(l.array(), now),
): LicenseChangeEffects {
  const before = effectiveOf(state.liveBefore);
  const after = effectiveOf(state.liveAfter);
  const figures = seatFigures(after, state.activeUserCount);
  const thresholds = seatThresholds(state.firedThresholds, state.activeUserCount, figures);
  return {
    audit: changeAudit(
      kind === 'added' ? 'license.add' : 'license.delete',
      'license',
      license.id,
      license.claims.licensee?.name ?? license.uuid,
    ),
    events: [
      {
        type: kind === 'added' ? 'license.added' : 'license.deleted',
        data: { ...licenseView(license, now) },
      },
      ...dataAccessEvents(before, after, figures),
      ...thresholds.events,
    ],
    firedThresholds: thresholds.fired,
  };
}

/** The active user counts, before and after, at which a run of adds decides the same. */
export interface AddCountRange {
  minCount: number;
  maxCount: number;
}

/**
 * The active user counts at which license adds decided at `count` decide exactly the same
 * (docs/licenses.md#guarded-adds), or undefined when they must be decided at the count read under
 * the lock: when an add has an event besides its `license.added` (a `seats.threshold` or
 * `data_access.*` event names the count itself). `adds` are the adds in order, each with its
 * effects and the licensed seats of the effective license it leaves. An add moves no user, so
 * seatThresholds() compares one count with each level of those seats, to re-arm a threshold and to
 * fire one: every count on the same side of every level decides the same.
 */
export function guardedAddCounts(
  count: number,
  adds: readonly { effects: LicenseChangeEffects; licenseSeatsAfter: number }[],
): AddCountRange | undefined {
  let minCount = 0;
  let maxCount = Number.MAX_SAFE_INTEGER;
  for (const { effects, licenseSeatsAfter } of adds) {
    if (effects.events.length !== 1) return undefined;
    if (licenseSeatsAfter === 0) continue;
    for (const level of seatThresholdLevels(licenseSeatsAfter)) {
      if (level <= count) minCount = Math.max(minCount, level);
      else maxCount = Math.min(maxCount, level - 1);
    }
  }
  return { minCount, maxCount };
}
