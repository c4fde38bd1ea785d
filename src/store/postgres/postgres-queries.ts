import type { PoolClient, QueryResultRow } from 'pg';
import {
  netCounterMoves,
  type CounterMove,
  type NewAuditEntry,
  type SnapshotPart,
  type UsageRaise,
} from '../../domain/changes.js';
import type { EventDraft } from '../../domain/events.js';
import type { NewLicense } from '../../domain/license-changes.js';
import type { LicenseRecord } from '../../domain/license.js';
import { DEFAULT_SEAT_SETTINGS, type SeatSettings, type WhenFull } from '../../domain/seat-policy.js';
import type { UserValues } from '../../domain/user-changes.js';
import { identityColumns, searchText } from '../../domain/user-identity.js';
import { startOfNextUtcDay, utcDay, type ActivityCounts, type UserType } from '../../domain/users.js';
import { licenseFromRow, newEventId, tokenFromRow, type LicenseRow, type TokenRow } from '../rows.js';
import type { AuthFailureCount, TokenRecord } from '../store.js';
import { LOCK_LICENSES, LOCK_SEATS, storeLockSql } from './postgres-connection.js';
import { batch, literal, Raw, sql } from './postgres-sql.js';

/**
 * The SQL of the PostgreSQL store, as statements to batch (postgres-sql.ts). It decides nothing:
 * postgres-store.ts sends these as the domain's plans say.
 */

export const LICENSE_COLUMNS = 'id, uuid, license_key, payload, updated_at, deleted, invalidated';
export const TOKEN_COLUMNS = 'id, name, permissions, created_at, revoked_at, bootstrap';
export const USER_COLUMNS =
  'id, userid, iamid, name, email, user_type, created_at, last_activity_at, disabled, pending';
export const USAGE_COLUMNS =
  'day, peak_active_users, peak_data_consumers, peak_policy_owners, license_seats, hard_seats';
export const AUDIT_COLUMNS =
  'id, at, actor_token_id, actor_name, action, target, target_name, outcome, code, client_address';
export const LICENSE_COLUMNS_SQL = new Raw(LICENSE_COLUMNS);
export const TOKEN_COLUMNS_SQL = new Raw(TOKEN_COLUMNS);
export const USER_COLUMNS_SQL = new Raw(USER_COLUMNS);

/** The channel every store's changes are announced on; the payload is "schema:part". */
export const CHANGES_CHANNEL = 'licensor_changes';

export const LOCK_SEATS_SQL = storeLockSql(LOCK_SEATS);
export const LOCK_LICENSES_SQL = storeLockSql(LOCK_LICENSES);
export const LOCK_LICENSES_SHARED_SQL = storeLockSql(LOCK_LICENSES, 'shared');
export const FIRED_THRESHOLDS_SQL = 'SELECT percent FROM seat_alerts ORDER BY percent';
export const LICENSES_GEN_SQL =
  'SELECT CASE WHEN is_called THEN last_value ELSE 0 END AS gen FROM snapshot_gen_licenses';
export const GENERATIONS_SQL = `SELECT
  (SELECT CASE WHEN is_called THEN last_value ELSE 0 END FROM snapshot_gen_licenses) AS licenses,
  (SELECT CASE WHEN is_called THEN last_value ELSE 0 END FROM snapshot_gen_tokens) AS tokens,
  (SELECT CASE WHEN is_called THEN last_value ELSE 0 END FROM snapshot_gen_users) AS users,
  (SELECT CASE WHEN is_called THEN last_value ELSE 0 END FROM snapshot_gen_settings) AS settings`;
export const SEAT_SETTINGS_SQL = 'SELECT user_cap, when_full FROM seat_settings WHERE id = 1';
export const LIVE_LICENSES_SQL = `SELECT ${LICENSE_COLUMNS} FROM licenses WHERE NOT deleted ORDER BY id`;
export const LIVE_TOKENS_SQL = `SELECT ${TOKEN_COLUMNS}, hash FROM tokens WHERE revoked_at IS NULL ORDER BY id`;

/**
 * How long a change decided before its locks waits for them (docs/licenses.md#guarded-adds): well
 * within COUNT_LOOKAHEAD_MS, the time its guard checked the count for. Past it, the lock wait fails
 * (SQLSTATE 55P03) and the change is decided again under its locks.
 */
export const GUARDED_LOCK_WAIT_SQL = 'SET LOCAL lock_timeout = 2000';

/** Whether `err` is a lock wait that ran out (GUARDED_LOCK_WAIT_SQL). */
export function isLockWaitTimeout(err: unknown): boolean {
  return (err as { code?: unknown } | null)?.code === '55P03';
}

/**
 * The conditions of the guards of changes decided before their locks (postgres-claim.ts,
 * postgres-add-guard.ts), each SQL that is true while what the decision read still holds.
 */
export function firedThresholdsAre(fired: readonly number[]): string {
  return sql`(SELECT coalesce(string_agg(percent::text, ',' ORDER BY percent), '') FROM seat_alerts) = ${fired.join(',')}`;
}

export function licensesGenIs(gen: string): string {
  return `(${LICENSES_GEN_SQL}) = ${sql`${gen}`}::bigint`;
}

export function seatSettingsAre({ userCap, whenFull }: SeatSettings): string {
  return sql`(SELECT count(*) FROM seat_settings WHERE id = 1 AND user_cap IS NOT DISTINCT FROM ${userCap}::bigint AND when_full = ${whenFull}) = 1`;
}

/** How far past the window's start a seat decision reads ahead; see seatCountAt(). */
export const COUNT_LOOKAHEAD_MS = 5000;

/**
 * The active count at `since` by type, and the last activity of the users who will leave the
 * window within COUNT_LOOKAHEAD_MS after it: a change that read this before reading the clock
 * under its lock can then judge at the later instant without another round trip.
 */
export function seatCountStatements(since: Date): string[] {
  const nextDay = startOfNextUtcDay(since);
  const soon = new Date(Math.min(since.getTime() + COUNT_LOOKAHEAD_MS, nextDay.getTime()));
  return [
    sql`SELECT user_type, sum(n)::bigint AS n FROM (
       SELECT user_type, n FROM activity_counts WHERE day > ${utcDay(since)}
       UNION ALL
       SELECT user_type, count(*) FROM users
       WHERE NOT disabled AND last_activity_at >= ${since} AND last_activity_at < ${nextDay}
       GROUP BY user_type
     ) AS parts GROUP BY user_type`,
    sql`SELECT user_type, last_activity_at AS at FROM users
       WHERE NOT disabled AND last_activity_at >= ${since} AND last_activity_at < ${soon}`,
  ];
}

/** A count by type read by seatCountStatements at `since`, judged at `later`; undefined when too late. */
export function seatCountAt(
  rows: { counts: QueryResultRow[]; soon: QueryResultRow[] },
  since: Date,
  later: Date,
): Record<UserType, number> | undefined {
  const limit = Math.min(since.getTime() + COUNT_LOOKAHEAD_MS, startOfNextUtcDay(since).getTime());
  if (later.getTime() < since.getTime() || later.getTime() >= limit) return undefined;
  const n: Record<UserType, number> = { dataConsumer: 0, policyOwner: 0 };
  for (const row of rows.counts) n[row.user_type as UserType] += Number(row.n);
  for (const row of rows.soon)
    if (new Date(row.at as Date).getTime() < later.getTime()) n[row.user_type as UserType]--;
  return n;
}

/** The two reads of the activity counts of a window whose first day is `firstDay`. */
export function activityCountStatements(firstDay: string): string[] {
  const start = new Date(`${firstDay}T00:00:00.000Z`);
  return [
    sql`SELECT user_type, sum(n)::bigint AS n FROM activity_counts WHERE day > ${firstDay} GROUP BY user_type`,
    sql`SELECT user_type, last_activity_at AS at FROM users
       WHERE NOT disabled AND last_activity_at >= ${start} AND last_activity_at < ${startOfNextUtcDay(start)}
       ORDER BY last_activity_at`,
  ];
}

/** The activity counts from the rows of activityCountStatements. */
export function activityCountsFrom(
  firstDay: string,
  counters: QueryResultRow[],
  times: QueryResultRow[],
): ActivityCounts {
  const counts: ActivityCounts = {
    firstDay,
    afterFirstDay: { dataConsumer: 0, policyOwner: 0 },
    firstDayTimes: { dataConsumer: [], policyOwner: [] },
  };
  const firstDayTimes: Record<UserType, number[]> = { dataConsumer: [], policyOwner: [] };
  for (const row of counters) counts.afterFirstDay[row.user_type as UserType] += Number(row.n);
  for (const row of times) firstDayTimes[row.user_type as UserType].push(new Date(row.at as Date).getTime());
  counts.firstDayTimes = firstDayTimes;
  return counts;
}

/** The activity counts of a window whose first day is `firstDay`, in one consistent read. */
export async function loadActivityCounts(client: PoolClient, firstDay: string): Promise<ActivityCounts> {
  const [, counters, times] = await batch(client, [
    'BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY',
    ...activityCountStatements(firstDay),
    'COMMIT',
  ]);
  return activityCountsFrom(firstDay, counters ?? [], times ?? []);
}

/** Live licenses, parsed. */
export function licensesFromRows(rows: QueryResultRow[]): LicenseRecord[] {
  return (rows as LicenseRow[]).map(licenseFromRow);
}

export function tokensFromRows(rows: QueryResultRow[]): Map<string, TokenRecord> {
  return new Map((rows as (TokenRow & { hash: string })[]).map((row) => [row.hash, tokenFromRow(row)]));
}

/** New licenses in one statement, with the ids the caller drew from the sequence. */
export function insertLicenses(rows: readonly { id: number; license: NewLicense; now: Date }[]): string {
  const values = rows.map(
    ({ id, license, now }) =>
      sql`(${id}, ${license.claims.uuid}, ${license.licenseKey}, ${JSON.stringify(license.payload)}::json,
      ${license.claims.hardDelete}, ${now}, ${now})`,
  );
  return `INSERT INTO licenses (id, uuid, license_key, payload, hard_delete, added_at, updated_at)
    OVERRIDING SYSTEM VALUE
    VALUES ${values.join(', ')}`;
}

export function invalidateLicenses(uuids: readonly string[], now: Date): string {
  return sql`UPDATE licenses SET invalidated = true, updated_at = ${now}
    WHERE uuid = ANY(${uuids}) AND NOT deleted AND NOT invalidated RETURNING id`;
}

export function insertUser(id: number, user: UserValues): string {
  return insertUsers([{ id, user }]);
}

/** Several new users in one statement, each row returned (callers match them by id). */
export function insertUsers(rows: readonly { id: number; user: UserValues }[]): string {
  const values = rows.map(({ id, user }) => {
    const derived = identityColumns(user);
    return sql`(${id}, ${user.iamid}, ${user.userid}, ${user.name}, ${user.email}, ${user.userType},
      ${user.createdAt}, ${user.lastActivityAt}, ${user.disabled}, ${user.pending}, ${derived.identityKey},
      ${derived.searchText})`;
  });
  return (
    `INSERT INTO users (id, iamid, userid, name, email, user_type, created_at, last_activity_at, disabled,
      pending, identity_key, search_text)
    OVERRIDING SYSTEM VALUE
    VALUES ${values.join(', ')}
    RETURNING ` + USER_COLUMNS
  );
}

export function updateUser(id: number, user: UserValues): string {
  return (
    sql`UPDATE users SET name = ${user.name}, email = ${user.email}, user_type = ${user.userType},
      disabled = ${user.disabled}, pending = ${user.pending}, last_activity_at = ${user.lastActivityAt}, search_text = ${searchText(user)}
    WHERE id = ${id} RETURNING ` + USER_COLUMNS
  );
}

/** Several users changed in one statement, each to its values (no rows returned). */
export function updateUsers(rows: readonly { id: number; user: UserValues }[]): string {
  const values = rows.map(
    ({ id, user }) =>
      sql`(${id}::bigint, ${user.name}::text, ${user.email}::text, ${user.userType}::text, ${user.disabled}::boolean,
      ${user.pending}::boolean, ${user.lastActivityAt}::timestamptz, ${searchText(user)}::text)`,
  );
  return `UPDATE users AS u SET name = v.name, email = v.email, user_type = v.user_type, disabled = v.disabled,
      pending = v.pending, last_activity_at = v.last_activity_at, search_text = v.search_text
    FROM (VALUES ${values.join(', ')})
      AS v (id, name, email, user_type, disabled, pending, last_activity_at, search_text)
    WHERE u.id = v.id`;
}

/**
 * Moves users between per-day counters: summed per counter, in (day, type) order in one
 * statement, so two transactions touching the same counters lock them in the same order.
 */
export function moveCounters(moves: readonly CounterMove[]): string[] {
  const net = netCounterMoves(moves);
  if (net.length === 0) return [];
  const rows = net.map((m, i) => sql`(${m.day}, ${m.userType}, ${m.delta}::bigint, ${i})`).join(', ');
  return [
    `INSERT INTO activity_counts (day, user_type, n)
     SELECT day, user_type, n FROM (VALUES ${rows}) AS c(day, user_type, n, i) ORDER BY i
     ON CONFLICT (day, user_type) DO UPDATE SET n = activity_counts.n + EXCLUDED.n`,
  ];
}

/**
 * How a raise of a day's usage row meets the row already there: the peaks never fall, the seats
 * are the latest seen, and a day recorded before migration 9 keeps no peak by type
 * (docs/usage-report.md#peaks-by-user-type).
 */
export const USAGE_RAISE_ON_CONFLICT = `ON CONFLICT (day) DO UPDATE SET
      peak_active_users = GREATEST(usage_daily.peak_active_users, EXCLUDED.peak_active_users),
      peak_data_consumers = CASE WHEN usage_daily.peak_data_consumers IS NULL THEN NULL
        ELSE GREATEST(usage_daily.peak_data_consumers, EXCLUDED.peak_data_consumers) END,
      peak_policy_owners = CASE WHEN usage_daily.peak_policy_owners IS NULL THEN NULL
        ELSE GREATEST(usage_daily.peak_policy_owners, EXCLUDED.peak_policy_owners) END,
      license_seats = EXCLUDED.license_seats, hard_seats = EXCLUDED.hard_seats`;

/** Raises one day's usage row (USAGE_RAISE_ON_CONFLICT says how). */
export function raiseUsage(usage: UsageRaise): string {
  const { dataConsumer, policyOwner } = usage.peakByType;
  return (
    sql`INSERT INTO usage_daily
      (day, peak_active_users, peak_data_consumers, peak_policy_owners, license_seats, hard_seats)
    VALUES (${usage.day}, ${usage.peakActiveUsers}, ${dataConsumer}, ${policyOwner},
      ${usage.licenseSeats}, ${usage.hardSeats})
    ` +
    USAGE_RAISE_ON_CONFLICT +
    ' RETURNING ' +
    USAGE_COLUMNS
  );
}

/**
 * Several raises, in order, as one statement: per day the highest peaks and the last raise's
 * seats, which is what applying them one after another leaves (the peaks never fall, the seats are
 * the latest seen). None when there is nothing to raise.
 */
export function raiseUsages(usages: readonly UsageRaise[]): string[] {
  if (usages.length === 0) return [];
  if (usages.length === 1) return [raiseUsage(usages[0] as UsageRaise)];
  const rows = usages
    .map(
      (u, i) =>
        sql`(${u.day}, ${u.peakActiveUsers}::bigint, ${u.peakByType.dataConsumer}::bigint, ${u.peakByType.policyOwner}::bigint, ${u.licenseSeats}::bigint, ${u.hardSeats}::bigint, ${i})`,
    )
    .join(', ');
  return [
    `INSERT INTO usage_daily
      (day, peak_active_users, peak_data_consumers, peak_policy_owners, license_seats, hard_seats)
    SELECT DISTINCT ON (day) day, max(p) OVER w, max(dc) OVER w, max(po) OVER w, ls, hs
    FROM (VALUES ${rows}) AS r(day, p, dc, po, ls, hs, i)
    WINDOW w AS (PARTITION BY day)
    ORDER BY day, i DESC
    ${USAGE_RAISE_ON_CONFLICT}`,
  ];
}

/** The statements that make `fired` the stored set, none when it already is. */
export function setFiredThresholds(before: readonly number[], fired: readonly number[]): string[] {
  if (before.length === fired.length && before.every((p, i) => p === fired[i])) return [];
  return [
    'DELETE FROM seat_alerts',
    ...(fired.length === 0
      ? []
      : [`INSERT INTO seat_alerts (percent) VALUES ${fired.map((p) => sql`(${p})`).join(', ')}`]),
  ];
}

/**
 * Stores an event and, in the same statement, one delivery of it to each enabled endpoint whose
 * filter takes it (docs/webhooks.md); a merged event's deliveries exist already, and a `ping` goes
 * only where its test sends it. One statement, so a batch's result positions do not move.
 */
export function insertEvent(event: EventDraft, now: Date, id: string = newEventId()): string {
  // A merged event adds its count to the row already there (docs/events.md).
  const insert = sql`INSERT INTO events (id, type, at, data, merge_key)
    VALUES (${id}, ${event.type}, ${now}, ${JSON.stringify(event.data)}::json, ${event.mergeKey ?? null})
    ON CONFLICT (merge_key) DO UPDATE SET data = jsonb_set(events.data::jsonb, '{count}',
      to_jsonb((events.data->>'count')::bigint + (EXCLUDED.data->>'count')::bigint))::json`;
  if (event.type === 'ping') return insert;
  return `WITH e AS (${insert} RETURNING id)
    INSERT INTO webhook_deliveries (webhook_id, event_id, next_attempt_at, created_at)
    ${sql`SELECT w.id, e.id, ${now}, ${now} FROM e, webhooks w WHERE e.id = ${id}`}
      AND ${takes(literal(event.type))}`;
}

/** Whether endpoint `w` is sent events of the type `typeSql` (docs/webhooks.md). */
function takes(typeSql: string): string {
  return `w.enabled AND (w.events ? '*' OR w.events ? ${typeSql})`;
}

/**
 * Events of a transaction in order, as few statements as keep that order: each run of events that
 * merge with nothing goes in one insert with its deliveries (one statement to plan instead of one
 * per event), a merged event or a `ping` alone (insertEvent). PostgreSQL inserts a
 * VALUES list in its order, so `seq` follows the order given (test/store/postgres-batches.test.ts
 * checks it).
 */
export function insertEvents(events: readonly { event: EventDraft; now: Date }[]): string[] {
  const statements: string[] = [];
  let run: { event: EventDraft; now: Date }[] = [];
  const flush = (): void => {
    if (run.length > 0) {
      const rows = run.map(
        ({ event, now }) =>
          sql`(${newEventId()}, ${event.type}, ${now}, ${JSON.stringify(event.data)}::json)`,
      );
      statements.push(`WITH e AS (INSERT INTO events (id, type, at, data) VALUES ${rows.join(', ')}
        RETURNING id, type, at)
      INSERT INTO webhook_deliveries (webhook_id, event_id, next_attempt_at, created_at)
      SELECT w.id, e.id, e.at, e.at FROM e JOIN webhooks w ON ${takes('e.type')}`);
    }
    run = [];
  };
  for (const { event, now } of events) {
    if (event.mergeKey !== undefined || event.type === 'ping') {
      flush();
      statements.push(insertEvent(event, now));
    } else run.push({ event, now });
  }
  flush();
  return statements;
}

export function insertAudit(entry: NewAuditEntry): string {
  return insertAudits([entry])[0] as string;
}

/** Audit entries in one statement, their ids in the order given; none for none. */
export function insertAudits(entries: readonly NewAuditEntry[]): string[] {
  if (entries.length === 0) return [];
  const rows = entries.map(
    (e) => sql`(${e.at}, ${e.actorTokenId}, ${e.actorName}, ${e.action}, ${e.target},
      ${e.targetName}, ${e.outcome}, ${e.code}, ${e.clientAddress})`,
  );
  return [
    `INSERT INTO audit_events (at, actor_token_id, actor_name, action, target, target_name, outcome, code, client_address)
    VALUES ${rows.join(', ')}`,
  ];
}

export function addAuthFailures(count: AuthFailureCount): string {
  return sql`INSERT INTO auth_failures (minute, client_address, count, first_at, last_at)
    VALUES (${count.minute}, ${count.clientAddress}, ${count.count}, ${count.firstAt}, ${count.lastAt})
    ON CONFLICT (minute, client_address) DO UPDATE SET count = auth_failures.count + EXCLUDED.count,
      first_at = LEAST(auth_failures.first_at, EXCLUDED.first_at),
      last_at = GREATEST(auth_failures.last_at, EXCLUDED.last_at)`;
}

/** Seat settings from their row, as SEAT_SETTINGS_SQL reads it. */
export function seatSettingsFromRows(rows: readonly QueryResultRow[]): SeatSettings {
  const row = rows[0];
  if (row === undefined) return DEFAULT_SEAT_SETTINGS;
  return {
    userCap: row.user_cap === null ? null : Number(row.user_cap),
    whenFull: row.when_full as WhenFull,
  };
}

export function setSeatSettings(settings: SeatSettings): string {
  return sql`UPDATE seat_settings SET user_cap = ${settings.userCap}, when_full = ${settings.whenFull} WHERE id = 1`;
}

/** Advances a snapshot part's generation and announces it at commit to every instance. */
export function announce(schema: string, part: SnapshotPart): string[] {
  return [advanceGeneration(part), notifyChange(schema, part)];
}

/** Advances a part's generation; answers it as `gen`. */
export function advanceGeneration(part: SnapshotPart): string {
  return sql`SELECT nextval(${`snapshot_gen_${part}`}::regclass) AS gen`;
}

/** Tells every instance, at commit, that a part changed. */
export function notifyChange(schema: string, part: SnapshotPart): string {
  return sql`SELECT pg_notify(${CHANGES_CHANNEL}, ${`${schema}:${part}`})`;
}
