import type { AuditDraft, CounterMove, SnapshotPart, UsageRaise } from '../../domain/changes.js';
import type { EventDraft } from '../../domain/events.js';
import type { LicenseList } from '../../domain/license-list.js';
import type { EffectiveLicense } from '../../domain/license.js';
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
 * What the SQLite store hands the modules that execute its changes (tokens, licenses, users): the
 * store keeps the write lock, the generations a change advances and the snapshot to itself.
 */
export interface SqliteChanges {
  readonly q: SqliteQueries;
  /** The activity window in days (docs/seats.md). */
  readonly windowDays: number;
  /** Runs `fn` under the write lock in one transaction; the snapshot turns over once it commits. */
  change<T>(fn: () => T): Promise<T>;
  /** Writes a change's audit entry, events, counters and generations, inside `change`. */
  commitEffects(effects: SqliteEffects, ctx: ChangeContext, now: Date): void;
  /** Advances a snapshot part's generation, inside `change`. */
  bump(part: SnapshotPart): void;
  /** Runs reads in one deferred transaction (one snapshot of the database). */
  read<T>(fn: () => T): Promise<T>;
  /** The live licenses, parsed again only when their generation moved; inside a transaction. */
  liveLicenses(): LicenseList;
  /** The live licenses once the change under way commits (a license change's own result). */
  liveAfter(licenses: LicenseList): void;
  /** The effective license of `licenses` at `now`, memoised by the snapshot. */
  effectiveAt(licenses: LicenseList, now: Date): EffectiveLicense;
}
