import type { PoolClient, QueryResultRow } from 'pg';
import { LicensorError } from '../../domain/errors.js';
import {
  licenseChangeEffects,
  licensesAfterAdd,
  planAddLicense,
  storedLicense,
} from '../../domain/license-changes.js';
import type { LicenseRecord } from '../../domain/license.js';
import { activeSince } from '../../domain/users.js';
import { licenseFromRow, type LicenseRow } from '../rows.js';
import type { ChangeContext, NewLicense } from '../store.js';
import type { PostgresChanges } from './postgres-change.js';
import * as q from './postgres-queries.js';
import type { PostgresSeats, SeatReads } from './postgres-seats.js';
import { batch, sql } from './postgres-sql.js';

/**
 * License adds and deletes on PostgreSQL: under the licenses lock and the seat lock, each one
 * transaction with its audit entry and events (docs/licenses.md).
 */
export class PostgresLicenses {
  readonly #c: PostgresChanges;
  readonly #seats: PostgresSeats;

  constructor(changes: PostgresChanges, seats: PostgresSeats) {
    this.#c = changes;
    this.#seats = seats;
  }

  /**
   * The rest of a license change, once its row is planned: its audit entry and events (decided by
   * the domain at `now`, with the count read under the lock), its writes, and the commit.
   */
  async #commitChange(
    client: PoolClient,
    ctx: ChangeContext,
    at: { reads: SeatReads; since0: Date; now: Date; gen: string },
    change: {
      kind: 'added' | 'deleted';
      license: LicenseRecord;
      liveBefore: LicenseRecord[];
      liveAfter: LicenseRecord[];
      writes: string[];
    },
  ): Promise<QueryResultRow[][]> {
    const { reads, since0, now, gen } = at;
    const effects = licenseChangeEffects(
      change.kind,
      change.license,
      {
        liveBefore: change.liveBefore,
        liveAfter: change.liveAfter,
        activeUserCount: await this.#seats.countAt(client, reads, since0, now),
        firedThresholds: reads.fired,
      },
      now,
      (licenses) => this.#seats.effectiveAt(licenses, now),
    );
    return this.#seats.commitLicenses(client, gen, change.liveAfter, [
      ...change.writes,
      ...q.setFiredThresholds(reads.fired, effects.firedThresholds),
      ...this.#c.effectStatements({ audit: effects.audit, events: effects.events, touches: [] }, ctx, now),
    ]);
  }

  async addLicense(license: NewLicense, ctx: ChangeContext): Promise<LicenseRecord> {
    const result = await this.#c.tx(async (client) => {
      const since0 = activeSince(ctx.clock.now(), this.#seats.windowDays);
      const results = await batch(client, [
        'BEGIN',
        q.LOCK_LICENSES_SQL,
        ...this.#seats.readStatements(since0),
        sql`SELECT ${q.LICENSE_COLUMNS_SQL} FROM licenses WHERE uuid = ${license.claims.uuid} ORDER BY id`,
        `SELECT nextval(pg_get_serial_sequence('licenses', 'id')) AS id`,
        q.advanceGeneration('licenses'),
      ]);
      const reads = this.#seats.reads(results, 2);
      const now = ctx.clock.now();
      const { supersede } = planAddLicense(license, q.licensesFromRows(results[8] ?? []));
      const id = Number(results[9]?.[0]?.id);
      const gen = String(results[10]?.[0]?.gen);
      const liveBefore = await this.#seats.licensesAt(client, reads.licensesGen);
      const added = storedLicense(license, id, now);
      const liveAfter = licensesAfterAdd(liveBefore, added, supersede, now);
      const written = await this.#commitChange(
        client,
        ctx,
        { reads, since0, now, gen },
        {
          kind: 'added',
          license: added,
          liveBefore,
          liveAfter,
          writes: [
            q.insertLicense(id, license, now),
            ...(supersede.length > 0 ? [q.invalidateLicenses(supersede, now)] : []),
          ],
        },
      );
      return licenseFromRow(written[0]?.[0] as LicenseRow);
    });
    this.#c.committed(['licenses']);
    return result;
  }

  async deleteLicense(id: number, ctx: ChangeContext): Promise<LicenseRecord> {
    const notFound = (): LicensorError => new LicensorError('LICENSE_NOT_FOUND', `no license with id ${id}`);
    if (!Number.isSafeInteger(id)) throw notFound();
    const result = await this.#c.tx(async (client) => {
      const since0 = activeSince(ctx.clock.now(), this.#seats.windowDays);
      const results = await batch(client, [
        'BEGIN',
        q.LOCK_LICENSES_SQL,
        ...this.#seats.readStatements(since0),
        sql`SELECT ${q.LICENSE_COLUMNS_SQL} FROM licenses WHERE id = ${id}`,
        q.advanceGeneration('licenses'),
      ]);
      const reads = this.#seats.reads(results, 2);
      const gen = String(results[9]?.[0]?.gen);
      const now = ctx.clock.now();
      const existing = results[8]?.[0] && licenseFromRow(results[8][0] as LicenseRow);
      if (!existing || existing.deleted) throw notFound();
      const liveBefore = await this.#seats.licensesAt(client, reads.licensesGen);
      const deleted: LicenseRecord = { ...existing, deleted: true, updatedAt: now };
      const liveAfter = liveBefore.filter((l) => l.id !== id);
      const written = await this.#commitChange(
        client,
        ctx,
        { reads, since0, now, gen },
        {
          kind: 'deleted',
          license: deleted,
          liveBefore,
          liveAfter,
          writes: [
            sql`UPDATE licenses SET deleted = true, updated_at = ${now} WHERE id = ${id} RETURNING ${q.LICENSE_COLUMNS_SQL}`,
          ],
        },
      );
      return licenseFromRow(written[0]?.[0] as LicenseRow);
    });
    this.#c.committed(['licenses']);
    return result;
  }
}
