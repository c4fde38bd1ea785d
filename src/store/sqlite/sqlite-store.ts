import { chmodSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import {
  auditEntry,
  changeAudit,
  netCounterMoves,
  type SnapshotPart,
  usageRaise,
} from '../../domain/changes.js';
import { LicensorError } from '../../domain/errors.js';
import type { EventDraft, EventRecord } from '../../domain/events.js';
import {
  licenseChangeEffects,
  licensesAfterAdd,
  planAddLicense,
  storedLicense,
} from '../../domain/license-changes.js';
import type { LicenseRecord } from '../../domain/license.js';
import { parseSeatSettings, seatSettingsAudit, type SeatSettings } from '../../domain/seat-policy.js';
import {
  claimSeat,
  claimSeatOrQueue,
  planActivity,
  planApproveUser,
  planCreateUser,
  planDeleteUser,
  planPendingUser,
  planRejectUser,
  planUpdateUser,
  type SeatClaim,
  type SeatState,
  type UserPlan,
} from '../../domain/user-changes.js';
import { identityKey } from '../../domain/user-identity.js';
import { activeSince, activeUsersAt, utcDay, type UserRecord, type UserType } from '../../domain/users.js';
import { inactiveBefore, planDisableInactive } from '../../domain/user-bulk.js';
import { Snapshot } from '../snapshot.js';
import type {
  AuditEntry,
  AuditQuery,
  AuthFailureCount,
  ChangeContext,
  EventQuery,
  InactiveUsersDisabled,
  NewAuditEntry,
  NewLicense,
  NewToken,
  NewUser,
  Store,
  StoreSettings,
  TokenRecord,
  UsageDay,
  UsageSummary,
  UserPatch,
  UserQuery,
  ReadView,
} from '../store.js';
import { activityCounts, SqliteQueries } from './sqlite-queries.js';
import { migrate, SQLITE_MIGRATIONS } from './sqlite-migrations.js';
import { ensureSqliteInstanceIdentity, readSqliteInstanceIdentity } from './sqlite-instance.js';
import type { InstanceIdentity } from '../instance-identity.js';
import { SqliteWebhooks } from './sqlite-webhooks.js';
import type { SqliteEffects } from './sqlite-change.js';
import { SqliteReads } from './sqlite-reads.js';
import { SqliteTokens } from './sqlite-tokens.js';

export interface SqliteStoreOptions extends Partial<StoreSettings> {
  /** Path of the database file, or ':memory:' for tests. */
  filename: string;
  /** How long a writer waits for another process's write lock before giving up. */
  busyTimeoutMs?: number;
}

/** How stale a read may be about another process's commit: see #syncForRead. */
const READ_SYNC_INTERVAL_MS = 20;

/**
 * The embedded default store. better-sqlite3 is synchronous, so each method body runs without
 * interleaving inside this process; BEGIN IMMEDIATE takes the database's write lock first, so
 * processes sharing the file see each transaction whole as well, and the clock a change reads
 * inside it is read under the lock.
 */
export class SqliteStore implements Store {
  readonly kind = 'sqlite';
  readonly webhooks: SqliteWebhooks;
  readonly #db: Database.Database;
  readonly #q: SqliteQueries;
  readonly #windowDays: number;
  readonly #snapshot: Snapshot;
  readonly #reads: SqliteReads;
  readonly #tokens: SqliteTokens;
  /** The data_version last seen, and the generation of each snapshot part as of then. */
  #dataVersion = -1;
  /** When a read last checked data_version (performance.now()). */
  #syncedAt = -Infinity;
  readonly #gens: Record<SnapshotPart, number> = { licenses: -1, tokens: -1, users: -1, settings: -1 };
  /** Live licenses parsed once per generation: changes and the snapshot share them. */
  #live: { gen: number; licenses: LicenseRecord[] } | undefined;
  /**
   * What the transaction under way advanced: generations, and the live licenses after it. Taken
   * over only once it commits, since a rolled-back generation number is reused by the next writer.
   */
  #pending: { gens: Partial<Record<SnapshotPart, number>>; live?: LicenseRecord[] } = { gens: {} };

  private constructor(db: Database.Database, settings: StoreSettings) {
    this.#db = db;
    this.#q = new SqliteQueries(db);
    this.#windowDays = settings.activityWindowDays;
    this.webhooks = new SqliteWebhooks(
      db,
      this.#q,
      (fn) => settle(() => this.#write(fn)),
      (fn) => settle(() => this.#read(fn)),
    );
    this.#snapshot = new Snapshot(
      {
        licenses: () => settle(() => this.#read(() => this.#liveLicenses())),
        tokens: () =>
          settle(() => this.#read(() => new Map(this.#q.liveTokens().map((t) => [t.hash, t.token])))),
        activity: (firstDay) => settle(() => this.#read(() => activityCounts(this.#q, firstDay))),
        settings: () => settle(() => this.#read(() => this.#q.seatSettings())),
      },
      settings.activityWindowDays,
    );
    this.#reads = new SqliteReads(this.#q, (fn) => settle(() => this.#read(fn)));
    this.#tokens = new SqliteTokens({
      q: this.#q,
      change: (fn) => this.#change(fn),
      commitEffects: (effects, ctx, now) => this.#commitEffects(effects, ctx, now),
      bump: (part) => this.#bump(part),
    });
  }

  /** Opens (creating if needed) the database and applies pending migrations. */
  static open(options: SqliteStoreOptions): SqliteStore {
    const file = options.filename !== ':memory:';
    if (file) {
      // The database holds token hashes: only its owner may read it (docs/security.md).
      mkdirSync(dirname(options.filename), { recursive: true, mode: 0o700 });
    }
    const db = new Database(options.filename, { timeout: options.busyTimeoutMs ?? 10_000 });
    try {
      if (file) for (const suffix of ['', '-wal', '-shm']) chmodIfPresent(`${options.filename}${suffix}`);
      db.pragma('journal_mode = WAL');
      // FULL: a transaction acknowledged to a client survives a power cut, not only a crash.
      db.pragma('synchronous = FULL');
      db.pragma('foreign_keys = ON');
      migrate(db, SQLITE_MIGRATIONS);
      ensureSqliteInstanceIdentity(db, new Date());
      if (file) for (const suffix of ['-wal', '-shm']) chmodIfPresent(`${options.filename}${suffix}`);
    } catch (err) {
      db.close();
      throw err;
    }
    return new SqliteStore(db, { activityWindowDays: options.activityWindowDays ?? 365 });
  }

  #checkOpen(): void {
    if (!this.#db.open) throw new LicensorError('STORE_UNAVAILABLE', 'the database is closed');
  }

  /**
   * Notices commits of other processes: when data_version moved, the parts whose generation moved
   * are stale. Cheap enough for every read (one prepared pragma).
   */
  #sync(): void {
    const version = this.#q.dataVersion();
    if (version === this.#dataVersion) return;
    this.#dataVersion = version;
    for (const { part, gen } of this.#q.generations()) {
      if (this.#gens[part] !== gen) {
        this.#gens[part] = gen;
        this.#snapshot.invalidate(part);
      }
    }
  }

  /**
   * For the snapshot's reads: #sync at most every READ_SYNC_INTERVAL_MS. Reading data_version
   * costs a look at the WAL's shared index, which at thousands of reads a second was a sixth of a
   * status read's CPU; another process's commit is still seen within that interval, far inside the
   * second the coherence rule allows (docs/performance.md#the-read-snapshot). This process's own
   * commits invalidate at once, and every change syncs inside its write lock.
   */
  #syncForRead(): void {
    const now = performance.now();
    if (now - this.#syncedAt < READ_SYNC_INTERVAL_MS) return;
    this.#sync();
    this.#syncedAt = now;
  }

  /** Runs `fn` in a write transaction that holds the lock from its first statement. */
  #write<T>(fn: () => T): T {
    this.#checkOpen();
    return translate(() => this.#db.transaction(fn).immediate());
  }

  /**
   * Runs reads in one deferred transaction: in WAL mode that is one snapshot, so a count and its
   * page, or the two halves of the active count, cannot straddle another process's commit.
   */
  #read<T>(fn: () => T): T {
    this.#checkOpen();
    return translate(() => this.#db.transaction(fn).deferred());
  }

  /** Live licenses, parsed again only when their generation moved. Call inside a transaction. */
  #liveLicenses(): LicenseRecord[] {
    this.#checkOpen();
    const gen = this.#q.generation('licenses');
    if (this.#live?.gen !== gen) this.#live = { gen, licenses: this.#q.liveLicenses() };
    return this.#live.licenses;
  }

  /**
   * Writes what a change commits besides its rows: counters, the day's usage, the thresholds,
   * events and the audit entry, and advances the generations of the snapshot parts it alters.
   */
  #commitEffects(effects: SqliteEffects, ctx: ChangeContext, now: Date): void {
    for (const move of netCounterMoves(effects.counters ?? [])) this.#q.moveCounter(move);
    if (effects.usage) this.#q.raiseUsage(effects.usage);
    if (effects.firedThresholds) this.#q.setFiredThresholds(effects.firedThresholds);
    for (const event of effects.events) this.#q.insertEvent(event, now);
    if (effects.audit) this.#q.insertAudit(auditEntry(effects.audit, ctx.actor, now));
    for (const draft of effects.audits ?? []) this.#q.insertAudit(auditEntry(draft, ctx.actor, now));
    for (const part of effects.touches) this.#bump(part);
  }

  #bump(part: SnapshotPart): void {
    this.#pending.gens[part] = this.#q.bumpGeneration(part);
  }

  /**
   * Runs a change: the plan inside the write lock, then, once committed, the snapshot parts it
   * altered (this process's own commits do not move data_version).
   */
  #change<T>(fn: () => T): Promise<T> {
    return settle(() => {
      this.#pending = { gens: {} };
      const result = this.#write(() => {
        this.#sync();
        return fn();
      });
      const { gens, live } = this.#pending;
      this.#pending = { gens: {} };
      for (const [part, gen] of Object.entries(gens) as [SnapshotPart, number][]) {
        this.#gens[part] = gen;
        this.#snapshot.invalidate(part);
      }
      if (live && gens.licenses !== undefined) this.#live = { gen: gens.licenses, licenses: live };
      return result;
    });
  }

  addLicense(license: NewLicense, ctx: ChangeContext): Promise<LicenseRecord> {
    return this.#change(() => {
      const now = ctx.clock.now();
      const { supersede } = planAddLicense(license, this.#q.licensesByUuid(license.claims.uuid));
      const liveBefore = this.#liveLicenses();
      const activeUserCount = this.#activeCount(now);
      const id = this.#q.insertLicense(license, now);
      for (const uuid of supersede) this.#q.invalidateLicenses(uuid, now);
      const added = storedLicense(license, id, now);
      const liveAfter = licensesAfterAdd(liveBefore, added, supersede, now);
      const effects = licenseChangeEffects(
        'added',
        added,
        { liveBefore, liveAfter, activeUserCount, firedThresholds: this.#q.firedThresholds() },
        now,
        (licenses) => this.#snapshot.effectiveAt(licenses, now),
      );
      this.#commitEffects({ ...effects, touches: ['licenses'] }, ctx, now);
      this.#pending.live = liveAfter;
      return added;
    });
  }

  listLicenses(options: { includeDeleted?: boolean } = {}): Promise<LicenseRecord[]> {
    if (!options.includeDeleted) return this.#snapshot.licenses().then((l) => [...l]);
    return settle(() => this.#read(() => this.#q.allLicenses()));
  }

  getLicense(id: number): Promise<LicenseRecord | undefined> {
    return settle(() => this.#read(() => this.#q.licenseById(id)));
  }

  deleteLicense(id: number, ctx: ChangeContext): Promise<LicenseRecord> {
    return this.#change(() => {
      const now = ctx.clock.now();
      const existing = this.#q.licenseById(id);
      if (!existing || existing.deleted)
        throw new LicensorError('LICENSE_NOT_FOUND', `no license with id ${id}`);
      const liveBefore = this.#liveLicenses();
      const activeUserCount = this.#activeCount(now);
      this.#q.markLicenseDeleted(id, now);
      const deleted = this.#q.licenseById(id) as LicenseRecord;
      const liveAfter = liveBefore.filter((l) => l.id !== id);
      const effects = licenseChangeEffects(
        'deleted',
        deleted,
        {
          liveBefore,
          liveAfter,
          activeUserCount,
          firedThresholds: this.#q.firedThresholds(),
        },
        now,
        (licenses) => this.#snapshot.effectiveAt(licenses, now),
      );
      this.#commitEffects({ ...effects, touches: ['licenses'] }, ctx, now);
      this.#pending.live = liveAfter;
      return deleted;
    });
  }

  currentView(now: Date): ReadView | undefined {
    return this.#current(() => this.#snapshot.currentView(now));
  }

  currentToken(hash: string): TokenRecord | null | undefined {
    return this.#current(() => this.#snapshot.currentToken(hash));
  }

  /** A snapshot answer without waiting, after the read sync; any failure is left to the async path. */
  #current<T>(answer: () => T | undefined): T | undefined {
    try {
      this.#checkOpen();
      this.#syncForRead();
      return answer();
    } catch {
      return undefined;
    }
  }

  readView(now: Date): Promise<ReadView> {
    try {
      this.#checkOpen();
      this.#syncForRead();
    } catch (err) {
      return Promise.reject(asError(err));
    }
    return this.#snapshot.view(now);
  }

  /** Active users by type at the window start `since`, read in the current transaction. */
  #activeByType(since: Date): Record<UserType, number> {
    // Loaded for since's own day, so the domain's count always applies.
    return activeUsersAt(activityCounts(this.#q, utcDay(since)), since) as Record<UserType, number>;
  }

  /** Active users at `now`, read in the current transaction. */
  #activeCount(now: Date): number {
    const byType = this.#activeByType(activeSince(now, this.#windowDays));
    return byType.dataConsumer + byType.policyOwner;
  }

  /** What a seat decision reads, under the write lock, at `now` (read after taking it). */
  #seatState(now: Date): SeatState {
    const activeByType = this.#activeByType(activeSince(now, this.#windowDays));
    return {
      activeUserCount: activeByType.dataConsumer + activeByType.policyOwner,
      activeByType,
      effective: this.#snapshot.effectiveAt(this.#liveLicenses(), now),
      settings: this.#q.seatSettings(),
      firedThresholds: this.#q.firedThresholds(),
    };
  }

  /** Takes a seat under the write lock, at `now` (read after taking it), or refuses. */
  #claimSeat(now: Date, claimant: UserType): SeatClaim {
    return claimSeat(this.#seatState(now), now, claimant);
  }

  /** Executes a user plan's side effects: the claim (if it takes a seat), counters, audit. */
  #commitUserPlan(plan: UserPlan, user: UserRecord, ctx: ChangeContext, now: Date): void {
    const claim = plan.takesSeat ? this.#claimSeat(now, plan.next?.userType ?? user.userType) : undefined;
    this.#commitEffects(
      {
        audit: plan.auditAction === null ? null : changeAudit(plan.auditAction, 'user', user.id, user.userid),
        events: claim?.events ?? [],
        counters: plan.counters,
        ...(claim && { usage: claim.usage, firedThresholds: claim.firedThresholds }),
        touches: plan.counters.length > 0 ? ['users'] : [],
      },
      ctx,
      now,
    );
  }

  createUser(user: NewUser, ctx: ChangeContext): Promise<UserRecord> {
    return this.#change(() => {
      const now = ctx.clock.now();
      const plan = planCreateUser(user, this.#q.userIdByKey(identityKey(user.iamid, user.userid)), now);
      // The claim first: a refused seat must not have inserted anything to roll back in memory.
      const state = this.#seatState(now);
      const claim = claimSeatOrQueue(state, now, user.userType);
      if (claim === 'queue') {
        const pending = planPendingUser(plan, state);
        const id = this.#q.insertUser(pending.next);
        this.#commitEffects(
          {
            audit: changeAudit('user.pending', 'user', id, user.userid),
            events: pending.events,
            touches: [],
          },
          ctx,
          now,
        );
        return this.#user(id);
      }
      const id = this.#q.insertUser(plan.next as NonNullable<UserPlan['next']>);
      this.#commitEffects(
        {
          audit: changeAudit('user.create', 'user', id, plan.next?.userid ?? null),
          events: claim.events,
          counters: plan.counters,
          usage: claim.usage,
          firedThresholds: claim.firedThresholds,
          touches: ['users'],
        },
        ctx,
        now,
      );
      return this.#user(id);
    });
  }

  #user(id: number): UserRecord {
    const user = this.#q.userById(id);
    if (!user) throw new LicensorError('USER_NOT_FOUND', `no user with id ${id}`);
    return user;
  }

  recordActivity(id: number, ctx: ChangeContext): Promise<{ user: UserRecord; seatTaken: boolean }> {
    return this.#change(() => {
      const now = ctx.clock.now();
      const user = this.#user(id);
      const plan = planActivity(user, now, this.#windowDays);
      this.#commitUserPlan(plan, user, ctx, now);
      this.#q.updateUser(id, plan.next as NonNullable<UserPlan['next']>);
      return { user: this.#user(id), seatTaken: plan.takesSeat };
    });
  }

  updateUser(id: number, patch: UserPatch, ctx: ChangeContext): Promise<UserRecord> {
    return this.#change(() => {
      const now = ctx.clock.now();
      const user = this.#user(id);
      const plan = planUpdateUser(user, patch, now, this.#windowDays);
      this.#commitUserPlan(plan, user, ctx, now);
      this.#q.updateUser(id, plan.next as NonNullable<UserPlan['next']>);
      return this.#user(id);
    });
  }

  approveUser(id: number, ctx: ChangeContext): Promise<UserRecord> {
    return this.#change(() => {
      const now = ctx.clock.now();
      const user = this.#user(id);
      const plan = planApproveUser(user, now);
      this.#commitUserPlan(plan, user, ctx, now);
      this.#q.updateUser(id, plan.next as NonNullable<UserPlan['next']>);
      return this.#user(id);
    });
  }

  rejectUser(id: number, ctx: ChangeContext): Promise<UserRecord> {
    return this.#change(() => {
      const now = ctx.clock.now();
      const user = this.#user(id);
      const plan = planRejectUser(user);
      this.#commitUserPlan(plan, user, ctx, now);
      this.#q.deleteUser(id);
      return user;
    });
  }

  getSeatSettings(): Promise<SeatSettings> {
    try {
      this.#checkOpen();
      this.#syncForRead();
    } catch (err) {
      return Promise.reject(asError(err));
    }
    return this.#snapshot.settings();
  }

  setSeatSettings(settings: SeatSettings, ctx: ChangeContext): Promise<SeatSettings> {
    return this.#change(() => {
      const now = ctx.clock.now();
      const next = parseSeatSettings(settings);
      this.#q.setSeatSettings(next);
      this.#commitEffects({ audit: seatSettingsAudit(), events: [], touches: ['settings'] }, ctx, now);
      return next;
    });
  }

  deleteUser(id: number, ctx: ChangeContext): Promise<UserRecord> {
    return this.#change(() => {
      const now = ctx.clock.now();
      const user = this.#user(id);
      const plan = planDeleteUser(user);
      this.#commitUserPlan(plan, user, ctx, now);
      this.#q.deleteUser(id);
      return user;
    });
  }

  disableInactiveUsers(
    inactiveDays: number,
    ctx: ChangeContext,
    options: { dryRun: boolean },
  ): Promise<InactiveUsersDisabled> {
    const decide = (now: Date) => {
      const before = inactiveBefore(now, inactiveDays);
      const candidates = this.#q.usersInactiveBefore(before);
      return planDisableInactive(candidates, now, inactiveDays, this.#windowDays);
    };
    if (options.dryRun)
      return settle(() =>
        this.#read(() => {
          const plan = decide(ctx.clock.now());
          return { ...plan, users: plan.users.map((u) => u.user) };
        }),
      );
    return this.#change(() => {
      const now = ctx.clock.now();
      const plan = decide(now);
      for (const { user, plan: one } of plan.users)
        this.#q.updateUser(user.id, one.next as NonNullable<UserPlan['next']>);
      this.#commitEffects(
        {
          audit: null,
          audits: plan.audits,
          events: [],
          counters: plan.counters,
          touches: plan.counters.length > 0 ? ['users'] : [],
        },
        ctx,
        now,
      );
      return {
        inactiveBefore: plan.inactiveBefore,
        seatsFreed: plan.seatsFreed,
        users: plan.users.map(({ user }) => this.#user(user.id)),
      };
    });
  }

  getUser(id: number): Promise<UserRecord | undefined> {
    return this.#reads.getUser(id);
  }

  listUsers(query: UserQuery): Promise<{ users: UserRecord[]; total: number }> {
    return this.#reads.listUsers(query);
  }

  usageSummary(since: Date): Promise<UsageSummary> {
    return settle(() =>
      this.#read(() => {
        const totals = this.#q.usersByType();
        const active = this.#activeByType(since);
        return {
          dataConsumers: { totalCount: totals.dataConsumer, activeCount: active.dataConsumer },
          policyOwners: { totalCount: totals.policyOwner, activeCount: active.policyOwner },
        };
      }),
    );
  }

  recordUsage(now: Date): Promise<UsageDay> {
    return settle(() =>
      this.#write(() => {
        const effective = this.#snapshot.effectiveAt(this.#liveLicenses(), now);
        this.#q.raiseUsage(
          usageRaise(now, this.#activeByType(activeSince(now, this.#windowDays)), effective),
        );
        return this.#q.usageDay(utcDay(now)) as UsageDay;
      }),
    );
  }

  usageHistory(fromDay: string, toDay: string): Promise<UsageDay[]> {
    return settle(() => this.#read(() => this.#q.usageRange(fromDay, toDay)));
  }

  createToken(token: NewToken, ctx: ChangeContext): Promise<TokenRecord> {
    return this.#tokens.createToken(token, ctx);
  }

  listTokens(): Promise<TokenRecord[]> {
    return this.#reads.listTokens();
  }

  revokeToken(id: number, ctx: ChangeContext): Promise<TokenRecord> {
    return this.#tokens.revokeToken(id, ctx);
  }

  recordRefusal(entry: NewAuditEntry, events: readonly EventDraft[]): Promise<void> {
    return settle(() =>
      this.#write(() => {
        for (const event of events) this.#q.insertEvent(event, entry.at);
        this.#q.insertAudit(entry);
      }),
    );
  }

  recordAuthFailures(counts: readonly AuthFailureCount[]): Promise<void> {
    if (counts.length === 0) return Promise.resolve();
    return settle(() =>
      this.#write(() => {
        for (const count of counts) this.#q.addAuthFailures(count);
      }),
    );
  }

  listAudit(query: AuditQuery): Promise<{ entries: AuditEntry[]; total: number }> {
    return this.#reads.listAudit(query);
  }

  listAuthFailures(page: {
    offset: number;
    size: number;
  }): Promise<{ entries: AuthFailureCount[]; total: number }> {
    return this.#reads.listAuthFailures(page);
  }

  listEvents(query: EventQuery): Promise<{ events: EventRecord[]; total: number }> {
    return this.#reads.listEvents(query);
  }

  findTokenByHash(hash: string): Promise<TokenRecord | undefined> {
    try {
      this.#checkOpen();
      this.#syncForRead();
    } catch (err) {
      return Promise.reject(asError(err));
    }
    return this.#snapshot.token(hash);
  }

  setBootstrapToken(hash: string, now: Date): Promise<TokenRecord> {
    return this.#tokens.setBootstrapToken(hash, now);
  }

  createBootstrapTokenIfNone(hash: string, now: Date): Promise<boolean> {
    return this.#tokens.createBootstrapTokenIfNone(hash, now);
  }

  instanceIdentity(): Promise<InstanceIdentity> {
    return settle(() => this.#read(() => readSqliteInstanceIdentity(this.#db)));
  }

  ping(): Promise<void> {
    return settle(() => {
      this.#read(() => this.#q.count('SELECT 1 AS n'));
    });
  }

  close(): Promise<void> {
    if (this.#db.open) this.#db.close();
    return Promise.resolve();
  }
}

function asError(err: unknown): Error {
  return err instanceof Error ? err : new Error(String(err));
}

/** Runs synchronous work and hands its outcome back as a promise, as the Store interface asks. */
function settle<T>(fn: () => T): Promise<T> {
  try {
    return Promise.resolve(fn());
  } catch (err) {
    return Promise.reject(asError(err));
  }
}

function chmodIfPresent(path: string): void {
  try {
    chmodSync(path, 0o600);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
}

/** Maps SQLite failures to the store's codes; refusals from the domain pass through unchanged. */
function translate<T>(fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    if (err instanceof Database.SqliteError) {
      if (err.code === 'SQLITE_CONSTRAINT_UNIQUE' && err.message.includes('licenses.uuid'))
        throw new LicensorError('LICENSE_ALREADY_EXISTS', 'a license with this uuid is already added', {
          cause: err,
        });
      if (err.code.startsWith('SQLITE_BUSY') || err.code.startsWith('SQLITE_LOCKED'))
        throw new LicensorError('STORE_UNAVAILABLE', 'the database is busy; try again', { cause: err });
    }
    throw err;
  }
}
