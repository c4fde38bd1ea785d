import type { AuditDraft, CounterMove, SnapshotPart, UsageRaise } from '../../domain/changes.js';
import type { EventDraft } from '../../domain/events.js';
import type { ChangeContext } from '../store.js';
import type { SqliteQueries } from './sqlite-queries.js';

/** What a change commits besides its own rows; see src/domain/changes.ts. */
export interface SqliteEffects {
  audit: AuditDraft | null;
  /** A change of several records writes one entry per record (docs/audit.md). */
  audits?: readonly AuditDraft[];
  events: readonly EventDraft[];
  counters?: readonly CounterMove[];
  usage?: UsageRaise;
  firedThresholds?: readonly number[];
  touches: readonly SnapshotPart[];
}

/**
 * What the SQLite store hands the modules that execute some of its changes (tokens): the store
 * keeps the write lock, the generations a change advances and the snapshot to itself.
 */
export interface SqliteChanges {
  readonly q: SqliteQueries;
  /** Runs `fn` under the write lock in one transaction; the snapshot turns over once it commits. */
  change<T>(fn: () => T): Promise<T>;
  /** Writes a change's audit entry, events, counters and generations, inside `change`. */
  commitEffects(effects: SqliteEffects, ctx: ChangeContext, now: Date): void;
  /** Advances a snapshot part's generation, inside `change`. */
  bump(part: SnapshotPart): void;
}
