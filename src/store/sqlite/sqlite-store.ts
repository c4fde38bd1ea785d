import { chmodSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import { auditEntry, netCounterMoves, type SnapshotPart, usageRaise } from '../../domain/changes.js';
import { LicensorError } from '../../domain/errors.js';
import type { EventDraft } from '../../domain/events.js';
import type { LicenseRecord } from '../../domain/license.js';
import { LicenseList } from '../../domain/license-list.js';
import { parseSeatSettings, seatSettingsAudit, type SeatSettings } from '../../domain/seat-policy.js';
import { activeSince, utcDay } from '../../domain/users.js';
import { ComposedStore, storeClosed } from '../composed-store.js';
import { Snapshot } from '../snapshot.js';
import type {
  AuthFailureCount,
  ChangeContext,
  NewAuditEntry,
  Store,
  StoreSettings,
  TokenRecord,
  UsageDay,
  UsageSummary,
  ReadView,
} from '../store.js';
import { activityCounts, SqliteQueries } from './sqlite-queries.js';
import { migrate, SQLITE_MIGRATIONS } from './sqlite-migrations.js';
import { ensureSqliteInstanceIdentity, readSqliteInstanceIdentity } from './sqlite-instance.js';
import type { InstanceIdentity } from '../instance-identity.js';
import { SqliteWebhooks } from './sqlite-webhooks.js';
import type { SqliteChanges, SqliteEffects } from './sqlite-change.js';
import { SqliteReads } from './sqlite-reads.js';
import { SqliteTokens } from './sqlite-tokens.js';
import { SqliteSeats } from './sqlite-seats.js';
import { SqliteLicenses } from './sqlite-licenses.js';
import { SqliteUsers } from './sqlite-users.js';

export interface SqliteStoreOptions extends Partial<StoreSettings> {
  /** Path of the database file, or ':memory:' for tests. */
  filename: string;
  /** How long a writer waits for another process's write lock before giving up. */
  busyTimeoutMs?: number;
}

/** The most changes one group commit takes; the rest wait for the next (see #flush). */
const MAX_GROUP_COMMIT = 64;

/** How stale a read may be about another process's commit: see #syncForRead. */
const READ_SYNC_INTERVAL_MS = 20;

/**
 * The embedded default store. better-sqlite3 is synchronous, so each method body runs without
 * interleaving inside this process; BEGIN IMMEDIATE takes the database's write lock first, so
 * processes sharing the file see each transaction whole as well, and the clock a change reads
 * inside it is read under the lock.
 */
export class SqliteStore extends ComposedStore implements Store {
  readonly kind = 'sqlite';
  readonly webhooks: SqliteWebhooks;
  readonly #db: Database.Database;
  readonly #q: SqliteQueries;
  readonly #windowDays: number;
  readonly #snapshot: Snapshot;
  readonly #seats: SqliteSeats;
  /** The data_version last seen, and the generation of each snapshot part as of then. */
  #dataVersion = -1;
  /** When a read last checked data_version (performance.now()). */
  #syncedAt = -Infinity;
  readonly #gens: Record<SnapshotPart, number> = { licenses: -1, tokens: -1, users: -1, settings: -1 };
  /** Live licenses parsed once per generation: changes and the snapshot share them. */
  #live: { gen: number; licenses: LicenseList } | undefined;
  /**
   * What the change under way advanced: generations, and the live licenses after it. Taken over
   * only when its savepoint is released (a rolled-back generation number is reused by the next
   * writer), and dropped with the whole transaction when that fails (#flush).
   */
  #pending: { gens: Partial<Record<SnapshotPart, number>>; live?: LicenseList } = { gens: {} };
  /** Changes waiting for the next group commit, in the order they were asked for. */
  readonly #queue: { fn: () => unknown; resolve: (value: unknown) => void; reject: (err: Error) => void }[] =
    [];

  private constructor(db: Database.Database, settings: StoreSettings) {
    super();
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
    const changes: SqliteChanges = {
      q: this.#q,
      windowDays: this.#windowDays,
      change: (fn) => this.#change(fn),
      read: (fn) => settle(() => this.#read(fn)),
      commitEffects: (effects, ctx, now) => this.#commitEffects(effects, ctx, now),
      bump: (part) => this.#bump(part),
      liveLicenses: () => this.#liveLicenses(),
      liveAfter: (licenses) => {
        this.#pending.live = licenses;
      },
      effectiveAt: (licenses, now) => this.#snapshot.effectiveAt(licenses, now),
    };
    this.#seats = new SqliteSeats(changes);
    this.compose({
      licenses: new SqliteLicenses(changes, this.#seats),
      users: new SqliteUsers(changes, this.#seats),
      tokens: new SqliteTokens(changes),
      reads: new SqliteReads(this.#q, (fn) => changes.read(fn)),
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

  /** Closed once close() has run (it commits what was asked before it, synchronously). */
  protected get closed(): boolean {
    return !this.#db.open;
  }

  #checkOpen(): void {
    if (this.closed) throw storeClosed();
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
    return translate(() => this.#db.transaction(() => this.#q.underWriteLock(fn)).immediate());
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
  #liveLicenses(): LicenseList {
    this.#checkOpen();
    const gen = this.#q.generation('licenses');
    if (this.#live?.gen !== gen) this.#live = { gen, licenses: LicenseList.of(this.#q.liveLicenses()) };
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
   * Queues a change for the next group commit (docs/performance.md#group-commit): the changes
   * asked for while this turn of the event loop runs commit together, each in its own savepoint.
   */
  #change<T>(fn: () => T): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.#queue.push({ fn, resolve: resolve as (value: unknown) => void, reject });
      if (this.#queue.length === 1) setImmediate(() => this.#flush());
    });
  }

  /**
   * Runs the queued changes in one transaction under the write lock, in the order they were
   * asked for. Each runs in a savepoint, so one that throws (a refusal) rolls back alone, and reads
   * what the ones before it wrote. Nothing is answered before the one commit; when the transaction
   * itself fails, every change of it fails, and nothing it kept in memory is kept. Once it commits,
   * the snapshot parts the changes altered turn over (this process's own commits do not move
   * data_version).
   */
  #flush(): void {
    const batch = this.#queue.splice(0, MAX_GROUP_COMMIT);
    if (batch.length === 0) return;
    if (this.#queue.length > 0) setImmediate(() => this.#flush());
    const outcomes: ({ ok: true; value: unknown } | { ok: false; error: Error })[] = [];
    const gens: Partial<Record<SnapshotPart, number>> = {};
    const liveBefore = this.#live;
    try {
      this.#write(() => {
        this.#sync();
        for (const change of batch) {
          this.#pending = { gens: {} };
          try {
            const value = translate(() => this.#db.transaction(change.fn)());
            const { gens: moved, live } = this.#pending;
            Object.assign(gens, moved);
            // The next change of the batch, and the snapshot once this commits, read the live
            // licenses this one left (parsed again when it left none).
            if (moved.licenses !== undefined) this.#live = live && { gen: moved.licenses, licenses: live };
            outcomes.push({ ok: true, value });
          } catch (err) {
            outcomes.push({ ok: false, error: asError(err) });
          }
        }
        this.#pending = { gens: {} };
      });
    } catch (err) {
      this.#pending = { gens: {} };
      this.#live = liveBefore;
      for (const change of batch) change.reject(asError(err));
      return;
    }
    for (const [part, gen] of Object.entries(gens) as [SnapshotPart, number][]) {
      this.#gens[part] = gen;
      this.#snapshot.invalidate(part);
    }
    batch.forEach((change, i) => {
      const outcome = outcomes[i] as (typeof outcomes)[number];
      if (outcome.ok) change.resolve(outcome.value);
      else change.reject(outcome.error);
    });
  }

  listLicenses(options: { includeDeleted?: boolean } = {}): Promise<readonly LicenseRecord[]> {
    if (!options.includeDeleted)
      return this.#fromSnapshot(() => this.#snapshot.licenses()).then((l) => l.array());
    return settle(() => this.#read(() => this.#q.allLicenses()));
  }

  getLicense(id: number): Promise<LicenseRecord | undefined> {
    return settle(() => this.#read(() => this.#q.licenseById(id)));
  }

  currentView(now: Date): ReadView | undefined {
    return this.#current(() => this.#snapshot.currentView(now));
  }

  currentToken(hash: string): TokenRecord | null | undefined {
    return this.#current(() => this.#snapshot.currentToken(hash));
  }

  /**
   * A snapshot answer after the read sync, so another process's commit is seen within
   * READ_SYNC_INTERVAL_MS whichever read asks first; a closed or failing database rejects.
   */
  #fromSnapshot<T>(read: () => Promise<T>): Promise<T> {
    try {
      this.#readySnapshot();
    } catch (err) {
      return Promise.reject(asError(err));
    }
    return read();
  }

  /** Open, and the snapshot synced for a read (at most every READ_SYNC_INTERVAL_MS). */
  #readySnapshot(): void {
    this.#checkOpen();
    this.#syncForRead();
  }

  /** A snapshot answer without waiting, after the read sync; any failure is left to the async path. */
  #current<T>(answer: () => T | undefined): T | undefined {
    try {
      this.#readySnapshot();
      return answer();
    } catch {
      return undefined;
    }
  }

  readView(now: Date): Promise<ReadView> {
    return this.#fromSnapshot(() => this.#snapshot.view(now));
  }

  getSeatSettings(): Promise<SeatSettings> {
    return this.#fromSnapshot(() => this.#snapshot.settings());
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

  usageSummary(since: Date): Promise<UsageSummary> {
    return settle(() =>
      this.#read(() => {
        const totals = this.#q.usersByType();
        const active = this.#seats.activeByType(since);
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
          usageRaise(now, this.#seats.activeByType(activeSince(now, this.#windowDays)), effective),
        );
        return this.#q.usageDay(utcDay(now)) as UsageDay;
      }),
    );
  }

  usageHistory(fromDay: string, toDay: string): Promise<UsageDay[]> {
    return settle(() => this.#read(() => this.#q.usageRange(fromDay, toDay)));
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

  findTokenByHash(hash: string): Promise<TokenRecord | undefined> {
    return this.#fromSnapshot(() => this.#snapshot.token(hash));
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
    // Changes already asked for are committed (or refused) first, not dropped.
    while (this.#queue.length > 0 && this.#db.open) this.#flush();
    for (const change of this.#queue.splice(0)) change.reject(storeClosed());
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
