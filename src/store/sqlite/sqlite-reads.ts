import type { EventRecord } from '../../domain/events.js';
import type { UserRecord } from '../../domain/users.js';
import {
  auditFilter,
  auditFromRow,
  authFailureFromRow,
  eventFromRow,
  likePattern,
  type AuditRow,
  type AuthFailureRow,
  type EventRow,
} from '../rows.js';
import type {
  AuditEntry,
  AuditQuery,
  AuthFailureCount,
  EventQuery,
  TokenRecord,
  UserQuery,
} from '../store.js';
import type { SqliteQueries } from './sqlite-queries.js';

/**
 * The SQLite store's reads that do not come from the snapshot: pages and lists, the same jobs
 * under the same names as PostgresReads. Each runs in one deferred transaction (`read`), so a
 * count and its page come from one snapshot of the database.
 */
export class SqliteReads {
  readonly #q: SqliteQueries;
  readonly #read: <T>(fn: () => T) => Promise<T>;

  constructor(q: SqliteQueries, read: <T>(fn: () => T) => Promise<T>) {
    this.#q = q;
    this.#read = read;
  }

  getUser(id: number): Promise<UserRecord | undefined> {
    return this.#read(() => this.#q.userById(id));
  }

  listUsers(query: UserQuery): Promise<{ users: UserRecord[]; total: number }> {
    return this.#read(() => {
      const where: string[] = [];
      const params: (string | number)[] = [];
      if (query.active === true) {
        where.push('disabled = 0 AND last_activity_at >= ?');
        params.push(query.activeSince.toISOString());
      } else if (query.active === false) {
        where.push('(disabled = 1 OR last_activity_at < ?)');
        params.push(query.activeSince.toISOString());
      }
      if (query.pending !== undefined) where.push(query.pending ? 'pending = 1' : 'pending = 0');
      // A pending user is stored disabled but is not one: it waits in the queue.
      if (query.disabled !== undefined)
        where.push(query.disabled ? 'disabled = 1 AND pending = 0' : 'disabled = 0');
      if (query.search !== undefined && query.search !== '') {
        // search_text holds userid, name and email folded by the domain (docs/users.md#search).
        where.push("search_text LIKE ? ESCAPE '\\'");
        params.push(likePattern(query.search));
      }
      const clause = where.length > 0 ? `WHERE ${where.join(' AND ')}` : '';
      return this.#q.userPage(clause, params, query.size, query.offset);
    });
  }

  listTokens(): Promise<TokenRecord[]> {
    return this.#read(() => this.#q.liveTokens().map((t) => t.token));
  }

  listAudit(query: AuditQuery): Promise<{ entries: AuditEntry[]; total: number }> {
    return this.#read(() => {
      // Instants are stored as ISO text in UTC (toISOString), which sorts as time does.
      const { clause, params } = auditFilter(query, () => '?');
      return {
        entries: this.#q
          .all<AuditRow>(
            `SELECT * FROM audit_events ${clause} ORDER BY id DESC LIMIT ? OFFSET ?`,
            ...params,
            query.size,
            query.offset,
          )
          .map(auditFromRow),
        total: this.#q.count(`SELECT count(*) AS n FROM audit_events ${clause}`, ...params),
      };
    });
  }

  listAuthFailures(page: {
    offset: number;
    size: number;
  }): Promise<{ entries: AuthFailureCount[]; total: number }> {
    return this.#read(() => ({
      entries: this.#q
        .all<AuthFailureRow>(
          'SELECT * FROM auth_failures ORDER BY minute DESC, client_address LIMIT ? OFFSET ?',
          page.size,
          page.offset,
        )
        .map(authFailureFromRow),
      total: this.#q.count('SELECT count(*) AS n FROM auth_failures'),
    }));
  }

  listEvents(query: EventQuery): Promise<{ events: EventRecord[]; total: number }> {
    return this.#read(() => {
      const clause = query.type === undefined ? '' : 'WHERE type = ?';
      const params = query.type === undefined ? [] : [query.type];
      return {
        events: this.#q
          .all<EventRow>(
            `SELECT id, type, at, data FROM events ${clause} ORDER BY seq DESC LIMIT ? OFFSET ?`,
            ...params,
            query.size,
            query.offset,
          )
          .map(eventFromRow),
        total: this.#q.count(`SELECT count(*) AS n FROM events ${clause}`, ...params),
      };
    });
  }
}
