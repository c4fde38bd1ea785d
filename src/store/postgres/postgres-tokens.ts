import { changeAudit } from '../../domain/changes.js';
import { LicensorError } from '../../domain/errors.js';
import { bootstrapToken, checkBootstrapSecret, planRevokeToken } from '../../domain/tokens.js';
import { tokenFromRow, type TokenRow } from '../rows.js';
import type { ChangeContext, NewToken, TokenRecord } from '../store.js';
import type { PostgresChanges } from './postgres-change.js';
import { LOCK_BOOTSTRAP_TOKEN, storeLockSql } from './postgres-connection.js';
import * as q from './postgres-queries.js';
import { batch, sql } from './postgres-sql.js';

/** The advisory lock that makes "no live token" and a token insert one step across processes. */
const LOCK_BOOTSTRAP_SQL = storeLockSql(LOCK_BOOTSTRAP_TOKEN);
const NEXT_TOKEN_ID_SQL = `SELECT nextval(pg_get_serial_sequence('tokens', 'id')) AS id`;

/** The token changes of the PostgreSQL store, each one transaction. */
export class PostgresTokens {
  readonly #c: PostgresChanges;

  constructor(changes: PostgresChanges) {
    this.#c = changes;
  }

  async createToken(token: NewToken, ctx: ChangeContext): Promise<TokenRecord> {
    const created = await this.#c.tx(async (client) => {
      // The bootstrap lock: createBootstrapTokenIfNone must not find "no live token" while this
      // insert is on its way. The time is read once it is held (docs/seats.md#time-under-the-lock),
      // so the audit entry is not dated before a bootstrap token this create waited for.
      const results = await batch(client, ['BEGIN', LOCK_BOOTSTRAP_SQL, NEXT_TOKEN_ID_SQL]);
      const now = ctx.clock.now();
      const id = Number(results[2]?.[0]?.id);
      const written = await batch(client, [
        insertToken(id, token, now, false),
        ...this.#c.effectStatements(
          { audit: changeAudit('token.create', 'token', id, token.name), touches: ['tokens'] },
          ctx,
          now,
        ),
      ]);
      return tokenFromRow(written[0]?.[0] as TokenRow);
    });
    this.#c.committed(['tokens']);
    return created;
  }

  async revokeToken(id: number, ctx: ChangeContext): Promise<TokenRecord> {
    if (!Number.isSafeInteger(id)) throw new LicensorError('TOKEN_NOT_FOUND', `no live token with id ${id}`);
    const revoked = await this.#c.tx(async (client) => {
      // Every live token, locked: a concurrent revoke waits here, then re-reads without the token
      // this one revoked, so of two revokes of the last two administrator tokens one is refused.
      const [, live] = await batch(client, [
        'BEGIN',
        `SELECT ${q.TOKEN_COLUMNS} FROM tokens WHERE revoked_at IS NULL ORDER BY id FOR UPDATE`,
      ]);
      const token = planRevokeToken(
        id,
        (live ?? []).map((row) => tokenFromRow(row as TokenRow)),
      );
      const now = ctx.clock.now();
      const [rows] = await batch(client, [
        sql`UPDATE tokens SET revoked_at = ${now} WHERE id = ${id} RETURNING ${q.TOKEN_COLUMNS_SQL}`,
        ...this.#c.effectStatements(
          { audit: changeAudit('token.revoke', 'token', id, token.name), touches: ['tokens'] },
          ctx,
          now,
        ),
      ]);
      return tokenFromRow(rows?.[0] as TokenRow);
    });
    this.#c.committed(['tokens']);
    return revoked;
  }

  async setBootstrapToken(hash: string, now: Date): Promise<TokenRecord> {
    const token = await this.#c.tx(async (client) => {
      // Processes starting together with one LICENSOR_ADMIN_TOKEN would otherwise each find no
      // bootstrap token and each insert one; the second insert would fail on the unique hash.
      const [, , same, current, next] = await batch(client, [
        'BEGIN',
        LOCK_BOOTSTRAP_SQL,
        sql`SELECT bootstrap, revoked_at IS NOT NULL AS revoked FROM tokens WHERE hash = ${hash}`,
        'SELECT id FROM tokens WHERE bootstrap AND revoked_at IS NULL ORDER BY id LIMIT 1',
        NEXT_TOKEN_ID_SQL,
      ]);
      checkBootstrapSecret(same?.[0] as { bootstrap: boolean; revoked: boolean } | undefined);
      const existing: unknown = current?.[0]?.id;
      const [rows] = await batch(client, [
        existing === undefined
          ? insertToken(Number(next?.[0]?.id), bootstrapToken(hash), now, true)
          : sql`UPDATE tokens SET hash = ${hash} WHERE id = ${Number(existing)} RETURNING ${q.TOKEN_COLUMNS_SQL}`,
        ...q.announce(this.#c.schema, 'tokens'),
        'COMMIT',
      ]);
      return tokenFromRow(rows?.[0] as TokenRow);
    });
    this.#c.committed(['tokens']);
    return token;
  }

  async createBootstrapTokenIfNone(hash: string, now: Date): Promise<boolean> {
    const created = await this.#c.tx(async (client) => {
      // "No live token" is a fact about rows that do not exist yet, which no row lock can hold;
      // the advisory lock makes check and insert one step across processes.
      const [, , live, next] = await batch(client, [
        'BEGIN',
        LOCK_BOOTSTRAP_SQL,
        'SELECT 1 FROM tokens WHERE revoked_at IS NULL LIMIT 1',
        NEXT_TOKEN_ID_SQL,
      ]);
      if ((live?.length ?? 0) > 0) {
        await client.query('COMMIT');
        return false;
      }
      await batch(client, [
        insertToken(Number(next?.[0]?.id), bootstrapToken(hash), now, true),
        ...q.announce(this.#c.schema, 'tokens'),
        'COMMIT',
      ]);
      return true;
    });
    if (created) this.#c.committed(['tokens']);
    return created;
  }
}

function insertToken(id: number, token: NewToken, now: Date, bootstrap: boolean): string {
  return sql`INSERT INTO tokens (id, name, hash, permissions, bootstrap, created_at) OVERRIDING SYSTEM VALUE
    VALUES (${id}, ${token.name}, ${token.hash}, ${JSON.stringify(token.permissions)}::jsonb, ${bootstrap}, ${now})
    RETURNING ${q.TOKEN_COLUMNS_SQL}`;
}
