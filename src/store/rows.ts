import { parseLicenseClaims } from '../domain/license-claims.js';
import type { LicenseRecord } from '../domain/license.js';
import { isPermission } from '../domain/permissions.js';
import { searchFold } from '../domain/user-identity.js';
import type { UserRecord, UserType } from '../domain/users.js';
import { randomFillSync } from 'node:crypto';
import { isEventType, type EventRecord } from '../domain/events.js';
import type {
  AuditEntry,
  AuditOutcome,
  AuditQuery,
  AuthFailureCount,
  TokenRecord,
  UsageDay,
} from './store.js';

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

export interface UserRow {
  id: number | string;
  userid: string;
  iamid: string;
  name: string | null;
  email: string | null;
  user_type: string;
  created_at: string | Date;
  last_activity_at: string | Date;
  disabled: number | boolean;
  pending: number | boolean;
}

export function userFromRow(row: UserRow): UserRecord {
  return {
    id: Number(row.id),
    userid: row.userid,
    iamid: row.iamid,
    name: row.name,
    email: row.email,
    userType: row.user_type as UserType,
    createdAt: new Date(row.created_at),
    lastActivityAt: new Date(row.last_activity_at),
    disabled: Boolean(row.disabled),
    pending: Boolean(row.pending),
  };
}

export interface UsageRow {
  day: string | Date;
  peak_active_users: number | string;
  /** NULL on the days recorded before migration 9 (docs/usage-report.md#peaks-by-user-type). */
  peak_data_consumers: number | string | null;
  peak_policy_owners: number | string | null;
  license_seats: number | string;
  hard_seats: number | string;
}

export function usageFromRow(row: UsageRow): UsageDay {
  return {
    day: typeof row.day === 'string' ? row.day : row.day.toISOString().slice(0, 10),
    peakActiveUsers: Number(row.peak_active_users),
    peakByType:
      row.peak_data_consumers === null || row.peak_policy_owners === null
        ? null
        : { dataConsumer: Number(row.peak_data_consumers), policyOwner: Number(row.peak_policy_owners) },
    licenseSeats: Number(row.license_seats),
    hardSeats: Number(row.hard_seats),
  };
}

export interface AuditRow {
  id: number | string;
  at: string | Date;
  actor_token_id: number | string | null;
  actor_name: string | null;
  action: string;
  target: string | null;
  target_name: string | null;
  outcome: string;
  code: string | null;
  client_address: string;
}

export function auditFromRow(row: AuditRow): AuditEntry {
  return {
    id: Number(row.id),
    at: new Date(row.at),
    actorTokenId: row.actor_token_id === null ? null : Number(row.actor_token_id),
    actorName: row.actor_name,
    action: row.action,
    target: row.target,
    targetName: row.target_name ?? null,
    outcome: row.outcome as AuditOutcome,
    code: row.code,
    clientAddress: row.client_address,
  };
}

/**
 * The WHERE clause of an audit page (store.ts AuditQuery) for either store: `placeholder(n)` names
 * the n-th parameter (1-based). Instants are passed as ISO text.
 */
export function auditFilter(
  query: AuditQuery,
  placeholder: (n: number, kind: 'text' | 'instant') => string,
): { clause: string; params: string[] } {
  const where: string[] = [];
  const params: string[] = [];
  const add = (condition: (p: string) => string, value: string, kind: 'text' | 'instant' = 'text') => {
    params.push(value);
    where.push(condition(placeholder(params.length, kind)));
  };
  if (query.action !== undefined) add((p) => `action = ${p}`, query.action);
  if (query.actor !== undefined) add((p) => `actor_name = ${p}`, query.actor);
  if (query.outcome !== undefined) add((p) => `outcome = ${p}`, query.outcome);
  if (query.from !== undefined) add((p) => `at >= ${p}`, query.from.toISOString(), 'instant');
  if (query.to !== undefined) add((p) => `at < ${p}`, query.to.toISOString(), 'instant');
  return { clause: where.length > 0 ? `WHERE ${where.join(' AND ')}` : '', params };
}

/**
 * The LIKE pattern (ESCAPE '\\') that finds `search` in users.search_text: folded as the column is
 * (domain/user-identity.ts), its wildcards escaped so "50%" finds "50%", not everything starting
 * with "50".
 */
export function likePattern(search: string): string {
  return `%${searchFold(search).replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
}

export interface EventRow {
  id: string;
  type: string;
  at: string | Date;
  data: string | Record<string, unknown>;
}

export function eventFromRow(row: EventRow): EventRecord {
  if (!isEventType(row.type)) throw new Error(`an event of unknown type "${row.type}" is stored`);
  return { id: row.id, type: row.type, timestamp: new Date(row.at), data: asObject(row.data) };
}

/**
 * Random bytes for event ids, drawn from the CSPRNG 4 KiB at a time and each used once: one call
 * per 256 ids where one per id cost ~5 µs, 2.2 % of the server's CPU in the PostgreSQL license-add
 * bench (crypto.randomUUID buffers its randomness the same way; it is not used because the ids keep
 * their documented form).
 */
const idBytes = Buffer.alloc(4096);
let idBytesAt = idBytes.length;

/** A new event id: `evt_` and 128 random bits (docs/events.md). */
export function newEventId(): string {
  if (idBytesAt + 16 > idBytes.length) {
    randomFillSync(idBytes);
    idBytesAt = 0;
  }
  const id = idBytes.toString('base64url', idBytesAt, idBytesAt + 16);
  idBytesAt += 16;
  return `evt_${id}`;
}

export interface AuthFailureRow {
  minute: string | Date;
  client_address: string;
  count: number | string;
  first_at: string | Date;
  last_at: string | Date;
}

export function authFailureFromRow(row: AuthFailureRow): AuthFailureCount {
  return {
    minute: new Date(row.minute),
    clientAddress: row.client_address,
    count: Number(row.count),
    firstAt: new Date(row.first_at),
    lastAt: new Date(row.last_at),
  };
}
