import { checkSchemaVersion } from './startup-error.js';

/**
 * One version of a store's schema, as each dialect's list writes it (sqlite/sqlite-migrations.ts,
 * postgres/postgres-migrations.ts). A migration is never edited once released: add a new one.
 */
export interface Migration<Connection, Done> {
  version: number;
  name: string;
  sql: string;
  /** Run after `sql`, in the same transaction: work SQL alone cannot do (the domain's functions). */
  run?: (connection: Connection) => Done;
}

/**
 * What the runner asks of one database, all of it inside the one transaction the dialect runs it
 * in: SQLite answers synchronously, PostgreSQL (AsyncMigrationDialect) with promises.
 */
export interface MigrationDialect<M> {
  /** Makes the version table (and whatever else must exist first) and shuts out other migrators. */
  prepare(): void;
  /** The versions the database has applied. */
  appliedVersions(): readonly number[];
  /** Runs one migration's SQL and `run`, and records its version. */
  apply(migration: M): void;
}

/** MigrationDialect, answered with promises. */
export interface AsyncMigrationDialect<M> {
  prepare(): Promise<void>;
  appliedVersions(): Promise<readonly number[]>;
  apply(migration: M): Promise<void>;
}

/** A request of the runner to its dialect; the answer to "applied" is the applied versions. */
type Step<M> = { op: 'prepare' } | { op: 'applied' } | { op: 'apply'; migration: M };

/**
 * The runner, written once for both dialects: prepare, read the applied versions, refuse a
 * database written by a newer Licensor, then apply every version not applied yet, in list order.
 * Every one not applied, not only those above the highest: versions are numbered by separate
 * changes, and one may arrive after a higher one was applied. A generator, so that one text serves
 * SQLite's synchronous driver and PostgreSQL's asynchronous one (runMigrations, runMigrationsAsync).
 */
function* migrationSteps<M extends { version: number }>(
  migrations: readonly M[],
): Generator<Step<M>, void, readonly number[] | undefined> {
  yield { op: 'prepare' };
  const applied = new Set((yield { op: 'applied' }) ?? []);
  checkSchemaVersion(Math.max(0, ...applied), migrations.at(-1)?.version ?? 0);
  for (const migration of migrations) if (!applied.has(migration.version)) yield { op: 'apply', migration };
}

/**
 * Applies the pending migrations through a synchronous dialect. The caller runs it in one write
 * transaction that only one process at a time can hold, so each version is applied exactly once
 * and a failing one leaves the database as it was.
 */
export function runMigrations<M extends { version: number }>(
  migrations: readonly M[],
  dialect: MigrationDialect<M>,
): void {
  const steps = migrationSteps(migrations);
  for (let step = steps.next(); !step.done;) {
    const { value } = step;
    if (value.op === 'applied') step = steps.next(dialect.appliedVersions());
    else {
      if (value.op === 'prepare') dialect.prepare();
      else dialect.apply(value.migration);
      step = steps.next();
    }
  }
}

/** runMigrations through an asynchronous dialect, under the same terms. */
export async function runMigrationsAsync<M extends { version: number }>(
  migrations: readonly M[],
  dialect: AsyncMigrationDialect<M>,
): Promise<void> {
  const steps = migrationSteps(migrations);
  for (let step = steps.next(); !step.done;) {
    const { value } = step;
    if (value.op === 'applied') step = steps.next(await dialect.appliedVersions());
    else {
      if (value.op === 'prepare') await dialect.prepare();
      else await dialect.apply(value.migration);
      step = steps.next();
    }
  }
}
