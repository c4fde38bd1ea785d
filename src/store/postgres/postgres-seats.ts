import type { PoolClient, QueryResultRow } from 'pg';
import { LicenseList } from '../../domain/license-list.js';
import type { SeatSettings } from '../../domain/seat-policy.js';
import { claimSeat, type SeatClaim, type SeatState } from '../../domain/user-changes.js';
import { activeSince, type UserType } from '../../domain/users.js';
import type { EffectiveLicense } from '../../domain/license.js';
import type { EffectiveSpan } from '../../domain/license-stacking.js';
import type { Snapshot } from '../snapshot.js';
import * as q from './postgres-queries.js';
import { batch } from './postgres-sql.js';

/** What a seat decision reads in one round trip, under the seat lock. */
export interface SeatReads {
  counts: QueryResultRow[];
  soon: QueryResultRow[];
  fired: number[];
  licensesGen: string;
  settings: SeatSettings;
}

/** A seat decision's state, with what a claim decided before the seat lock also needs. */
export interface PostgresSeatState extends SeatState {
  /**
   * The first instant after `now` at which `effective` can change by itself (a start, an expiry, an
   * end of grace), null when none can: kept with the effective license, so O(1) per claim.
   */
  nextChangeAt: number | null;
}

/**
 * What the PostgreSQL store's seat decisions and license changes read under their locks: the
 * active count (docs/seats.md), the settings, the fired thresholds, and the live licenses at the
 * generation read, kept between changes while that generation holds.
 */
export class PostgresSeats {
  readonly windowDays: number;
  readonly #snapshot: Snapshot;
  readonly #schema: string;
  /** Live licenses as of a generation; seat decisions use them while the generation holds. */
  #live: { gen: string; licenses: LicenseList } | undefined;
  /**
   * This instance's license changes by the generation they advanced to, from just before their
   * COMMIT is sent until this process has heard how it went. Another change of this instance can
   * read that generation under the lock before that (its reply may be handled first): it then waits
   * for the outcome instead of reading every license again.
   */
  readonly #pendingLive = new Map<
    string,
    { licenses: LicenseList; committed: Promise<boolean>; tentative: boolean }
  >();

  constructor(snapshot: Snapshot, schema: string, windowDays: number) {
    this.#snapshot = snapshot;
    this.#schema = schema;
    this.windowDays = windowDays;
  }

  /** The effective license of `licenses` at `now`, memoised by the snapshot. */
  effectiveAt(licenses: LicenseList, now: Date): EffectiveLicense {
    return this.#snapshot.effectiveAt(licenses, now);
  }

  /** The same, with the interval around `now` over which it holds (EffectiveSpan). */
  spanAt(licenses: LicenseList, now: Date): EffectiveSpan {
    return this.#snapshot.spanAt(licenses, now);
  }

  /** The live licenses this process keeps at generation `gen`, if it keeps that one. */
  keptLicenses(gen: string): LicenseList | undefined {
    return this.#live?.gen === gen ? this.#live.licenses : undefined;
  }

  /** The live licenses under a shared licenses lock, so no license change is half done meanwhile. */
  async loadLicenses(client: PoolClient): Promise<LicenseList> {
    const [, , gens] = await batch(client, ['BEGIN', q.LOCK_LICENSES_SHARED_SQL, q.LICENSES_GEN_SQL]);
    const licenses = await this.licensesAt(client, String(gens?.[0]?.gen));
    await client.query('COMMIT');
    return licenses;
  }

  /** The live licenses at the generation a seat decision read under the lock. */
  async licensesAt(client: PoolClient, gen: string): Promise<LicenseList> {
    if (this.#live?.gen === gen) return this.#live.licenses;
    const pending = this.#pendingLive.get(gen);
    if (pending && (await (pending.tentative ? briefly(pending.committed) : pending.committed)))
      return pending.licenses;
    const [rows] = await batch(client, [q.LIVE_LICENSES_SQL]);
    const licenses = LicenseList.of(q.licensesFromRows(rows ?? []));
    this.#live = { gen, licenses };
    return licenses;
  }

  /** The reads of a seat decision, batched after `head` (BEGIN, a row lock...) and the seat lock. */
  readStatements(since: Date): string[] {
    return [
      q.LOCK_SEATS_SQL,
      ...q.seatCountStatements(since),
      q.FIRED_THRESHOLDS_SQL,
      q.LICENSES_GEN_SQL,
      q.SEAT_SETTINGS_SQL,
    ];
  }

  reads(results: QueryResultRow[][], at: number): SeatReads {
    return {
      counts: results[at + 1] ?? [],
      soon: results[at + 2] ?? [],
      fired: (results[at + 3] ?? []).map((r) => Number(r.percent)),
      licensesGen: String(results[at + 4]?.[0]?.gen),
      settings: q.seatSettingsFromRows(results[at + 5] ?? []),
    };
  }

  /** Active users by type at `now`, from reads made at `since` under the lock, counting again if needed. */
  async countByTypeAt(
    client: PoolClient,
    reads: SeatReads,
    since: Date,
    now: Date,
  ): Promise<Record<UserType, number>> {
    const later = activeSince(now, this.windowDays);
    const n = q.seatCountAt(reads, since, later);
    if (n !== undefined) return n;
    const [counts, soon] = await batch(client, q.seatCountStatements(later));
    return q.seatCountAt({ counts: counts ?? [], soon: soon ?? [] }, later, later) as Record<
      UserType,
      number
    >;
  }

  async countAt(client: PoolClient, reads: SeatReads, since: Date, now: Date): Promise<number> {
    const n = await this.countByTypeAt(client, reads, since, now);
    return n.dataConsumer + n.policyOwner;
  }

  /** What a seat decision reads at `now` (read after the lock was taken), from the reads. */
  async state(client: PoolClient, reads: SeatReads, since: Date, now: Date): Promise<PostgresSeatState> {
    const licenses = await this.licensesAt(client, reads.licensesGen);
    const activeByType = await this.countByTypeAt(client, reads, since, now);
    const span = this.#snapshot.spanAt(licenses, now);
    return {
      activeUserCount: activeByType.dataConsumer + activeByType.policyOwner,
      activeByType,
      effective: span.value,
      nextChangeAt: span.until,
      settings: reads.settings,
      firedThresholds: reads.fired,
    };
  }

  /** Takes a seat at `now` (read after the lock was taken) from the reads, or refuses. */
  async claim(
    client: PoolClient,
    reads: SeatReads,
    since: Date,
    now: Date,
    claimant: UserType,
  ): Promise<SeatClaim> {
    return claimSeat(await this.state(client, reads, since, now), now, claimant);
  }

  /**
   * Sends a license change's writes and COMMIT (the last of `statements`), announcing the
   * licenses; `liveAfter` becomes the live licenses at `gen` once it commits. `locked`: the
   * change read `gen` under the licenses lock, so other changes of this process that read it wait
   * for this one's outcome. A change that only expects `gen` (docs/licenses.md#guarded-adds) may
   * never come to it (another instance made it) and may itself wait for a lock they hold: they wait
   * for it only TENTATIVE_WAIT_MS, then read the licenses.
   */
  async commitLicenses(
    client: PoolClient,
    gen: string,
    liveAfter: LicenseList,
    statements: string[],
    locked = true,
  ): Promise<QueryResultRow[][]> {
    let settle: (committed: boolean) => void = () => undefined;
    const committed = new Promise<boolean>((resolve) => (settle = resolve));
    this.#pendingLive.set(gen, { licenses: liveAfter, committed, tentative: !locked });
    const commit = statements.pop() as string;
    try {
      const written = await batch(client, [...statements, q.notifyChange(this.#schema, 'licenses'), commit]);
      this.#live = { gen, licenses: liveAfter };
      settle(true);
      return written;
    } catch (err) {
      settle(false);
      throw err;
    } finally {
      if (this.#pendingLive.get(gen)?.committed === committed) this.#pendingLive.delete(gen);
    }
  }
}

/**
 * How long a change waits for the outcome of a license change that only expected the generation it
 * read: its reply is usually on its way (the change committed and released the lock it read under);
 * when another instance made that generation, the change it waits for may be waiting for its lock.
 */
const TENTATIVE_WAIT_MS = 200;

/** Whether a change committed, as far as TENTATIVE_WAIT_MS tells: false when not heard by then. */
function briefly(committed: Promise<boolean>): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<boolean>((resolve) => {
    timer = setTimeout(() => resolve(false), TENTATIVE_WAIT_MS);
  });
  return Promise.race([committed, late]).finally(() => clearTimeout(timer));
}
