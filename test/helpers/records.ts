import { parseLicenseClaims } from '../../src/domain/license-claims.js';
import type { LicenseRecord } from '../../src/domain/license.js';

/** A stored license record built straight from a payload, for the pure domain rules. */
export function licenseRecord(
  id: number,
  payload: Record<string, unknown>,
  state: { deleted?: boolean; invalidated?: boolean } = {},
): LicenseRecord {
  const claims = parseLicenseClaims(payload);
  return {
    id,
    uuid: claims.uuid,
    licenseKey: `key-${id}`,
    payload,
    claims,
    updatedAt: new Date('2026-01-01T00:00:00.000Z'),
    deleted: state.deleted ?? false,
    invalidated: state.invalidated ?? false,
  };
}

/** `record` with its claims counting how often they are read: a test sees what a rule looked at. */
export function countingClaimReads(record: LicenseRecord): { license: LicenseRecord; reads: () => number } {
  let reads = 0;
  const license = {
    ...record,
    get claims() {
      reads++;
      return record.claims;
    },
  };
  return { license, reads: () => reads };
}
