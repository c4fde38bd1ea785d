import type { Static } from 'typebox';
import type { LicenseImpact } from '../domain/license-impact.js';
import * as views from '../domain/license-view.js';
import type { EffectiveLicense, LicenseRecord } from '../domain/license.js';
import type {
  Grace,
  License,
  LicenseImpact as LicenseImpactSchema,
  LicenseListItem,
} from './schemas/license-schemas.js';

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
  return { license, ...rest };
}

/** The effective license's grace as status and entitlements show it (docs/licenses.md#grace-period). */
export function graceView(effective: EffectiveLicense): Static<typeof Grace> {
  const { grace } = effective;
  return grace === null ? null : { until: grace.until.toISOString(), licenses: grace.licenses };
}
