import { graceUntil, isExpired, licenseState, type LicenseRecord, type LicenseState } from './license.js';
import type { FeatureClaim, Licensee } from './license-claims.js';

/**
 * A license as the API shows it, with the seed's field names (docs/immuta-compatibility.md). Pure,
 * so events (whose `license.*` data is the license as `GET /admin/license/{id}` returns it) and
 * routes show one shape.
 */
export interface LicenseListFields {
  id: number;
  uuid: string;
  features: Record<string, FeatureClaim>;
  handlers: Record<string, Record<string, unknown>>;
  expires: string | null;
  seats: number;
  createdAt: string;
  notice: string | null;
  noticeOnExpire: string | null;
  softSeats: number;
  hardExpiration: boolean;
  hardDelete: boolean;
  deleted: boolean;
  invalidated: boolean;
  expired: boolean;
  updatedAt: string;
  startsAt: string | null;
  supersedes: string[];
  licensee: Licensee | null;
  state: LicenseState;
  graceDays: number;
  /** When the grace after `expires` ends; null without one (docs/licenses.md#grace-period). */
  graceUntil: string | null;
}

export interface LicenseFields extends LicenseListFields {
  licenseKey: string;
  renewalToken: string | null;
  classifyUsername: null;
  classifyToken: null;
  claims: Record<string, unknown>;
}

function iso(date: Date | null): string | null {
  return date === null ? null : date.toISOString();
}

/** A license as GET /admin/license lists it: the seed's list fields and extras, never the key. */
export function licenseListView(license: LicenseRecord, now: Date): LicenseListFields {
  const { claims } = license;
  return {
    id: license.id,
    uuid: license.uuid,
    features: claims.features,
    handlers: claims.handlers,
    expires: iso(claims.expires),
    seats: claims.seats,
    createdAt: claims.createdAt.toISOString(),
    notice: claims.notice,
    noticeOnExpire: claims.noticeOnExpire,
    softSeats: claims.softSeats,
    hardExpiration: claims.hardExpiration,
    hardDelete: claims.hardDelete,
    deleted: license.deleted,
    invalidated: license.invalidated,
    expired: isExpired(license, now),
    updatedAt: license.updatedAt.toISOString(),
    startsAt: iso(claims.startsAt),
    supersedes: claims.supersedes,
    licensee: claims.licensee,
    state: licenseState(license, now),
    graceDays: claims.graceDays,
    graceUntil: iso(graceUntil(claims)),
  };
}

/** A license as POST, GET by id and DELETE return it: every field of the seed's examples. */
export function licenseView(license: LicenseRecord, now: Date): LicenseFields {
  return {
    ...licenseListView(license, now),
    licenseKey: license.licenseKey,
    renewalToken: license.claims.renewalToken,
    classifyUsername: null,
    classifyToken: null,
    claims: license.payload,
  };
}
