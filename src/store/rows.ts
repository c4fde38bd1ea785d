import { parseLicenseClaims } from '../domain/license-claims.js';
import type { LicenseRecord } from '../domain/license.js';
import { isPermission } from '../domain/permissions.js';
import type { TokenRecord } from './store.js';

/**
 * Row shapes shared by both databases: SQLite hands back 0/1 and ISO text, PostgreSQL booleans,
 * Date objects and parsed JSON. These turn either into domain records.
 */
export interface LicenseRow {
  id: number | string;
  uuid: string;
  license_key: string;
  payload: string | Record<string, unknown>;
  updated_at: string | Date;
  deleted: number | boolean;
  invalidated: number | boolean;
}

export interface TokenRow {
  id: number | string;
  name: string;
  permissions: string | unknown[];
  created_at: string | Date;
  revoked_at: string | Date | null;
  bootstrap: number | boolean;
}

function asObject(value: string | Record<string, unknown>): Record<string, unknown> {
  return typeof value === 'string' ? (JSON.parse(value) as Record<string, unknown>) : value;
}

export function licenseFromRow(row: LicenseRow): LicenseRecord {
  const payload = asObject(row.payload);
  return {
    id: Number(row.id),
    uuid: row.uuid,
    licenseKey: row.license_key,
    payload,
    // The payload was verified when it was stored; parsing again gives typed claims.
    claims: parseLicenseClaims(payload),
    updatedAt: new Date(row.updated_at),
    deleted: Boolean(row.deleted),
    invalidated: Boolean(row.invalidated),
  };
}

export function tokenFromRow(row: TokenRow): TokenRecord {
  const permissions = (
    typeof row.permissions === 'string' ? (JSON.parse(row.permissions) as unknown[]) : row.permissions
  ).filter(isPermission);
  return {
    id: Number(row.id),
    name: row.name,
    permissions,
    createdAt: new Date(row.created_at),
    revokedAt: row.revoked_at === null ? null : new Date(row.revoked_at),
    bootstrap: Boolean(row.bootstrap),
  };
}
