import { randomBytes } from 'node:crypto';
import pg from 'pg';

/** The database PostgreSQL tests use; each test works in its own schema inside it. */
export const TEST_DATABASE_URL =
  process.env.LICENSOR_TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

/** The URL with any password replaced, for messages. */
export function redactedUrl(url: string = TEST_DATABASE_URL): string {
  try {
    const parsed = new URL(url);
    if (parsed.password !== '') parsed.password = '***';
    return parsed.toString();
  } catch {
    return '(unparseable URL)';
  }
}

/**
 * Checks that the test database answers. Resolves to undefined when it does, else to a reason to
 * skip the PostgreSQL tests, after a loud warning. With CI set an unreachable database is not a
 * reason to skip: this rejects, so the test file fails.
 */
export async function postgresSkipReason(): Promise<string | undefined> {
  const client = new pg.Client({ connectionString: TEST_DATABASE_URL, connectionTimeoutMillis: 3000 });
  client.on('error', () => undefined);
  try {
    await client.connect();
    await client.query('SELECT 1');
    return undefined;
  } catch (err) {
    const why = `PostgreSQL at ${redactedUrl()} does not answer (${err instanceof Error ? err.message : String(err)})`;
    if (process.env.CI)
      throw new Error(`${why}; CI is set, so the PostgreSQL tests fail instead of being skipped`, {
        cause: err,
      });
    const line = '!'.repeat(100);
    console.warn(
      `\n${line}\n!! SKIPPING the PostgreSQL store tests: ${why}.\n!! Start one or set LICENSOR_TEST_DATABASE_URL to run them.\n${line}\n`,
    );
    return why;
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** A schema name no other test run uses. */
export function uniqueSchemaName(prefix = 'licensor_test'): string {
  return `${prefix}_${randomBytes(6).toString('hex')}`;
}

/** Runs `fn` on a short-lived connection to the test database, outside any store. */
export async function withTestClient<T>(fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: TEST_DATABASE_URL, connectionTimeoutMillis: 5000 });
  client.on('error', () => undefined);
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

export async function createSchema(schema: string): Promise<void> {
  await withTestClient((c) => c.query(`CREATE SCHEMA ${pg.escapeIdentifier(schema)}`));
}

/**
 * Drops the schema and everything in it. The backend of a server killed a moment ago can still be
 * finishing a query there: a deadlock with it (40P01) or a lock it holds past 10 s (55P03) is tried
 * again, a few times, rather than leaving the schema behind.
 */
export async function dropSchema(schema: string): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      await withTestClient(async (c) => {
        await c.query(`SET lock_timeout = '10s'`);
        await c.query(`DROP SCHEMA IF EXISTS ${pg.escapeIdentifier(schema)} CASCADE`);
      });
      return;
    } catch (err) {
      const code = (err as { code?: unknown }).code;
      if (attempt === 5 || (code !== '40P01' && code !== '55P03')) throw err;
      await new Promise((r) => setTimeout(r, 200 * attempt));
    }
  }
}

/** A fresh schema for one test, dropped when it ends, whatever the test did. */
export async function withSchema<T>(fn: (schema: string) => Promise<T>): Promise<T> {
  const schema = uniqueSchemaName();
  try {
    return await fn(schema);
  } finally {
    await dropSchema(schema);
  }
}
