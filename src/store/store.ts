import type { Actor, AuditOutcome, ChangeContext, NewAuditEntry } from '../domain/changes.js';
import type { EventDraft, EventRecord, EventType } from '../domain/events.js';
import type { NewLicense } from '../domain/license-changes.js';
import type { EffectiveLicense, LicenseRecord } from '../domain/license.js';
import type { Permission } from '../domain/permissions.js';
import type { SeatSettings } from '../domain/seat-policy.js';
import type { InactiveUsersDisabled } from '../domain/user-bulk.js';
import type { NewUser, UserPatch } from '../domain/user-changes.js';
import type { UserRecord, UserType } from '../domain/users.js';
import type { InstanceIdentity } from './instance-identity.js';
import type { WebhookStore } from './webhook-store.js';

/**
 * How long a PostgreSQL query waits for its reply before it fails with STORE_UNAVAILABLE and its
 * connection is dropped (docs/deployment.md#database-timeouts). Far above what any of the store's
 * queries takes (the slowest, a 400-day usage report over a million users, takes tens of
 * milliseconds) and above a lock wait behind other changes, yet far below the quarter of an hour
 * Linux takes to give up on a half-open socket.
 */
export const DEFAULT_QUERY_TIMEOUT_MS = 30_000;

export type { InstanceIdentity, WebhookStore };
export type {
  Actor,
  AuditOutcome,
  ChangeContext,
  NewAuditEntry,
  NewLicense,
  NewUser,
  UserPatch,
  SeatSettings,
};

export interface TokenRecord {
  id: number;
  name: string;
  permissions: Permission[];
  createdAt: Date;
  revokedAt: Date | null;
  /** The token named by LICENSOR_ADMIN_TOKEN or generated on first start. */
  bootstrap: boolean;
}

export interface UserQuery {
  offset: number;
  size: number;
  /** Only active (true) or only inactive (false) users; all when undefined. */
  active?: boolean;
  /** Only pending (true) or only not pending (false) users; all when undefined. */
  pending?: boolean;
  /** Only disabled (true) or only not disabled (false) users; all when undefined. */
  disabled?: boolean;
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
  /**
   * The highest count of each user type that day; null for a day recorded before migration 9,
   * which knows only the total (docs/usage-report.md#peaks-by-user-type).
   */
  peakByType: Record<UserType, number> | null;
  licenseSeats: number;
  hardSeats: number;
}

export interface NewToken {
  name: string;
  hash: string;
  permissions: Permission[];
}

export interface AuditEntry extends NewAuditEntry {
  id: number;
}

/** A page of the audit log, newest first, keeping only the entries that match every filter given. */
export interface AuditQuery {
  offset: number;
  size: number;
  /** Exactly this action, e.g. "user.update". */
  action?: string;
  /** Exactly this actor name (the token's name when the entry was written). */
  actor?: string;
  outcome?: AuditOutcome;
  /** Entries at or after this instant. */
  from?: Date;
  /** Entries before this instant. */
  to?: Date;
}

/** What disabling the users inactive for N days did, or would do (docs/users.md#disabling-inactive-users). */
export type { InactiveUsersDisabled } from '../domain/user-bulk.js';

/** A batch of failed authentications from one address within one minute (docs/audit.md). */
export interface AuthFailureCount {
  /** The minute, its first instant. */
  minute: Date;
  clientAddress: string;
  count: number;
  firstAt: Date;
  lastAt: Date;
}

export interface EventQuery {
  offset: number;
  size: number;
  type?: EventType;
}

/** The settings every store is opened with. */
export interface StoreSettings {
  /** A user is active when its last activity lies within this many days (docs/seats.md). */
  activityWindowDays: number;
}

/**
 * What the hottest routes answer from: the effective license and the active user count at one
 * instant, and the live licenses behind them. A view is the same object for as long as none of
 * these change, so what a route derives from it (a serialized body) is derived once per view.
 */
export interface ReadView {
  readonly effective: EffectiveLicense;
  readonly activeUserCount: number;
  readonly activeByType: Readonly<Record<'dataConsumer' | 'policyOwner', number>>;
  /** Licenses that are not deleted, in id order. */
  readonly licenses: readonly LicenseRecord[];
  /** The seat settings as of the view; seat decisions read their own under the seat lock. */
  readonly settings: SeatSettings;
  /** `compute()` once per view and key; later calls with the key answer the same value. */
  memo<T>(key: string, compute: () => T): T;
}

/**
 * Everything Licensor keeps. Each change is one transaction: its data, its audit entry and its
 * events are committed together, before the caller hears of it (docs/architecture.md#changes).
 * The rules a change follows are decided in src/domain; the stores load what a decision needs
 * under their locks and execute the plan. Implementations live in one folder per database
 * (sqlite/, postgres/) and pass the same contract suite; nothing outside them knows which database
 * is in use.
 *
 * Reads the hottest routes make (the effective license, the active user count, token checks, live
 * licenses) come from an in-memory snapshot kept coherent across every process sharing the
 * database (docs/performance.md#the-read-snapshot).
 *
 * Refusals are LicensorErrors with their codes; a database that cannot be reached is
 * STORE_UNAVAILABLE.
 */
export interface Store {
  readonly kind: 'sqlite' | 'postgres';
  /** Webhook endpoints, their deliveries, and the time-based events' once-only keys. */
  readonly webhooks: WebhookStore;

  /**
   * Adds a license: refuses a uuid that is live or was hard-deleted, and marks the licenses named
   * in `supersedes` invalidated, with its audit entry and events, in one transaction.
   */
  addLicense(license: NewLicense, ctx: ChangeContext): Promise<LicenseRecord>;
  /**
   * Licenses in id order; deleted ones only when asked. Live ones come from the snapshot, as its
   * own array: the same array until the live licenses change (the event scheduler relies on that,
   * docs/events.md#time-based-events), never changed in place.
   */
  listLicenses(options?: { includeDeleted?: boolean }): Promise<readonly LicenseRecord[]>;
  /** A license by id, deleted or not; undefined when there is none. */
  getLicense(id: number): Promise<LicenseRecord | undefined>;
  /** Soft delete. LICENSE_NOT_FOUND for an unknown or already deleted id. */
  deleteLicense(id: number, ctx: ChangeContext): Promise<LicenseRecord>;

  /**
   * The effective license and the active user count at `now`, from the snapshot. The count reads
   * per-day counters, never the users table as a whole.
   */
  readView(now: Date): Promise<ReadView>;
  /**
   * readView without waiting, for the hottest routes: the view when the snapshot holds everything
   * it needs and it is current; undefined when it must load first (then call readView).
   */
  currentView(now: Date): ReadView | undefined;

  /*
   * Every change that takes a seat (createUser, recordActivity of an inactive user, updateUser
   * re-enabling one) decides it under the seat lock at the instant read after taking it, and raises
   * today's usage row in the same transaction.
   */

  /**
   * Registers a user, who is active from now on. Refuses USER_ALREADY_EXISTS for a taken
   * (iamid, userid), then, when no seat is under the seat limit, SEAT_LIMIT_REACHED (writing
   * nothing) or, in queue mode, stores the user pending (`pending: true`, holding no seat) with
   * its `user.pending` event.
   */
  createUser(user: NewUser, ctx: ChangeContext): Promise<UserRecord>;
  /**
   * Approves a pending user: it takes a seat under the seat lock like a create (SEAT_LIMIT_REACHED
   * when none is free, never queued again). USER_NOT_PENDING for a user that is not waiting.
   */
  approveUser(id: number, ctx: ChangeContext): Promise<UserRecord>;
  /** Removes a pending user. USER_NOT_PENDING for a user that is not waiting. */
  rejectUser(id: number, ctx: ChangeContext): Promise<UserRecord>;
  /** The seat settings, from the snapshot. */
  getSeatSettings(): Promise<SeatSettings>;
  /**
   * Replaces the seat settings under the seat lock, so no seat decision runs with half of them,
   * with its audit entry. Nobody loses a seat when the cap falls below the active count.
   */
  setSeatSettings(settings: SeatSettings, ctx: ChangeContext): Promise<SeatSettings>;
  /**
   * Records activity now. An active user always succeeds; an inactive one takes a seat (or
   * SEAT_LIMIT_REACHED); a disabled one is USER_DISABLED. Only a seat taken is audited.
   */
  recordActivity(id: number, ctx: ChangeContext): Promise<{ user: UserRecord; seatTaken: boolean }>;
  /** Changes a user; re-enabling a user whose last activity is in the window takes a seat. */
  updateUser(id: number, patch: UserPatch, ctx: ChangeContext): Promise<UserRecord>;
  /** Removes a user for good, freeing its seat. */
  deleteUser(id: number, ctx: ChangeContext): Promise<UserRecord>;
  /**
   * Disables every user not disabled and last active more than `inactiveDays` days before the
   * cut-off (domain/user-bulk.ts): the instant read under the write lock on SQLite, when the
   * change starts on PostgreSQL. One transaction with one audit entry per user, each chunk of
   * DISABLE_INACTIVE_CHUNK users dated at an instant read after its rows are locked. With
   * `dryRun`, writes nothing and answers what it would do. The answer counts every user and names
   * the first DISABLE_INACTIVE_LISTED.
   */
  disableInactiveUsers(
    inactiveDays: number,
    ctx: ChangeContext,
    options: { dryRun: boolean },
  ): Promise<InactiveUsersDisabled>;
  getUser(id: number): Promise<UserRecord | undefined>;
  /** A page of users in id order and the number matching the query. */
  listUsers(query: UserQuery): Promise<{ users: UserRecord[]; total: number }>;
  /** Total and active users of each type, over all users. */
  usageSummary(activeSince: Date): Promise<UsageSummary>;
  /** Raises today's usage row to the active count and seats at `now` (kept per UTC day). */
  recordUsage(now: Date): Promise<UsageDay>;
  /** Usage rows for the days from `fromDay` to `toDay` (YYYY-MM-DD, inclusive), oldest first. */
  usageHistory(fromDay: string, toDay: string): Promise<UsageDay[]>;

  createToken(token: NewToken, ctx: ChangeContext): Promise<TokenRecord>;
  /** Live tokens in id order. */
  listTokens(): Promise<TokenRecord[]>;
  /** Revokes a live token; TOKEN_NOT_FOUND when there is none with this id. */
  revokeToken(id: number, ctx: ChangeContext): Promise<TokenRecord>;

  /**
   * Records a refused change (its audit entry, and events such as `seats.refused`) in one
   * transaction of its own; the refused change itself wrote nothing.
   */
  recordRefusal(entry: NewAuditEntry, events: readonly EventDraft[]): Promise<void>;
  /** Adds failed authentications to their per-minute, per-address aggregates. */
  recordAuthFailures(counts: readonly AuthFailureCount[]): Promise<void>;
  /** Audit entries newest first, optionally filtered, and how many match. */
  listAudit(query: AuditQuery): Promise<{ entries: AuditEntry[]; total: number }>;
  /** Failed-authentication aggregates, newest minute first. */
  listAuthFailures(page: {
    offset: number;
    size: number;
  }): Promise<{ entries: AuthFailureCount[]; total: number }>;
  /** Events newest first, optionally of one type, and how many match. */
  listEvents(query: EventQuery): Promise<{ events: EventRecord[]; total: number }>;

  /** The live (not revoked) token with this secret hash, from the snapshot. */
  findTokenByHash(hash: string): Promise<TokenRecord | undefined>;
  /**
   * findTokenByHash without waiting: null when there is no such live token, undefined when the
   * snapshot must load first (then call findTokenByHash).
   */
  currentToken(hash: string): TokenRecord | null | undefined;
  /** Makes `hash` the bootstrap administrator token, replacing an earlier bootstrap secret. */
  setBootstrapToken(hash: string, now: Date): Promise<TokenRecord>;
  /**
   * Creates the bootstrap administrator token only when the store has no live token at all.
   * Returns whether it did, so exactly one of several starting processes reports the secret.
   */
  createBootstrapTokenIfNone(hash: string, now: Date): Promise<boolean>;

  /**
   * The instance identity: one id and its Ed25519 keys, created when the store is first opened
   * (safely when several processes open it at once) and shared by every process on the database
   * (docs/instance-identity.md).
   */
  instanceIdentity(): Promise<InstanceIdentity>;

  /** Whether the store answers; for readiness checks. */
  ping(): Promise<void>;
  close(): Promise<void>;
}
