import { LicensorError } from '../../domain/errors.js';
import {
  licenseChangeEffects,
  licensesAfterAdd,
  licensesAfterDelete,
  planAddLicense,
  storedLicense,
} from '../../domain/license-changes.js';
import type { LicenseRecord } from '../../domain/license.js';
import { activeSince } from '../../domain/users.js';
import { licenseFromRow, type LicenseRow } from '../rows.js';
import type { ChangeContext, NewLicense } from '../store.js';
import { ChangeBatches, isRefusal, type Outcome, type Queued } from './postgres-batches.js';
import type { EffectsAt, PostgresChanges } from './postgres-change.js';
import * as q from './postgres-queries.js';
import type { PostgresSeats } from './postgres-seats.js';
import { batch, sql } from './postgres-sql.js';

/** A license add of a batch that writes, and the record it stores. */
interface AddWriting {
  change: Queued<NewLicense, LicenseRecord>;
  added: LicenseRecord;
}

/**
 * License adds and deletes on PostgreSQL: under the licenses lock and the seat lock, in one
 * transaction with their audit entries and events (docs/licenses.md). Adds go in batches, one add
 * alone being a batch of one (docs/licenses.md#batched-adds); a delete runs alone.
 */
export class PostgresLicenses {
  readonly #c: PostgresChanges;
  readonly #seats: PostgresSeats;
  readonly #adds: ChangeBatches<NewLicense, LicenseRecord>;

  constructor(changes: PostgresChanges, seats: PostgresSeats) {
    this.#c = changes;
    this.#seats = seats;
    this.#adds = new ChangeBatches((adds) => this.#addTogether(adds));
  }

  addLicense(license: NewLicense, ctx: ChangeContext): Promise<LicenseRecord> {
    return this.#adds.submit(license, ctx);
  }

  /**
   * Adds decided and committed together, in the order asked, in one transaction and two round
   * trips: each one's live licenses before it are the ones the adds before it left, its duplicate
   * check counts them, and its events and thresholds follow theirs, so each is decided as if the
   * ones before it had committed first. One generation and one announcement for the batch.
   */
  async #addTogether(
    adds: Queued<NewLicense, LicenseRecord>[],
  ): Promise<Outcome<NewLicense, LicenseRecord>[]> {
    const uuids = adds.map((a) => a.input.claims.uuid);
    const written = await this.#c.tx(async (client) => {
      const since0 = activeSince(adds[0]?.ctx.clock.now() ?? new Date(), this.#seats.windowDays);
      const results = await batch(client, [
        'BEGIN',
        q.LOCK_LICENSES_SQL,
        ...this.#seats.readStatements(since0),
        sql`SELECT ${q.LICENSE_COLUMNS_SQL} FROM licenses WHERE uuid = ANY(${uuids}) ORDER BY id`,
        sql`SELECT nextval(pg_get_serial_sequence('licenses', 'id')) AS id FROM generate_series(1, ${adds.length})`,
        q.advanceGeneration('licenses'),
      ]);
      const reads = this.#seats.reads(results, 2);
      const stored = q.licensesFromRows(results[8] ?? []);
      const ids = (results[9] ?? []).map((r) => Number(r.id));
      const gen = String(results[10]?.[0]?.gen);
      let live = await this.#seats.licensesAt(client, reads.licensesGen);
      let fired = reads.fired;
      const statements: string[] = [];
      // Adjacent adds share one INSERT. An add with statements of its own after its row (a
      // supersede's UPDATE, the fired thresholds) ends the run, so they follow the rows before them
      // and precede the ones after, as one add at a time would leave them.
      let run: { id: number; license: NewLicense; now: Date }[] = [];
      const endRun = (): void => {
        if (run.length > 0) statements.push(q.insertLicenses(run));
        run = [];
      };
      const effects: EffectsAt[] = [];
      const outcomes: (AddWriting | { change: Queued<NewLicense, LicenseRecord>; refusal: unknown })[] = [];
      for (const [i, change] of adds.entries()) {
        const { input: license, ctx } = change;
        try {
          const now = ctx.clock.now();
          const sameUuid = stored.filter((l) => l.uuid === license.claims.uuid);
          const { supersede } = planAddLicense(license, sameUuid);
          const id = ids[i] as number;
          const added = storedLicense(license, id, now);
          const liveAfter = licensesAfterAdd(live, added, supersede, now);
          const decided = licenseChangeEffects(
            'added',
            added,
            {
              liveBefore: live,
              liveAfter,
              activeUserCount: await this.#seats.countAt(client, reads, since0, now),
              firedThresholds: fired,
            },
            now,
            (licenses) => this.#seats.effectiveAt(licenses, now),
          );
          const after = [
            ...(supersede.length > 0 ? [q.invalidateLicenses(supersede, now)] : []),
            ...q.setFiredThresholds(fired, decided.firedThresholds),
          ];
          outcomes.push({ change, added });
          run.push({ id, license, now });
          if (after.length > 0) {
            endRun();
            statements.push(...after);
          }
          effects.push({ effects: { audit: decided.audit, events: decided.events, touches: [] }, ctx, now });
          // The adds after this one find it: as a license with its uuid, and among the live ones.
          stored.push(added);
          live = liveAfter;
          fired = decided.firedThresholds;
        } catch (refusal) {
          if (!isRefusal(refusal)) throw refusal;
          outcomes.push({ change, refusal });
        }
      }
      endRun();
      if (effects.length === 0) {
        await client.query('ROLLBACK');
        return { outcomes, wrote: false };
      }
      await this.#seats.commitLicenses(client, gen, live, [
        ...statements,
        ...this.#c.effectRows(effects),
        'COMMIT',
      ]);
      return { outcomes, wrote: true };
    });
    if (written.wrote) this.#c.committed(['licenses']);
    // Each add answers with the record it decided and wrote, as the SQLite store does: reading
    // the row back would return the same values and parse the key's claims a second time.
    return written.outcomes.map((o) => ('refusal' in o ? o : { change: o.change, result: () => o.added }));
  }

  /** Resolves once the adds asked for so far are answered. */
  drain(): Promise<void> {
    return this.#adds.drain();
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
      const liveAfter = licensesAfterDelete(liveBefore, id);
      const effects = licenseChangeEffects(
        'deleted',
        deleted,
        {
          liveBefore,
          liveAfter,
          activeUserCount: await this.#seats.countAt(client, reads, since0, now),
          firedThresholds: reads.fired,
        },
        now,
        (licenses) => this.#seats.effectiveAt(licenses, now),
      );
      const written = await this.#seats.commitLicenses(client, gen, liveAfter, [
        sql`UPDATE licenses SET deleted = true, updated_at = ${now} WHERE id = ${id} RETURNING ${q.LICENSE_COLUMNS_SQL}`,
        ...q.setFiredThresholds(reads.fired, effects.firedThresholds),
        ...this.#c.effectStatements({ audit: effects.audit, events: effects.events, touches: [] }, ctx, now),
      ]);
      return licenseFromRow(written[0]?.[0] as LicenseRow);
    });
    this.#c.committed(['licenses']);
    return result;
  }
}
