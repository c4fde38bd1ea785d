import type { LicenseClaims } from '../domain/license-claims.js';
import type { LicenseRecord } from '../domain/license.js';
import type { Permission } from '../domain/permissions.js';

/** A verified license key ready to be stored. */
export interface NewLicense {
  licenseKey: string;
  payload: Record<string, unknown>;
  claims: LicenseClaims;
}

export interface TokenRecord {
  id: number;
  name: string;
  permissions: Permission[];
  createdAt: Date;
  revokedAt: Date | null;
  /** The token named by LICENSOR_ADMIN_TOKEN or generated on first start. */
  bootstrap: boolean;
}

/**
 * Everything Licensor keeps. Each method is one transaction: the rules it names are decided and
 * written in one atomic step, across every process sharing the database. Implementations live in
 * one folder per database (sqlite/, postgres/) and pass the same contract suite; nothing outside
 * them knows which database is in use.
 *
 * Refusals are LicensorErrors with their codes; a database that cannot be reached is
 * STORE_UNAVAILABLE.
 */
export interface Store {
  readonly kind: 'sqlite' | 'postgres';

  /**
   * Adds a license: refuses a uuid that is live or was hard-deleted (checkCanAdd), and marks the
   * licenses named in `supersedes` invalidated, all in one transaction.
   */
  addLicense(license: NewLicense, now: Date): Promise<LicenseRecord>;
  /** Licenses in id order; deleted ones only when asked. */
  listLicenses(options?: { includeDeleted?: boolean }): Promise<LicenseRecord[]>;
  /** A license by id, deleted or not; undefined when there is none. */
  getLicense(id: number): Promise<LicenseRecord | undefined>;
  /** Soft delete. LICENSE_NOT_FOUND for an unknown or already deleted id. */
  deleteLicense(id: number, now: Date): Promise<LicenseRecord>;

  /** Users that are not disabled and were active at or after `activeSince`. */
  countActiveUsers(activeSince: Date): Promise<number>;

  /** The live (not revoked) token with this secret hash. */
  findTokenByHash(hash: string): Promise<TokenRecord | undefined>;
  /** Makes `hash` the bootstrap administrator token, replacing an earlier bootstrap secret. */
  setBootstrapToken(hash: string, now: Date): Promise<TokenRecord>;
  /**
   * Creates the bootstrap administrator token only when the store has no live token at all.
   * Returns whether it did, so exactly one of several starting processes reports the secret.
   */
  createBootstrapTokenIfNone(hash: string, now: Date): Promise<boolean>;

  /** Whether the store answers; for readiness checks. */
  ping(): Promise<void>;
  close(): Promise<void>;
}
