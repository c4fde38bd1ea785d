import type Database from 'better-sqlite3';
import type { CounterMove, NewAuditEntry, SnapshotPart, UsageRaise } from '../../domain/changes.js';
import type { EventDraft } from '../../domain/events.js';
import type { NewLicense } from '../../domain/license-changes.js';
import type { LicenseRecord } from '../../domain/license.js';
import { DEFAULT_SEAT_SETTINGS, type SeatSettings, type WhenFull } from '../../domain/seat-policy.js';
import type { UserValues } from '../../domain/user-changes.js';
import { identityColumns, searchText } from '../../domain/user-identity.js';
import {
  startOfNextUtcDay,
  utcDay,
  type ActivityCounts,
  type UserRecord,
  type UserType,
} from '../../domain/users.js';
import {
  licenseFromRow,
  newEventId,
  tokenFromRow,
  usageFromRow,
  userFromRow,
  type LicenseRow,
  type TokenRow,
  type UsageRow,
  type UserRow,
} from '../rows.js';
import type { AuthFailureCount, NewToken, TokenRecord, UsageDay } from '../store.js';

const LICENSE_COLUMNS = 'id, uuid, license_key, payload, updated_at, deleted, invalidated';
const TOKEN_COLUMNS = 'id, name, permissions, created_at, revoked_at, bootstrap';
const USER_COLUMNS =
  'id, userid, iamid, name, email, user_type, created_at, last_activity_at, disabled, pending';

/**
 * The SQL of the SQLite store, one method a statement, each prepared once (preparing costs more
 * than running the small statements here). It decides nothing: sqlite-store.ts runs these in its
 * transactions as the domain's plans say.
 */
export class SqliteQueries {
  readonly #db: Database.Database;
  /** Set while a write transaction's body runs (underWriteLock). */
  #writing = false;
  /** Whether this write transaction has moved a counter. */
  #movedInWrite = false;
  /** countersAfter's last sum under the write lock, as of data_version `version`. */
  #kept: { version: number; day: string; counts: Record<UserType, number> } | undefined;
  readonly #statements = new Map<string, Database.Statement>();

  constructor(db: Database.Database) {
    this.#db = db;
  }

  #prepare<P extends unknown[] = unknown[], R = unknown>(sql: string): Database.Statement<P, R> {
    let statement = this.#statements.get(sql);
    if (statement === undefined) {
      statement = this.#db.prepare(sql);
      this.#statements.set(sql, statement);
    }
    return statement as unknown as Database.Statement<P, R>;
  }

  all<R>(sql: string, ...params: unknown[]): R[] {
    return this.#prepare<unknown[], R>(sql).all(...params);
  }

  count(sql: string, ...params: unknown[]): number {
    return (this.#prepare<unknown[], { n: number }>(sql).get(...params) as { n: number }).n;
  }

  // Snapshot generations.

  /** Through a kept statement: db.pragma() prepares a new one on every call. */
  dataVersion(): number {
    return this.#prepare<[], number>('PRAGMA data_version').pluck().get() as number;
  }

  generations(): { part: SnapshotPart; gen: number }[] {
    return this.all('SELECT part, gen FROM snapshot_generations');
  }

  generation(part: SnapshotPart): number {
    return this.#prepare<[string], number>('SELECT gen FROM snapshot_generations WHERE part = ?')
      .pluck()
      .get(part) as number;
  }

  bumpGeneration(part: SnapshotPart): number {
    return this.#prepare<[string], number>(
      'UPDATE snapshot_generations SET gen = gen + 1 WHERE part = ? RETURNING gen',
    )
      .pluck()
      .get(part) as number;
  }

  // Seat settings.

  seatSettings(): SeatSettings {
    const row = this.#prepare<[], { user_cap: number | null; when_full: WhenFull }>(
      'SELECT user_cap, when_full FROM seat_settings WHERE id = 1',
    ).get();
    return row ? { userCap: row.user_cap, whenFull: row.when_full } : DEFAULT_SEAT_SETTINGS;
  }

  setSeatSettings(settings: SeatSettings): void {
    this.#prepare('UPDATE seat_settings SET user_cap = ?, when_full = ? WHERE id = 1').run(
      settings.userCap,
      settings.whenFull,
    );
  }

  // Licenses.

  liveLicenses(): LicenseRecord[] {
    return this.all<LicenseRow>(`SELECT ${LICENSE_COLUMNS} FROM licenses WHERE deleted = 0 ORDER BY id`).map(
      licenseFromRow,
    );
  }

  allLicenses(): LicenseRecord[] {
    return this.all<LicenseRow>(`SELECT ${LICENSE_COLUMNS} FROM licenses ORDER BY id`).map(licenseFromRow);
  }

  licenseById(id: number): LicenseRecord | undefined {
    const row = this.#prepare<[number], LicenseRow>(
      `SELECT ${LICENSE_COLUMNS} FROM licenses WHERE id = ?`,
    ).get(id);
    return row && licenseFromRow(row);
  }

  licensesByUuid(uuid: string): LicenseRecord[] {
    return this.all<LicenseRow>(
      `SELECT ${LICENSE_COLUMNS} FROM licenses WHERE uuid = ? ORDER BY id`,
      uuid,
    ).map(licenseFromRow);
  }

  insertLicense(license: NewLicense, now: Date): number {
    const at = now.toISOString();
    const { lastInsertRowid } = this.#prepare(
      `INSERT INTO licenses (uuid, license_key, payload, hard_delete, added_at, updated_at)
         VALUES (?, ?, ?, ?, ?, ?)`,
    ).run(
      license.claims.uuid,
      license.licenseKey,
      JSON.stringify(license.payload),
      license.claims.hardDelete ? 1 : 0,
      at,
      at,
    );
    return Number(lastInsertRowid);
  }

  invalidateLicenses(uuid: string, now: Date): void {
    this.#prepare(
      `UPDATE licenses SET invalidated = 1, updated_at = ?
         WHERE uuid = ? AND deleted = 0 AND invalidated = 0`,
    ).run(now.toISOString(), uuid);
  }

  markLicenseDeleted(id: number, now: Date): void {
    this.#prepare('UPDATE licenses SET deleted = 1, updated_at = ? WHERE id = ?').run(now.toISOString(), id);
  }

  // Tokens.

  liveTokens(): { hash: string; token: TokenRecord }[] {
    return this.all<TokenRow & { hash: string }>(
      `SELECT ${TOKEN_COLUMNS}, hash FROM tokens WHERE revoked_at IS NULL ORDER BY id`,
    ).map((row) => ({ hash: row.hash, token: tokenFromRow(row) }));
  }

  tokenById(id: number): TokenRecord | undefined {
    const row = this.#prepare<[number], TokenRow>(`SELECT ${TOKEN_COLUMNS} FROM tokens WHERE id = ?`).get(id);
    return row && tokenFromRow(row);
  }

  tokenByHash(hash: string): TokenRecord | undefined {
    const row = this.#prepare<[string], TokenRow>(`SELECT ${TOKEN_COLUMNS} FROM tokens WHERE hash = ?`).get(
      hash,
    );
    return row && tokenFromRow(row);
  }

  insertToken(token: NewToken, now: Date, bootstrap: boolean): number {
    const { lastInsertRowid } = this.#prepare(
      'INSERT INTO tokens (name, hash, permissions, bootstrap, created_at) VALUES (?, ?, ?, ?, ?)',
    ).run(token.name, token.hash, JSON.stringify(token.permissions), bootstrap ? 1 : 0, now.toISOString());
    return Number(lastInsertRowid);
  }

  revokeToken(id: number, now: Date): void {
    this.#prepare('UPDATE tokens SET revoked_at = ? WHERE id = ?').run(now.toISOString(), id);
  }

  liveBootstrapTokenId(): number | undefined {
    return this.#prepare<[], number>('SELECT id FROM tokens WHERE bootstrap = 1 AND revoked_at IS NULL')
      .pluck()
      .get();
  }

  setTokenHash(id: number, hash: string): void {
    this.#prepare('UPDATE tokens SET hash = ? WHERE id = ?').run(hash, id);
  }

  // Users and their counters.

  /** The user holding an identity key (domain/user-identity.ts). */
  userIdByKey(identityKey: string): number | undefined {
    return this.#prepare<[string], number>('SELECT id FROM users WHERE identity_key = ?')
      .pluck()
      .get(identityKey);
  }

  /**
   * Up to `limit` users not disabled and last active before `before`, after id `afterId`, in id
   * order (domain/user-bulk.ts). The first chunk goes through the activity index: cheap when few
   * users are inactive, the usual case. The chunks after it walk the table by id (NOT INDEXED), each
   * reading on from the last; through the index each would read and sort every candidate left.
   */
  usersInactiveBefore(before: Date, afterId: number, limit: number): UserRecord[] {
    const from = afterId === 0 ? 'users' : 'users NOT INDEXED';
    return this.#prepare<[string, number, number], UserRow>(
      `SELECT ${USER_COLUMNS} FROM ${from} WHERE disabled = 0 AND last_activity_at < ? AND id > ?
        ORDER BY id LIMIT ?`,
    )
      .all(before.toISOString(), afterId, limit)
      .map(userFromRow);
  }

  userById(id: number): UserRecord | undefined {
    const row = this.#prepare<[number], UserRow>(`SELECT ${USER_COLUMNS} FROM users WHERE id = ?`).get(id);
    return row && userFromRow(row);
  }

  insertUser(user: UserValues): number {
    const derived = identityColumns(user);
    const { lastInsertRowid } = this.#prepare(
      `INSERT INTO users (iamid, userid, name, email, user_type, created_at, last_activity_at, disabled,
           pending, identity_key, search_text)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    ).run(
      user.iamid,
      user.userid,
      user.name,
      user.email,
      user.userType,
      user.createdAt.toISOString(),
      user.lastActivityAt.toISOString(),
      user.disabled ? 1 : 0,
      user.pending ? 1 : 0,
      derived.identityKey,
      derived.searchText,
    );
    return Number(lastInsertRowid);
  }

  updateUser(id: number, user: UserValues): void {
    this.#prepare(
      `UPDATE users SET name = ?, email = ?, user_type = ?, disabled = ?, pending = ?, last_activity_at = ?,
           search_text = ?
         WHERE id = ?`,
    ).run(
      user.name,
      user.email,
      user.userType,
      user.disabled ? 1 : 0,
      user.pending ? 1 : 0,
      user.lastActivityAt.toISOString(),
      searchText(user),
      id,
    );
  }

  deleteUser(id: number): void {
    this.#prepare('DELETE FROM users WHERE id = ?').run(id);
  }

  userPage(
    clause: string,
    params: (string | number)[],
    size: number,
    offset: number,
  ): { users: UserRecord[]; total: number } {
    const total = this.count(`SELECT count(*) AS n FROM users ${clause}`, ...params);
    const users = this.all<UserRow>(
      `SELECT ${USER_COLUMNS} FROM users ${clause} ORDER BY id LIMIT ? OFFSET ?`,
      ...params,
      size,
      offset,
    ).map(userFromRow);
    return { users, total };
  }

  usersByType(): Record<UserType, number> {
    const totals: Record<UserType, number> = { dataConsumer: 0, policyOwner: 0 };
    for (const row of this.all<{ user_type: UserType; n: number }>(
      'SELECT user_type, count(*) AS n FROM users GROUP BY user_type',
    ))
      totals[row.user_type] = row.n;
    return totals;
  }

  moveCounter(move: CounterMove): void {
    this.#kept = undefined;
    this.#movedInWrite = true;
    this.#prepare(
      `INSERT INTO activity_counts (day, user_type, n) VALUES (?, ?, ?)
         ON CONFLICT (day, user_type) DO UPDATE SET n = n + excluded.n`,
    ).run(move.day, move.userType, move.delta);
  }

  /**
   * The counters of the days after `day`, summed by type in one pass: a `GROUP BY user_type` sorts
   * the window's rows in a temporary b-tree (730 rows at a 365-day window: 131 µs against 77 µs).
   * One CASE per UserType (src/domain/users.ts).
   */
  countersAfter(day: string): Record<UserType, number> {
    if (!this.#writing) return this.#sumCountersAfter(day);
    // Under the write lock: the sum kept from an earlier change holds while no other connection has
    // committed (data_version) and this one has moved no counter since (moveCounter forgets it).
    const version = this.dataVersion();
    const kept = this.#kept;
    if (kept?.version === version && kept.day === day) return { ...kept.counts };
    const counts = this.#sumCountersAfter(day);
    // A sum that includes this transaction's own moves could be rolled back with them: not kept.
    if (!this.#movedInWrite) this.#kept = { version, day, counts: { ...counts } };
    return counts;
  }

  #sumCountersAfter(day: string): Record<UserType, number> {
    return this.#prepare<[string], Record<UserType, number>>(
      `SELECT coalesce(sum(CASE WHEN user_type = 'dataConsumer' THEN n END), 0) AS dataConsumer,
              coalesce(sum(CASE WHEN user_type = 'policyOwner' THEN n END), 0) AS policyOwner
         FROM activity_counts WHERE day > ?`,
    ).get(day) as Record<UserType, number>;
  }

  /**
   * Runs `fn` as a write transaction's body (SqliteStore's #write, which holds the write lock): the
   * only place the counters' sum is kept between changes. A license add, a delete or a settings
   * change reads the active count and moves no counter, and summed the window's counters anew each
   * time (about 100 µs at a 365-day window; docs/performance.md#license-adds).
   */
  underWriteLock<T>(fn: () => T): T {
    if (this.#writing) return fn();
    this.#writing = true;
    this.#movedInWrite = false;
    try {
      return fn();
    } finally {
      this.#writing = false;
    }
  }

  /** Last activity of the non-disabled users active in [from, to), ascending. */
  activityBetween(from: string, to: string): { user_type: UserType; at: string }[] {
    return this.all(
      `SELECT user_type, last_activity_at AS at FROM users
         WHERE disabled = 0 AND last_activity_at >= ? AND last_activity_at < ? ORDER BY last_activity_at`,
      from,
      to,
    );
  }

  /** How many non-disabled users, by type, were last active in [from, to): counted, not listed. */
  activeBetween(from: string, to: string): { user_type: UserType; n: number }[] {
    return this.all(
      `SELECT user_type, count(*) AS n FROM users
         WHERE disabled = 0 AND last_activity_at >= ? AND last_activity_at < ? GROUP BY user_type`,
      from,
      to,
    );
  }

  // Usage, thresholds, events, audit.

  /** A day recorded before migration 9 keeps no peak by type (docs/usage-report.md#peaks-by-user-type). */
  raiseUsage(usage: UsageRaise): void {
    this.#prepare(
      `INSERT INTO usage_daily (day, peak_active_users, peak_data_consumers, peak_policy_owners,
                                license_seats, hard_seats) VALUES (?, ?, ?, ?, ?, ?)
         ON CONFLICT (day) DO UPDATE SET
           peak_active_users = max(peak_active_users, excluded.peak_active_users),
           peak_data_consumers = CASE WHEN peak_data_consumers IS NULL THEN NULL
             ELSE max(peak_data_consumers, excluded.peak_data_consumers) END,
           peak_policy_owners = CASE WHEN peak_policy_owners IS NULL THEN NULL
             ELSE max(peak_policy_owners, excluded.peak_policy_owners) END,
           license_seats = excluded.license_seats, hard_seats = excluded.hard_seats`,
    ).run(
      usage.day,
      usage.peakActiveUsers,
      usage.peakByType.dataConsumer,
      usage.peakByType.policyOwner,
      usage.licenseSeats,
      usage.hardSeats,
    );
  }

  usageDay(day: string): UsageDay | undefined {
    const row = this.#prepare<[string], UsageRow>('SELECT * FROM usage_daily WHERE day = ?').get(day);
    return row && usageFromRow(row);
  }

  usageRange(fromDay: string, toDay: string): UsageDay[] {
    return this.all<UsageRow>(
      'SELECT * FROM usage_daily WHERE day >= ? AND day <= ? ORDER BY day',
      fromDay,
      toDay,
    ).map(usageFromRow);
  }

  firedThresholds(): number[] {
    return this.#prepare<[], number>('SELECT percent FROM seat_alerts ORDER BY percent').pluck().all();
  }

  setFiredThresholds(fired: readonly number[]): void {
    const now = this.firedThresholds();
    if (now.length === fired.length && now.every((p, i) => p === fired[i])) return;
    this.#prepare('DELETE FROM seat_alerts').run();
    for (const percent of fired) this.#prepare('INSERT INTO seat_alerts (percent) VALUES (?)').run(percent);
  }

  /**
   * Stores an event and, in the same transaction, one delivery of it to each enabled endpoint whose
   * filter takes it (docs/webhooks.md); a `ping` goes only where its test sends it. Returns the id.
   */
  insertEvent(event: EventDraft, now: Date): string {
    const id = newEventId();
    // A merged event adds its count to the row already there (docs/events.md).
    this.#prepare(
      `INSERT INTO events (id, type, at, data, merge_key) VALUES (?, ?, ?, ?, ?)
         ON CONFLICT (merge_key) DO UPDATE SET data = json_set(data, '$.count',
           json_extract(data, '$.count') + json_extract(excluded.data, '$.count'))`,
    ).run(id, event.type, now.toISOString(), JSON.stringify(event.data), event.mergeKey ?? null);
    if (event.type === 'ping') return id;
    // A merged event's id was not stored (the first one's was): its deliveries already exist.
    this.#prepare(
      `INSERT INTO webhook_deliveries (webhook_id, event_id, next_attempt_at, created_at)
         SELECT w.id, @id, @now, @now FROM webhooks w
         WHERE w.enabled = 1 AND EXISTS (SELECT 1 FROM events WHERE id = @id)
           AND EXISTS (SELECT 1 FROM json_each(w.events) WHERE value IN ('*', @type))`,
    ).run({ id, now: now.toISOString(), type: event.type });
    return id;
  }

  insertAudit(entry: NewAuditEntry): void {
    this.#prepare(
      `INSERT INTO audit_events (at, actor_token_id, actor_name, action, target, target_name, outcome, code, client_address)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    ).run(
      entry.at.toISOString(),
      entry.actorTokenId,
      entry.actorName,
      entry.action,
      entry.target,
      entry.targetName,
      entry.outcome,
      entry.code,
      entry.clientAddress,
    );
  }

  addAuthFailures(count: AuthFailureCount): void {
    this.#prepare(
      `INSERT INTO auth_failures (minute, client_address, count, first_at, last_at) VALUES (?, ?, ?, ?, ?)
         ON CONFLICT (minute, client_address) DO UPDATE SET count = count + excluded.count,
           first_at = min(first_at, excluded.first_at), last_at = max(last_at, excluded.last_at)`,
    ).run(
      count.minute.toISOString(),
      count.clientAddress,
      count.count,
      count.firstAt.toISOString(),
      count.lastAt.toISOString(),
    );
  }
}

/** The activity counts of a window whose first day is `firstDay`; run inside a read transaction. */
export function activityCounts(q: SqliteQueries, firstDay: string): ActivityCounts {
  const start = new Date(`${firstDay}T00:00:00.000Z`);
  const times: Record<UserType, number[]> = { dataConsumer: [], policyOwner: [] };
  for (const row of q.activityBetween(start.toISOString(), startOfNextUtcDay(start).toISOString()))
    times[row.user_type].push(Date.parse(row.at));
  return { firstDay, afterFirstDay: q.countersAfter(firstDay), firstDayTimes: times };
}

/**
 * Active users by type at the window start `since`: what activeUsersAt(activityCounts(q,
 * utcDay(since)), since) answers, with the window's first day counted in SQL instead of read user
 * by user. A change needs the count at one instant; the snapshot keeps the first day's times
 * because it answers for every instant of that day (docs/performance.md, Findings, "Seat claims").
 */
export function activeAt(q: SqliteQueries, since: Date): Record<UserType, number> {
  const counts = q.countersAfter(utcDay(since));
  for (const row of q.activeBetween(since.toISOString(), startOfNextUtcDay(since).toISOString()))
    counts[row.user_type] += row.n;
  return counts;
}
