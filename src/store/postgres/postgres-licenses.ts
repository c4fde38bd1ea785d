import { LicensorError } from '../../domain/errors.js';
import {
  guardedAddCounts,
  licenseChangeEffects,
  licensesAfterAdd,
  licensesAfterDelete,
  planAddLicense,
  storedLicense,
  type LicenseChangeEffects,
} from '../../domain/license-changes.js';
import type { LicenseList } from '../../domain/license-list.js';
import { SEAT_LOCK_MARGIN_MS } from '../../domain/user-changes.js';
import type { LicenseRecord } from '../../domain/license.js';
import { activeSince } from '../../domain/users.js';
import { licenseFromRow, type LicenseRow } from '../rows.js';
import type { ChangeContext, NewLicense } from '../store.js';
import { ChangeBatches, isRefusal, type Outcome, type Queued } from './postgres-batches.js';
import type { EffectsAt, PostgresChanges } from './postgres-change.js';
import { addGuard, advanceGenerationTo, isAddGuardFailure, takeLicenseIds } from './postgres-add-guard.js';
import * as q from './postgres-queries.js';
import type { PostgresSeats } from './postgres-seats.js';
import { batch, sql } from './postgres-sql.js';

/** A license add of a batch that writes, and the record it stores. */
interface AddWriting {
  change: Queued<NewLicense, LicenseRecord>;
  added: LicenseRecord;
}

/** What the state the next adds are decided from (docs/licenses.md#guarded-adds) was left at. */
interface AddBasis {
  /** The licenses generation the batch advanced to: its live licenses are kept at it. */
  licensesGen: string;
  /** The license id sequence's last value. */
  lastId: number;
  fired: number[];
  /** The active user count it decided with. */
  count: number;
}

/** The state a batch of adds is decided from. */
interface AddsFrom {
  /** Stored licenses with one of the batch's uuids. */
  stored: readonly LicenseRecord[];
  /** One id per add, in order. */
  ids: readonly number[];
  live: LicenseList;
  fired: number[];
  countAt: (now: Date) => Promise<number> | number;
}

/** What a batch of adds came to, and what it writes (the rows, supersedes, fired thresholds). */
interface DecidedAdds {
  outcomes: (AddWriting | { change: Queued<NewLicense, LicenseRecord>; refusal: unknown })[];
  statements: string[];
  effects: EffectsAt[];
  /** Each writing add's effects and the licensed seats it leaves, for guardedAddCounts(). */
  ranged: { effects: LicenseChangeEffects; licenseSeatsAfter: number }[];
  live: LicenseList;
  fired: number[];
  /** The count the last add was decided with. */
  count: number;
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
  /** What the last batch of adds committed left, while nothing else is known to have changed. */
  #basis: AddBasis | undefined;

  constructor(changes: PostgresChanges, seats: PostgresSeats) {
    this.#c = changes;
    this.#seats = seats;
    this.#adds = new ChangeBatches(async (adds) => (await this.#addGuarded(adds)) ?? this.#addTogether(adds));
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
    this.#basis = undefined;
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
      const ids = (results[9] ?? []).map((r) => Number(r.id));
      const gen = String(results[10]?.[0]?.gen);
      const decided = await this.#decide(adds, {
        stored: q.licensesFromRows(results[8] ?? []),
        ids,
        live: await this.#seats.licensesAt(client, reads.licensesGen),
        fired: reads.fired,
        countAt: (now) => this.#seats.countAt(client, reads, since0, now),
      });
      if (decided.effects.length === 0) {
        await client.query('ROLLBACK');
        return { outcomes: decided.outcomes, basis: undefined };
      }
      await this.#seats.commitLicenses(client, gen, decided.live, [
        ...decided.statements,
        ...this.#c.effectRows(decided.effects),
        'COMMIT',
      ]);
      const basis: AddBasis = {
        licensesGen: gen,
        lastId: ids[ids.length - 1] as number,
        fired: decided.fired,
        count: decided.count,
      };
      return { outcomes: decided.outcomes, basis };
    });
    return this.#committed(written.outcomes, written.basis);
  }

  /**
   * Adds decided before their locks, from what the last batch of this process committed left, and
   * sent with the locks, a guard and their writes in one round trip (docs/licenses.md#guarded-adds);
   * undefined, with nothing written, when they must be decided under the locks (#addTogether).
   */
  async #addGuarded(
    adds: Queued<NewLicense, LicenseRecord>[],
  ): Promise<Outcome<NewLicense, LicenseRecord>[] | undefined> {
    const basis = this.#basis;
    const live = basis && this.#seats.keptLicenses(basis.licensesGen);
    if (!basis || !live || adds.some((a) => a.input.claims.supersedes.length > 0)) return undefined;
    const first = adds[0]?.ctx.clock.now() ?? new Date();
    const before = this.#seats.spanAt(live, first);
    const decided = await this.#decide(adds, {
      stored: [],
      ids: adds.map((_, i) => basis.lastId + 1 + i),
      live,
      fired: basis.fired,
      countAt: () => basis.count,
    });
    const nows = decided.effects.map((e) => e.now.getTime());
    const last = Math.max(...nows);
    const after = this.#seats.spanAt(decided.live, new Date(last));
    const range = guardedAddCounts(basis.count, decided.ranged);
    const holds = (until: number | null): boolean => until === null || until - last >= SEAT_LOCK_MARGIN_MS;
    if (
      !range ||
      decided.effects.length === 0 ||
      Math.min(...nows) < first.getTime() ||
      last - first.getTime() >= q.COUNT_LOOKAHEAD_MS ||
      !holds(before.until) ||
      !holds(after.until)
    )
      return undefined;
    const gen = String(BigInt(basis.licensesGen) + 1n);
    const lastId = basis.lastId + adds.length;
    const guard = addGuard({
      since: activeSince(first, this.#seats.windowDays),
      ...range,
      fired: basis.fired,
      uuids: adds.map((a) => a.input.claims.uuid),
    });
    // Whatever else becomes of the transaction, the next batch reads under the locks again.
    this.#basis = undefined;
    const written = await this.#c.tx(async (client) => {
      try {
        const results = await this.#seats.commitLicenses(
          client,
          gen,
          decided.live,
          [
            'BEGIN',
            q.GUARDED_LOCK_WAIT_SQL,
            q.LOCK_LICENSES_SQL,
            q.LOCK_SEATS_SQL,
            guard,
            // The ids before the generation: a batch refused for its ids alone (something outside
            // Licensor took one) leaves the generation kept, so deciding it again under the locks
            // does not read every license again.
            takeLicenseIds(basis.lastId, adds.length),
            advanceGenerationTo('licenses', gen),
            ...decided.statements,
            ...this.#c.effectRows(decided.effects),
            'COMMIT',
          ],
          false,
        );
        const count = Number(results[4]?.[0]?.n);
        return {
          outcomes: decided.outcomes,
          basis: { licensesGen: gen, lastId, fired: decided.fired, count },
        };
      } catch (err) {
        if (!isAddGuardFailure(err) && !q.isLockWaitTimeout(err)) throw err;
        await client.query('ROLLBACK');
        return undefined;
      }
    });
    return written && this.#committed(written.outcomes, written.basis);
  }

  /** After a batch's transaction: what the next batch may be decided from, and the answers. */
  #committed(
    outcomes: DecidedAdds['outcomes'],
    basis: AddBasis | undefined,
  ): Outcome<NewLicense, LicenseRecord>[] {
    this.#basis = basis;
    if (basis) this.#c.committed(['licenses']);
    // Each add answers with the record it decided and wrote, as the SQLite store does: reading
    // the row back would return the same values and parse the key's claims a second time.
    return outcomes.map((o) => ('refusal' in o ? o : { change: o.change, result: () => o.added }));
  }

  /** Each add of a batch decided in order, from the state given, and the statements it writes. */
  async #decide(adds: Queued<NewLicense, LicenseRecord>[], from: AddsFrom): Promise<DecidedAdds> {
    const stored = [...from.stored];
    let live = from.live;
    let fired = from.fired;
    let count = 0;
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
    const ranged: DecidedAdds['ranged'] = [];
    const outcomes: DecidedAdds['outcomes'] = [];
    for (const [i, change] of adds.entries()) {
      const { input: license, ctx } = change;
      try {
        const now = ctx.clock.now();
        const sameUuid = stored.filter((l) => l.uuid === license.claims.uuid);
        const { supersede } = planAddLicense(license, sameUuid);
        const id = from.ids[i] as number;
        const added = storedLicense(license, id, now);
        const liveAfter = licensesAfterAdd(live, added, supersede, now);
        count = await from.countAt(now);
        const decided = licenseChangeEffects(
          'added',
          added,
          { liveBefore: live, liveAfter, activeUserCount: count, firedThresholds: fired },
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
        ranged.push({
          effects: decided,
          licenseSeatsAfter: this.#seats.effectiveAt(liveAfter, now).licenseSeats,
        });
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
    return { outcomes, statements, effects, ranged, live, fired, count };
  }

  /** Resolves once the adds asked for so far are answered. */
  drain(): Promise<void> {
    return this.#adds.drain();
  }

  async deleteLicense(id: number, ctx: ChangeContext): Promise<LicenseRecord> {
    const notFound = (): LicensorError => new LicensorError('LICENSE_NOT_FOUND', `no license with id ${id}`);
    if (!Number.isSafeInteger(id)) throw notFound();
    this.#basis = undefined;
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
