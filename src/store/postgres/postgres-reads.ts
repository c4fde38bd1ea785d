import type pg from 'pg';
import type { QueryResultRow } from 'pg';
import type { UsageRaise } from '../../domain/changes.js';
import type { EventRecord } from '../../domain/events.js';
import { USER_TYPES, type UserRecord, type UserType } from '../../domain/users.js';
import {
  auditFilter,
  auditFromRow,
  authFailureFromRow,
  eventFromRow,
  likePattern,
  tokenFromRow,
  usageFromRow,
  userFromRow,
  type AuditRow,
  type AuthFailureRow,
  type EventRow,
  type TokenRow,
  type UsageRow,
  type UserRow,
} from '../rows.js';
import type {
  AuditEntry,
  AuditQuery,
  AuthFailureCount,
  EventQuery,
  TokenRecord,
  UsageDay,
  UsageSummary,
  UserQuery,
} from '../store.js';
import { inTransaction, translate, withTransaction } from './postgres-connection.js';
import { batch } from './postgres-sql.js';
import {
  AUDIT_COLUMNS,
  activityCountsFrom,
  activityCountStatements,
  raiseUsage,
  TOKEN_COLUMNS,
  USAGE_COLUMNS,
  USER_COLUMNS,
} from './postgres-queries.js';
import { activeUsersAt, utcDay } from '../../domain/users.js';

/**
 * The PostgreSQL store's reads that do not come from the snapshot: pages, summaries, history.
 * Several reads that must agree with each other (a count and its page) run in one snapshot.
 */
export class PostgresReads {
  readonly #pool: pg.Pool;

  constructor(pool: pg.Pool) {
    this.#pool = pool;
  }

  async query<R extends QueryResultRow = QueryResultRow>(text: string, values: unknown[] = []): Promise<R[]> {
    try {
      return (await this.#pool.query<R>(text, values)).rows;
    } catch (err) {
      throw translate(err);
    }
  }

  async #consistent<T>(work: (client: pg.PoolClient) => Promise<T>): Promise<T> {
    try {
      return await inTransaction(this.#pool, work, 'BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
    } catch (err) {
      throw translate(err);
    }
  }

  /** A page and the number of rows its query matches, from one snapshot. */
  #page<R extends QueryResultRow>(
    from: string,
    where: string,
    params: unknown[],
    columns: string,
    order: string,
    page: { offset: number; size: number },
  ): Promise<{ rows: R[]; total: number }> {
    return this.#consistent(async (client) => {
      const counted = await client.query<{ n: string }>(`SELECT count(*) AS n FROM ${from} ${where}`, params);
      const { rows } = await client.query<R>(
        `SELECT ${columns} FROM ${from} ${where} ORDER BY ${order} LIMIT $${params.length + 1} OFFSET $${params.length + 2}`,
        [...params, page.size, page.offset],
      );
      return { rows, total: Number(counted.rows[0]?.n ?? 0) };
    });
  }

  async getUser(id: number): Promise<UserRecord | undefined> {
    if (!Number.isSafeInteger(id)) return undefined;
    const [row] = await this.query<UserRow & QueryResultRow>(
      `SELECT ${USER_COLUMNS} FROM users WHERE id = $1`,
      [id],
    );
    return row && userFromRow(row);
  }

  async listUsers(query: UserQuery): Promise<{ users: UserRecord[]; total: number }> {
    const where: string[] = [];
    const params: unknown[] = [];
    const param = (value: unknown): string => {
      params.push(value);
      return `$${params.length}`;
    };
    if (query.active === true)
      where.push(
        `NOT disabled AND last_activity_at >= ${param(query.activeSince.toISOString())}::timestamptz`,
      );
    else if (query.active === false)
      where.push(`(disabled OR last_activity_at < ${param(query.activeSince.toISOString())}::timestamptz)`);
    if (query.pending !== undefined) where.push(query.pending ? 'pending' : 'NOT pending');
    // A pending user is stored disabled but is not one: it waits in the queue.
    if (query.disabled !== undefined)
      where.push(query.disabled ? 'disabled AND NOT pending' : 'NOT disabled');
    if (query.search !== undefined && query.search !== '') {
      // search_text holds userid, name and email folded by the domain (docs/users.md#search).
      where.push(`search_text LIKE ${param(likePattern(query.search))} ESCAPE '\\'`);
    }
    const clause = where.length > 0 ? `WHERE ${where.join(' AND ')}` : '';
    const { rows, total } = await this.#page<UserRow & QueryResultRow>(
      'users',
      clause,
      params,
      USER_COLUMNS,
      'id',
      query,
    );
    return { users: rows.map(userFromRow), total };
  }

  async usageSummary(since: Date): Promise<UsageSummary> {
    const [, byType, counters, times] = await this.#batch([
      'BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY',
      'SELECT user_type, count(*) AS n FROM users GROUP BY user_type',
      ...activityCountStatements(utcDay(since)),
      'COMMIT',
    ]);
    const totals: Record<UserType, number> = { dataConsumer: 0, policyOwner: 0 };
    for (const row of byType ?? []) totals[row.user_type as UserType] = Number(row.n);
    const counts = activityCountsFrom(utcDay(since), counters ?? [], times ?? []);
    const active = activeUsersAt(counts, since) as Record<UserType, number>;
    const [dataConsumers, policyOwners] = USER_TYPES.map((type) => ({
      totalCount: totals[type],
      activeCount: active[type],
    })) as [UsageSummary['dataConsumers'], UsageSummary['policyOwners']];
    return { dataConsumers, policyOwners };
  }

  async #batch(statements: string[]): Promise<QueryResultRow[][]> {
    try {
      return await withTransaction(this.#pool, (client) => batch(client, statements));
    } catch (err) {
      throw translate(err);
    }
  }

  async raiseUsage(usage: UsageRaise): Promise<UsageDay> {
    const [row] = await this.query<UsageRow & QueryResultRow>(raiseUsage(usage));
    return usageFromRow(row as UsageRow);
  }

  async usageHistory(fromDay: string, toDay: string): Promise<UsageDay[]> {
    const rows = await this.query<UsageRow & QueryResultRow>(
      `SELECT ${USAGE_COLUMNS} FROM usage_daily WHERE day >= $1 AND day <= $2 ORDER BY day`,
      [fromDay, toDay],
    );
    return rows.map(usageFromRow);
  }

  async listTokens(): Promise<TokenRecord[]> {
    const rows = await this.query<TokenRow & QueryResultRow>(
      `SELECT ${TOKEN_COLUMNS} FROM tokens WHERE revoked_at IS NULL ORDER BY id`,
    );
    return rows.map(tokenFromRow);
  }

  async listAudit(query: AuditQuery): Promise<{ entries: AuditEntry[]; total: number }> {
    const { clause, params } = auditFilter(query, (n, kind) =>
      kind === 'instant' ? `$${n}::timestamptz` : `$${n}`,
    );
    const { rows, total } = await this.#page<AuditRow & QueryResultRow>(
      'audit_events',
      clause,
      params,
      AUDIT_COLUMNS,
      'id DESC',
      query,
    );
    return { entries: rows.map(auditFromRow), total };
  }

  async listAuthFailures(page: {
    offset: number;
    size: number;
  }): Promise<{ entries: AuthFailureCount[]; total: number }> {
    const { rows, total } = await this.#page<AuthFailureRow & QueryResultRow>(
      'auth_failures',
      '',
      [],
      'minute, client_address, count, first_at, last_at',
      'minute DESC, client_address',
      page,
    );
    return { entries: rows.map(authFailureFromRow), total };
  }

  async listEvents(query: EventQuery): Promise<{ events: EventRecord[]; total: number }> {
    const where = query.type === undefined ? '' : 'WHERE type = $1';
    const params = query.type === undefined ? [] : [query.type];
    const { rows, total } = await this.#page<EventRow & QueryResultRow>(
      'events',
      where,
      params,
      'id, type, at, data',
      'seq DESC',
      query,
    );
    return { events: rows.map(eventFromRow), total };
  }
}
