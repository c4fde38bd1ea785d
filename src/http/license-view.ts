import type { Static } from 'typebox';
import { isExpired, licenseState, type LicenseRecord } from '../domain/license.js';
import type { License, LicenseListItem } from './schemas/license-schemas.js';

function iso(date: Date | null): string | null {
  return date === null ? null : date.toISOString();
}

/** A license as GET /admin/license lists it: the seed's list fields and extras, never the key. */
export function licenseListView(license: LicenseRecord, now: Date): Static<typeof LicenseListItem> {
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
  };
}

/** A license as POST and DELETE return it: every field of the seed's examples. */
export function licenseView(license: LicenseRecord, now: Date): Static<typeof License> {
  return {
    ...licenseListView(license, now),
    licenseKey: license.licenseKey,
    renewalToken: license.claims.renewalToken,
    classifyUsername: null,
    classifyToken: null,
    claims: license.payload,
  };
}
