import { LicensorError } from './errors.js';

/**
 * The validated payload of a license key (docs/license-keys.md). Field names are the API's own. Unknown claims
 * are not dropped: the caller keeps the raw payload beside this object.
 */
export interface LicenseClaims {
  uuid: string;
  createdAt: Date;
  expires: Date | null;
  seats: number;
  softSeats: number;
  features: Record<string, FeatureClaim>;
  handlers: Record<string, Record<string, unknown>>;
  hardExpiration: boolean;
  hardDelete: boolean;
  notice: string | null;
  noticeOnExpire: string | null;
  renewalToken: string | null;
  startsAt: Date | null;
  supersedes: string[];
  licensee: Licensee | null;
  /**
   * Days an expired license stays in force after `expires` (docs/licenses.md#grace-period): 0 to
   * CLAIM_LIMITS.maxGraceDays, 0 when absent.
   */
  graceDays: number;
}

export interface FeatureClaim {
  enabled: boolean;
  [extra: string]: unknown;
}

export interface Licensee {
  name?: string;
  email?: string;
  company?: string;
}

/** Upper bounds that keep sums exact and rows small; documented in docs/license-keys.md. */
export const CLAIM_LIMITS = {
  uuidLength: 128,
  maxSeats: 1_000_000_000,
  nameLength: 128,
  maxEntries: 1_000,
  textLength: 10_000,
  maxGraceDays: 365,
} as const;

/**
 * What one license key may cost, checked when a key is added (verifyLicenseKey) or issued
 * (`licensor issue`), before it is stored: every stored key is read again for every status, so its
 * size multiplies with the number of licenses. The single source of these numbers; each is
 * documented in docs/license-keys.md ("Limits"). Generous for real licenses, which name a few
 * dozen features and handlers at most.
 *
 * `keyLength` and `jsonDepth` are checked while the key is decoded, before its signature, and are
 * refused as MALFORMED_LICENSE_KEY; the others are checked on the verified payload, before its
 * claims are read, and are refused as LICENSE_KEY_TOO_LARGE (see checkLicenseKeyLimits).
 * parseLicenseClaims does not apply them, so a key stored under older limits stays readable.
 */
export const KEY_LIMITS = {
  /** Characters of the whole compact key (so the payload JSON is at most about 48 KiB). */
  keyLength: 64 * 1024,
  /** Nesting of arrays and objects in header and payload, the payload object itself counting 1. */
  jsonDepth: 32,
  /** Entries of `features`. */
  features: 256,
  /** Entries of `handlers`. */
  handlers: 256,
  /** Characters of one feature or handler name. */
  nameLength: CLAIM_LIMITS.nameLength,
  /** UTF-8 bytes of one feature's or handler's object written as compact JSON. */
  entryBytes: 4 * 1024,
} as const;

const RFC3339 = /^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(\.\d{1,9})?([Zz]|[+-](\d{2}):(\d{2}))$/;

// Control characters make names and identifiers ambiguous in logs, tables and CSV.
// eslint-disable-next-line no-control-regex
const CONTROL_CHARS = /[\u0000-\u001f\u007f]/;

/**
 * Parses an RFC 3339 timestamp strictly: the calendar date must exist (no rollover of Feb 30) and
 * the offset must be in range. Returns undefined when it is not one.
 */
export function parseRfc3339(value: string): Date | undefined {
  const m = RFC3339.exec(value);
  if (!m) return undefined;
  const [year, month, day, hour, minute, second] = m.slice(1, 7).map(Number) as [
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  if (month < 1 || month > 12 || day < 1 || hour > 23 || minute > 59 || second > 60) return undefined;
  // setUTCFullYear, unlike Date.UTC, does not map years 0-99 to 1900-1999 (year 0 is a leap year).
  const lastOfMonth = new Date(0);
  lastOfMonth.setUTCFullYear(year, month, 0);
  const daysInMonth = lastOfMonth.getUTCDate();
  if (day > daysInMonth) return undefined;
  if (m[9] !== undefined && (Number(m[9]) > 23 || Number(m[10]) > 59)) return undefined;
  // A leap second, fraction and all, is read as the last millisecond of its minute.
  const date = new Date(second === 60 ? value.replace(/:60(\.\d+)?(?=[Zz+-])/, ':59.999') : value);
  if (Number.isNaN(date.getTime())) return undefined;
  return date;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function invalid(claim: string, why: string): LicensorError {
  return new LicensorError('INVALID_CLAIMS', `claim "${claim}" ${why}`);
}

function checkName(claim: string, name: string): void {
  if (name.length === 0 || name.length > CLAIM_LIMITS.nameLength || CONTROL_CHARS.test(name))
    throw invalid(
      claim,
      `has a name that is empty, longer than ${CLAIM_LIMITS.nameLength} characters or holds control characters`,
    );
}

function readTimestamp(payload: Record<string, unknown>, claim: string, required: true): Date;
function readTimestamp(payload: Record<string, unknown>, claim: string, required: false): Date | null;
function readTimestamp(payload: Record<string, unknown>, claim: string, required: boolean): Date | null {
  const value = payload[claim];
  if (value === undefined || value === null) {
    if (required) throw invalid(claim, 'is required');
    return null;
  }
  if (typeof value !== 'string') throw invalid(claim, 'must be an RFC 3339 timestamp string');
  const date = parseRfc3339(value);
  if (!date) throw invalid(claim, 'must be an RFC 3339 timestamp such as 2027-01-01T00:00:00Z');
  return date;
}

function readCount(payload: Record<string, unknown>, claim: string, fallback?: number): number {
  const value = payload[claim];
  if (value === undefined && fallback !== undefined) return fallback;
  if (value === undefined) throw invalid(claim, 'is required');
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0)
    throw invalid(claim, 'must be an integer of 0 or more');
  if (value > CLAIM_LIMITS.maxSeats) throw invalid(claim, `must be at most ${CLAIM_LIMITS.maxSeats}`);
  return value;
}

function readGraceDays(payload: Record<string, unknown>): number {
  const value = payload.graceDays;
  if (value === undefined) return 0;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > CLAIM_LIMITS.maxGraceDays)
    throw invalid('graceDays', `must be an integer from 0 to ${CLAIM_LIMITS.maxGraceDays}`);
  return value;
}

function readBoolean(payload: Record<string, unknown>, claim: string): boolean {
  const value = payload[claim];
  if (value === undefined) return false;
  if (typeof value !== 'boolean') throw invalid(claim, 'must be true or false');
  return value;
}

function readText(payload: Record<string, unknown>, claim: string): string | null {
  const value = payload[claim];
  if (value === undefined || value === null) return null;
  if (typeof value !== 'string') throw invalid(claim, 'must be a string or null');
  if (value.length > CLAIM_LIMITS.textLength)
    throw invalid(claim, `must be at most ${CLAIM_LIMITS.textLength} characters`);
  return value;
}

function readUuid(claim: string, value: unknown): string {
  if (typeof value !== 'string') throw invalid(claim, 'must be a string');
  if (value.length === 0 || value.length > CLAIM_LIMITS.uuidLength)
    throw invalid(claim, `must be 1 to ${CLAIM_LIMITS.uuidLength} characters`);
  if (CONTROL_CHARS.test(value)) throw invalid(claim, 'must not hold control characters');
  return value;
}

function readObjectMap(payload: Record<string, unknown>, claim: string): [string, unknown][] {
  const value = payload[claim];
  if (value === undefined) return [];
  if (!isPlainObject(value)) throw invalid(claim, 'must be an object');
  const entries = Object.entries(value);
  if (entries.length > CLAIM_LIMITS.maxEntries)
    throw invalid(claim, `must have at most ${CLAIM_LIMITS.maxEntries} entries`);
  for (const [name] of entries) checkName(claim, name);
  return entries;
}

function readFeatures(payload: Record<string, unknown>): Record<string, FeatureClaim> {
  const entries = readObjectMap(payload, 'features').map(([name, value]): [string, FeatureClaim] => {
    if (!isPlainObject(value) || typeof value.enabled !== 'boolean')
      throw invalid('features', `entry "${name}" must be an object {"enabled": true|false}`);
    return [name, { ...value, enabled: value.enabled }];
  });
  // fromEntries defines own properties, so a feature named "__proto__" stays an ordinary key.
  return Object.fromEntries(entries);
}

function readHandlers(payload: Record<string, unknown>): Record<string, Record<string, unknown>> {
  const entries = readObjectMap(payload, 'handlers').map(
    ([name, value]): [string, Record<string, unknown>] => {
      if (!isPlainObject(value)) throw invalid('handlers', `entry "${name}" must be an object`);
      return [name, value];
    },
  );
  return Object.fromEntries(entries);
}

function readSupersedes(payload: Record<string, unknown>): string[] {
  const value = payload.supersedes;
  if (value === undefined) return [];
  if (!Array.isArray(value)) throw invalid('supersedes', 'must be an array of uuid strings');
  if (value.length > CLAIM_LIMITS.maxEntries)
    throw invalid('supersedes', `must have at most ${CLAIM_LIMITS.maxEntries} entries`);
  return [...new Set(value.map((item) => readUuid('supersedes', item)))];
}

function readLicensee(payload: Record<string, unknown>): Licensee | null {
  const value = payload.licensee;
  if (value === undefined || value === null) return null;
  if (!isPlainObject(value)) throw invalid('licensee', 'must be an object');
  const licensee: Licensee = {};
  for (const field of ['name', 'email', 'company'] as const) {
    const text = value[field];
    if (text === undefined) continue;
    if (typeof text !== 'string' || text.length > CLAIM_LIMITS.nameLength * 2)
      throw invalid('licensee', `field "${field}" must be a string of at most 256 characters`);
    licensee[field] = text;
  }
  return licensee;
}

function tooLarge(detail: string): LicensorError {
  return new LicensorError('LICENSE_KEY_TOO_LARGE', detail);
}

/** UTF-8 bytes of `value` as compact JSON; Infinity when it cannot be written (too deep, say). */
function serializedBytes(value: unknown): number {
  try {
    return Buffer.byteLength(JSON.stringify(value) ?? '', 'utf8');
  } catch {
    return Infinity;
  }
}

function checkEntryLimits(payload: Record<string, unknown>, claim: 'features' | 'handlers'): void {
  const value = payload[claim];
  // A wrong type is left to parseLicenseClaims, which names it as INVALID_CLAIMS.
  if (!isPlainObject(value)) return;
  const names = Object.keys(value);
  if (names.length > KEY_LIMITS[claim])
    throw tooLarge(
      `claim "${claim}" has ${names.length} entries; a key may have at most ${KEY_LIMITS[claim]}`,
    );
  for (const name of names) {
    if (name.length > KEY_LIMITS.nameLength)
      throw tooLarge(
        `claim "${claim}" has a name of ${name.length} characters; names are at most ${KEY_LIMITS.nameLength}`,
      );
    const bytes = serializedBytes(value[name]);
    if (bytes > KEY_LIMITS.entryBytes)
      throw tooLarge(
        `claim "${claim}" entry "${name}" is ${Number.isFinite(bytes) ? `${bytes} bytes` : 'too large'} as JSON; an entry is at most ${KEY_LIMITS.entryBytes} bytes`,
      );
  }
}

/**
 * Refuses a payload that is over the size limits of KEY_LIMITS with LICENSE_KEY_TOO_LARGE, and
 * nothing else: types are parseLicenseClaims's to check. Run it on a verified payload before
 * parseLicenseClaims and before anything is stored; its cost is linear in the payload. The key's
 * length and nesting are checked while decoding (verifyLicenseKey); a payload given here directly
 * must nest at most KEY_LIMITS.jsonDepth levels for the byte counts to be exact.
 */
export function checkLicenseKeyLimits(payload: Record<string, unknown>): void {
  checkEntryLimits(payload, 'features');
  checkEntryLimits(payload, 'handlers');
}

/**
 * Validates a decoded license payload by type and range. Throws INVALID_CLAIMS naming the first bad
 * claim; never anything else, whatever the input.
 */
export function parseLicenseClaims(payload: unknown): LicenseClaims {
  if (!isPlainObject(payload))
    throw new LicensorError('INVALID_CLAIMS', 'the license payload must be a JSON object');
  const claims: LicenseClaims = {
    uuid: readUuid('uuid', payload.uuid ?? missing('uuid')),
    createdAt: readTimestamp(payload, 'createdAt', true),
    expires: readTimestamp(payload, 'expires', false),
    seats: readCount(payload, 'seats'),
    softSeats: readCount(payload, 'softSeats', 0),
    features: readFeatures(payload),
    handlers: readHandlers(payload),
    hardExpiration: readBoolean(payload, 'hardExpiration'),
    hardDelete: readBoolean(payload, 'hardDelete'),
    notice: readText(payload, 'notice'),
    noticeOnExpire: readText(payload, 'noticeOnExpire'),
    renewalToken: readText(payload, 'renewalToken'),
    startsAt: readTimestamp(payload, 'startsAt', false),
    supersedes: readSupersedes(payload),
    licensee: readLicensee(payload),
    graceDays: readGraceDays(payload),
  };
  if (claims.expires && claims.expires.getTime() <= claims.createdAt.getTime())
    throw invalid('expires', 'must be later than createdAt');
  if (claims.expires && claims.startsAt && claims.startsAt.getTime() >= claims.expires.getTime())
    throw invalid('startsAt', 'must be earlier than expires');
  if (claims.supersedes.includes(claims.uuid))
    throw invalid('supersedes', 'must not name the license itself');
  return claims;
}

function missing(claim: string): never {
  throw invalid(claim, 'is required');
}
