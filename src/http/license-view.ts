import type { Static } from 'typebox';
import type { LicenseImpact } from '../domain/license-impact.js';
import { isExpired, licenseState, type LicenseRecord } from '../domain/license.js';
import type {
  License,
  LicenseImpact as LicenseImpactSchema,
  LicenseListItem,
} from './schemas/license-schemas.js';

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

/** A dry run's answer: the impact, with its subject as the list views show a license. */
export function impactView(impact: LicenseImpact, now: Date): Static<typeof LicenseImpactSchema> {
  const { subject, ...rest } = impact;
  let license: Static<typeof LicenseImpactSchema>['license'] = null;
  if (subject !== null) {
    const { id, deleted: _d, invalidated: _i, expired: _e, ...fields } = licenseListView(subject.record, now);
    license = { id: subject.stored ? id : null, ...fields };
  }
  return { license, ...rest };
}
