import type { LicenseClaims } from '../domain/license-claims.js';
import type { LicenseRecord } from '../domain/license.js';
import type { Permission } from '../domain/permissions.js';
import type { UserRecord, UserType } from '../domain/users.js';

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

export interface NewUser {
  userid: string;
  iamid: string;
  name: string | null;
  email: string | null;
  userType: UserType;
}

export interface UserPatch {
  name?: string | null;
  email?: string | null;
  userType?: UserType;
  disabled?: boolean;
}

/** The instant a seat rule is judged at, and the start of the activity window at that instant. */
export interface SeatContext {
  now: Date;
  activeSince: Date;
}

export interface UserQuery {
  offset: number;
  size: number;
  /** Only active (true) or only inactive (false) users; all when undefined. */
  active?: boolean;
  /** Case-insensitive substring of userid, name or email. */
  search?: string;
  activeSince: Date;
}

export interface TypeCounts {
  totalCount: number;
  activeCount: number;
}

export interface UsageSummary {
  dataConsumers: TypeCounts;
  policyOwners: TypeCounts;
}

/** One day of usage history: the highest active user count seen that day, and the seats then. */
export interface UsageDay {
  day: string;
  peakActiveUsers: number;
  licenseSeats: number;
  hardSeats: number;
}

export interface NewToken {
  name: string;
  hash: string;
  permissions: Permission[];
}

export type AuditOutcome = 'success' | 'refused';

export interface NewAuditEntry {
  at: Date;
  /** The token that acted; null when the request had no valid token. */
  actorTokenId: number | null;
  actorName: string | null;
  action: string;
  /** What was acted on, e.g. "license:12", "user:3"; null when nothing was identified. */
  target: string | null;
  outcome: AuditOutcome;
  /** The error code of a refusal. */
  code: string | null;
  clientAddress: string;
}

export interface AuditEntry extends NewAuditEntry {
  id: number;
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

  /**
   * Users that are not disabled and were active at or after `activeSince`. Reads per-day
   * counters, never the users table as a whole: the cost does not grow with the number of users.
   */
  countActiveUsers(activeSince: Date): Promise<number>;

  /*
   * Every method that takes a seat (createUser, recordActivity of an inactive user, updateUser
   * re-enabling one) also raises today's usage row in the same transaction.
   */

  /**
   * Registers a user, who is active from now on. Refuses USER_ALREADY_EXISTS for a taken
   * (iamid, userid), then SEAT_LIMIT_REACHED when no seat is free at `now`; writes nothing then.
   */
  createUser(user: NewUser, ctx: SeatContext): Promise<UserRecord>;
  /**
   * Records activity now. An active user always succeeds; an inactive one takes a seat (or
   * SEAT_LIMIT_REACHED); a disabled one is USER_DISABLED.
   */
  recordActivity(id: number, ctx: SeatContext): Promise<{ user: UserRecord; seatTaken: boolean }>;
  /** Changes a user; re-enabling a user whose last activity is in the window takes a seat. */
  updateUser(id: number, patch: UserPatch, ctx: SeatContext): Promise<UserRecord>;
  /** Removes a user for good, freeing its seat. */
  deleteUser(id: number, ctx: SeatContext): Promise<UserRecord>;
  getUser(id: number): Promise<UserRecord | undefined>;
  /** A page of users in id order and the number matching the query. */
  listUsers(query: UserQuery): Promise<{ users: UserRecord[]; total: number }>;
  /** Total and active users of each type, over all users. */
  usageSummary(activeSince: Date): Promise<UsageSummary>;
  /** Raises today's usage row to the current active count and seats (kept per UTC day). */
  recordUsage(ctx: SeatContext): Promise<UsageDay>;
  /** Usage rows for the days from `fromDay` to `toDay` (YYYY-MM-DD, inclusive), oldest first. */
  usageHistory(fromDay: string, toDay: string): Promise<UsageDay[]>;

  createToken(token: NewToken, now: Date): Promise<TokenRecord>;
  /** Live tokens in id order. */
  listTokens(): Promise<TokenRecord[]>;
  /** Revokes a live token; TOKEN_NOT_FOUND when there is none with this id. */
  revokeToken(id: number, now: Date): Promise<TokenRecord>;

  appendAudit(entry: NewAuditEntry): Promise<void>;
  /** Audit entries newest first, and how many there are. */
  listAudit(page: { offset: number; size: number }): Promise<{ entries: AuditEntry[]; total: number }>;

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
