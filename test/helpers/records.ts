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
