/**
 * The baselines the benchmark compares Licensor with: a bare Fastify server on the same machine,
 * started the same way (node, its own process, loopback), with nothing of Licensor in it.
 *
 * - GET routes answer a precomputed JSON body (captured from the real endpoint, so the same size):
 *   no auth, no store, no serialization.
 * - POST /admin/users/:id/activity runs one raw SQL transaction updating one user's
 *   last_activity_at; POST /admin/users one inserting one user row. Same driver (better-sqlite3 or
 *   pg), same database file or schema, same durability settings as the Licensor store
 *   (SQLite: WAL, synchronous=FULL, BEGIN IMMEDIATE; PostgreSQL: a pool of 10, READ COMMITTED).
 *
 * Inserted users are disabled: a disabled user is in no activity counter, so the rows the baseline
 * writes leave the counters Licensor reads exact (the row and its indexes cost the same).
 *
 * Configured by the environment: BENCH_BASELINE_BODIES (a JSON file {path: body}),
 * BENCH_BASELINE_SQLITE (a database file) or BENCH_BASELINE_PG (a postgres:// URL).
 * Prints "baseline ready at http://..." on stderr.
 */
import { readFileSync } from 'node:fs';
import Database from 'better-sqlite3';
import Fastify, { type FastifyReply } from 'fastify';
import pg from 'pg';
import { identityColumns } from '../src/domain/user-identity.js';

interface CreateBody {
  userid: string;
  iamid: string;
  name?: string | null;
  email?: string | null;
  userType?: string;
}

interface WriteBackend {
  touch(id: number, at: string): Promise<number>;
  insert(user: CreateBody, at: string): Promise<number>;
  close(): Promise<void>;
}

// The same row Licensor writes, identity key and search text included (computed by the domain's own
// function, as the store does), so the baseline pays for the same unique index.
const INSERT_USER = `INSERT INTO users (iamid, userid, name, email, user_type, created_at, last_activity_at, disabled,
  identity_key, search_text)`;

function identity(u: CreateBody): [string, string] {
  const { identityKey, searchText } = identityColumns({
    iamid: u.iamid,
    userid: u.userid,
    name: u.name ?? null,
    email: u.email ?? null,
  });
  return [identityKey, searchText];
}

function sqliteBackend(file: string): WriteBackend {
  const db = new Database(file, { timeout: 10_000 });
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = FULL');
  const touch = db.prepare('UPDATE users SET last_activity_at = ? WHERE id = ?');
  const insert = db.prepare(`${INSERT_USER} VALUES (?, ?, ?, ?, ?, ?, ?, 1, ?, ?)`);
  const touchTx = db.transaction((id: number, at: string) => touch.run(at, id).changes);
  const insertTx = db.transaction(
    (u: CreateBody, at: string) =>
      insert.run(
        u.iamid,
        u.userid,
        u.name ?? null,
        u.email ?? null,
        u.userType ?? 'dataConsumer',
        at,
        at,
        ...identity(u),
      ).lastInsertRowid,
  );
  return {
    touch: async (id, at) => touchTx.immediate(id, at),
    insert: async (u, at) => Number(insertTx.immediate(u, at)),
    close: async () => {
      db.close();
    },
  };
}

function postgresBackend(url: string): WriteBackend {
  const pool = new pg.Pool({ connectionString: url, max: 10, keepAlive: true });
  pool.on('error', () => undefined);
  const tx = async <T>(work: (client: pg.PoolClient) => Promise<T>): Promise<T> => {
    const client = await pool.connect();
    try {
      await client.query('BEGIN');
      const result = await work(client);
      await client.query('COMMIT');
      return result;
    } catch (err) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw err;
    } finally {
      client.release();
    }
  };
  return {
    touch: (id, at) =>
      tx(async (c) => {
        const r = await c.query('UPDATE users SET last_activity_at = $1 WHERE id = $2', [at, id]);
        return r.rowCount ?? 0;
      }),
    insert: (u, at) =>
      tx(async (c) => {
        const r = await c.query<{ id: string }>(
          `${INSERT_USER} VALUES ($1, $2, $3, $4, $5, $6, $6, true, $7, $8) RETURNING id`,
          [
            u.iamid,
            u.userid,
            u.name ?? null,
            u.email ?? null,
            u.userType ?? 'dataConsumer',
            at,
            ...identity(u),
          ],
        );
        return Number(r.rows[0]!.id);
      }),
    close: () => pool.end(),
  };
}

async function main(): Promise<void> {
  const app = Fastify({ logger: false });
  const bodiesFile = process.env.BENCH_BASELINE_BODIES;
  if (bodiesFile) {
    const bodies = JSON.parse(readFileSync(bodiesFile, 'utf8')) as Record<string, string>;
    for (const [path, body] of Object.entries(bodies)) {
      app.get(path, (_request, reply: FastifyReply) => {
        void reply.type('application/json; charset=utf-8').send(body);
      });
    }
  }

  const sqliteFile = process.env.BENCH_BASELINE_SQLITE;
  const pgUrl = process.env.BENCH_BASELINE_PG;
  const backend = sqliteFile ? sqliteBackend(sqliteFile) : pgUrl ? postgresBackend(pgUrl) : undefined;
  if (backend) {
    app.post<{ Params: { id: string } }>('/admin/users/:id/activity', async (request, reply) => {
      const at = new Date().toISOString();
      const id = Number(request.params.id);
      if ((await backend.touch(id, at)) === 0) return reply.code(404).send({ id });
      return { id, lastActivityAt: at };
    });
    app.post<{ Body: CreateBody }>('/admin/users', async (request, reply) => {
      const at = new Date().toISOString();
      const id = await backend.insert(request.body, at);
      return reply.code(201).send({ id, createdAt: at });
    });
  }

  const url = await app.listen({ host: '127.0.0.1', port: 0 });
  process.stderr.write(`baseline ready at ${url}\n`);
  const stop = (): void => {
    void app
      .close()
      .then(() => backend?.close())
      .finally(() => process.exit(0));
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

await main();
