import type { Static } from 'typebox';
import type { LicenseChangeAhead, LicenseImpact } from '../domain/license-impact.js';
import type { Licensee } from '../domain/license-claims.js';
import * as views from '../domain/license-view.js';
import type { EffectiveLicense, LicenseRecord } from '../domain/license.js';
import type {
  Grace,
  License,
  LicenseImpact as LicenseImpactSchema,
  LicenseListItem,
  Upcoming,
} from '../api/license-schemas.js';

/** The domain's views, checked against the wire schemas: a drift between them does not compile. */
export const licenseListView: (license: LicenseRecord, now: Date) => Static<typeof LicenseListItem> =
  views.licenseListView;
export const licenseView: (license: LicenseRecord, now: Date) => Static<typeof License> = views.licenseView;

/** A dry run's answer: the impact, with its subject as the list views show a license. */
export function impactView(impact: LicenseImpact, now: Date): Static<typeof LicenseImpactSchema> {
  const { subject, ...rest } = impact;
  let license: Static<typeof LicenseImpactSchema>['license'] = null;
  if (subject !== null) {
    const { id, deleted: _d, invalidated: _i, expired: _e, ...fields } = licenseListView(subject.record, now);
    license = { id: subject.stored ? id : null, ...fields };
  }
  const { atStart } = rest;
  return { license, ...rest, atStart: atStart && { ...atStart, at: atStart.at.toISOString() } };
}

/** A license named in a change ahead. */
export function licenseRef(license: LicenseRecord): {
  id: number;
  uuid: string;
  licensee: Licensee | null;
  hardExpiration: boolean;
  hardDelete: boolean;
} {
  const { licensee, hardExpiration, hardDelete } = license.claims;
  return { id: license.id, uuid: license.uuid, licensee, hardExpiration, hardDelete };
}

/** GET /admin/license/upcoming. */
export function upcomingView(
  changes: readonly LicenseChangeAhead[],
  from: Date,
  until: Date,
): Static<typeof Upcoming> {
  return {
    from: from.toISOString(),
    until: until.toISOString(),
    changes: changes.map(({ starting, expiring, at, ...shift }) => ({
      at: at.toISOString(),
      ...shift,
      starting: starting.map(licenseRef),
      expiring: expiring.map(licenseRef),
    })),
  };
}

/** The effective license's grace as status and entitlements show it (docs/licenses.md#grace-period). */
export function graceView(effective: EffectiveLicense): Static<typeof Grace> {
  const { grace } = effective;
  return grace === null ? null : { until: grace.until.toISOString(), licenses: grace.licenses };
}
