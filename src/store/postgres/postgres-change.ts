import type { PoolClient } from 'pg';
import type { AuditDraft, CounterMove, SnapshotPart } from '../../domain/changes.js';
import type { EventDraft } from '../../domain/events.js';
import type { SeatClaim } from '../../domain/user-changes.js';
import type { ChangeContext } from '../store.js';

/** What each row a round trip writes adds to its time limit (PostgresChanges.timeoutFor). */
export const PER_ROW_MS = 1;

/** What a change commits besides its own rows; see src/domain/changes.ts. */
export interface PostgresEffects {
  audit: AuditDraft | null;
  /** A change of several records writes one entry per record (docs/audit.md). */
  audits?: readonly AuditDraft[];
  events?: readonly EventDraft[];
  counters?: readonly CounterMove[];
  claim?: SeatClaim;
  firedBefore?: readonly number[];
  touches: readonly SnapshotPart[];
}

/** A change's effects, with the context and the instant it was decided at. */
export interface EffectsAt {
  effects: PostgresEffects;
  ctx: ChangeContext;
  now: Date;
}

/**
 * What the PostgreSQL store hands the modules that execute some of its changes (tokens): the
 * store keeps the pool, the statements every change ends with and the snapshot to itself.
 */
export interface PostgresChanges {
  /** The schema the store's tables live in, for the announcements of a change. */
  readonly schema: string;
  /** Runs `work` on one connection inside BEGIN ... COMMIT; failures come back translated. */
  tx<T>(work: (client: PoolClient) => Promise<T>): Promise<T>;
  /** A change's counters, audit entry, events, announcements and COMMIT, as statements. */
  effectStatements(effects: PostgresEffects, ctx: ChangeContext, now: Date): string[];
  /**
   * The same without the announcements and COMMIT, for a transaction that commits several changes
   * (docs/seats.md#batched-creates); commitStatements() ends it.
   */
  effectRows(changes: readonly EffectsAt[]): string[];
  /** The announcements of the parts a transaction altered, then COMMIT. */
  commitStatements(touches: readonly SnapshotPart[]): string[];
  /**
   * The time limit of one round trip that writes `rows` rows: the pool's query timeout, plus
   * PER_ROW_MS for each, for a round trip that writes many (a chunk of the inactive-user sweep
   * writes a row and an audit entry per user); docs/deployment.md#database-timeouts.
   */
  timeoutFor(rows: number): number;
  /** After a commit: the snapshot parts this instance altered turn over without waiting. */
  committed(touches: readonly SnapshotPart[]): void;
}
