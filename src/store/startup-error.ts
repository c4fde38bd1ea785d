/**
 * A store that cannot start for a reason the operator must fix (a database written by a newer
 * Licensor, a schema the URL overrides): `licensor serve` prints its one-line message and exits 1.
 */
export class StoreStartupError extends Error {
  override readonly name = 'StoreStartupError';
}

/** Refuses a database whose schema is newer than this Licensor's migrations: never damage it. */
export function checkSchemaVersion(current: number, latest: number): void {
  if (current > latest)
    throw new StoreStartupError(
      `the database schema is version ${current}, newer than this Licensor knows (${latest}); upgrade Licensor`,
    );
}
