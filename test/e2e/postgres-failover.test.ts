/**
 * Connection faults are never fatal. A real server process on PostgreSQL serves 32 clients a
 * write-heavy load while the test terminates every backend of that process, over and over
 * (pg_terminate_backend: what a failover, a restart or a proxy's cut looks like from the client).
 * The process must stay up, answer nothing with a 500 (503 STORE_UNAVAILABLE is the answer while a
 * connection is being replaced), write again within seconds of the last termination, and have kept
 * every user create it acknowledged, with its audit entry. Then its LISTEN connection alone is
 * terminated: once it is back, a change made through a second process reaches the first within one
 * second (docs/performance.md#the-read-snapshot).
 *
 * Only this test's server processes are terminated: each connects with its own application_name
 * (set in DATABASE_URL, which pg lets override the store's default 'licensor'), so other test
 * files sharing the database keep their connections.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, test, type TestContext } from 'node:test';
import pg from 'pg';
import { createIssuer } from '../helpers/issuer.js';
import {
  createSchema,
  dropSchema,
  postgresSkipReason,
  TEST_DATABASE_URL,
  uniqueSchemaName,
} from '../helpers/postgres.js';
import { startServerProcess, tempDir, type ServerProcess } from '../helpers/process.js';
import { cleanup } from '../helpers/cleanup.js';

const ADMIN = 'failover-admin-token-0123456789abcdef';
const CLIENTS = 32;
/** Rounds of termination that each found at least one backend of the server. */
const MIN_TERMINATIONS = 20;
const MAX_ROUNDS = 30;
const TERMINATE_EVERY_MS = 500;
const RECOVERY_LIMIT_MS = 5000;
const COHERENCE_LIMIT_MS = 1000;
/** No request may take this long; the whole file stays well under a minute. */
const REQUEST_TIMEOUT_MS = 10_000;
const LISTEN_QUERY = 'LISTEN "licensor_changes"';

let skip: string | undefined;
before(async () => {
  skip = await postgresSkipReason();
});

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

type Reply = { status: number; body: Record<string, unknown>; ms: number; error?: string };

/** One request; a network failure or a timeout is status 0 with the error, never a throw. */
async function call(url: string, method: string, path: string, body?: unknown): Promise<Reply> {
  const start = performance.now();
  try {
    const res = await fetch(`${url}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${ADMIN}`,
        ...(body !== undefined && { 'content-type': 'application/json' }),
      },
      ...(body !== undefined && { body: JSON.stringify(body) }),
      signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
    });
    const text = await res.text();
    let parsed: Record<string, unknown>;
    try {
      parsed = text === '' ? {} : (JSON.parse(text) as Record<string, unknown>);
    } catch {
      parsed = { text };
    }
    return { status: res.status, body: parsed, ms: performance.now() - start };
  } catch (err) {
    return {
      status: 0,
      body: {},
      ms: performance.now() - start,
      error: err instanceof Error ? `${err.name}: ${err.message}` : String(err),
    };
  }
}

async function ok(url: string, method: string, path: string, body?: unknown): Promise<Reply> {
  const reply = await call(url, method, path, body);
  assert.ok(
    reply.status >= 200 && reply.status < 300,
    `${method} ${path}: ${reply.status} ${reply.error ?? JSON.stringify(reply.body)}`,
  );
  return reply;
}

/** A DATABASE_URL that puts every connection in `schema` and names it `applicationName`. */
function databaseUrl(schema: string, applicationName: string): string {
  const url = new URL(TEST_DATABASE_URL);
  url.searchParams.set('options', `-c search_path=${schema}`);
  url.searchParams.set('application_name', applicationName);
  return url.toString();
}

/** A server process, and whether (and how) it exited before the test stopped it. */
interface Watched {
  server: ServerProcess;
  applicationName: string;
  exit(): string | undefined;
  stop(): Promise<void>;
}

async function startWatched(
  t: TestContext,
  env: Record<string, string>,
  schema: string,
  applicationName: string,
): Promise<Watched> {
  const server = await startServerProcess(t, { ...env, DATABASE_URL: databaseUrl(schema, applicationName) });
  let stopping = false;
  let exit: string | undefined;
  server.child.on('exit', (code, signal) => {
    if (!stopping) exit = `exited with code ${code} (signal ${signal})`;
  });
  return {
    server,
    applicationName,
    exit: () => exit,
    stop: async () => {
      stopping = true;
      await server.stop();
    },
  };
}

/**
 * What each kind of request answers when the store answers; the only other answer allowed is
 * 503 STORE_UNAVAILABLE.
 */
const ALLOWED: Record<string, number> = { create: 201, activity: 200, status: 200, audit: 200 };

test('terminating every PostgreSQL backend of a loaded server, 20 times over, is never fatal', async (t) => {
  if (skip) return t.skip(skip);
  const schema = uniqueSchemaName('licensor_failover');
  await createSchema(schema);
  cleanup(t, () => dropSchema(schema));
  const dir = tempDir(t);
  const issuer = createIssuer();
  const pub = join(dir, 'issuer.pub');
  writeFileSync(pub, issuer.publicKey.export({ type: 'spki', format: 'pem' }));
  const env = {
    LICENSOR_TRUSTED_KEYS: pub,
    LICENSOR_ADMIN_TOKEN: ADMIN,
    LICENSOR_DATA_DIR: join(dir, 'data'),
    LICENSOR_LOG_LEVEL: 'warn',
    LICENSOR_AUTH_FAILURE_LIMIT: 'off',
  };
  const tag = randomBytes(4).toString('hex');
  // A, the server under fault, and B, the second process of the coherence check. Started together:
  // their migrations take turns.
  const [a, b] = await Promise.all([
    startWatched(t, env, schema, `licensor_failover_a_${tag}`),
    startWatched(t, env, schema, `licensor_failover_b_${tag}`),
  ]);

  // The test's own connection, for pg_stat_activity and pg_terminate_backend.
  const admin = new pg.Client({
    connectionString: TEST_DATABASE_URL,
    application_name: `licensor_failover_killer_${tag}`,
  });
  admin.on('error', () => undefined);
  await admin.connect();

  const backends = async (applicationName: string, listenOnly = false): Promise<number[]> => {
    const { rows } = await admin.query<{ pid: number }>(
      `SELECT pid FROM pg_stat_activity
        WHERE datname = current_database() AND pid <> pg_backend_pid() AND application_name = $1
          AND ($2::boolean IS FALSE OR query = $3)`,
      [applicationName, listenOnly, LISTEN_QUERY],
    );
    return rows.map((r) => r.pid);
  };
  /** Terminates the server's backends (or only its LISTEN one); resolves to how many went. */
  const terminate = async (applicationName: string, listenOnly = false): Promise<number> => {
    const { rows } = await admin.query<{ done: boolean }>(
      `SELECT pg_terminate_backend(pid) AS done FROM pg_stat_activity
        WHERE datname = current_database() AND pid <> pg_backend_pid() AND application_name = $1
          AND ($2::boolean IS FALSE OR query = $3)`,
      [applicationName, listenOnly, LISTEN_QUERY],
    );
    return rows.filter((r) => r.done).length;
  };

  try {
    // The application name reached the server: the terminations below can only touch A.
    const own = await backends(a.applicationName);
    assert.ok(own.length >= 1, `no backend named ${a.applicationName}: the test could not target A alone`);
    assert.equal((await backends(a.applicationName, true)).length, 1, "A's LISTEN connection");

    await ok(a.server.url, 'POST', '/admin/license', { licenseKey: issuer.issue({ seats: 1_000_000 }) });

    // The load: 32 clients, until told to stop.
    const counts: Record<string, Record<number, number>> = {};
    const problems: string[] = [];
    const acknowledged = new Map<number, string>();
    const ids: number[] = [];
    let serial = 0;
    let stopLoad = false;
    const took: number[] = [];
    const record = (kind: string, reply: Reply): void => {
      took.push(reply.ms);
      const byStatus = (counts[kind] ??= {});
      byStatus[reply.status] = (byStatus[reply.status] ?? 0) + 1;
      const fine =
        reply.status === ALLOWED[kind] || (reply.status === 503 && reply.body.code === 'STORE_UNAVAILABLE');
      if (!fine && problems.length < 20)
        problems.push(`${kind}: ${reply.status} ${reply.error ?? JSON.stringify(reply.body)}`);
    };
    const create = async (): Promise<Reply> => {
      const userid = `load${serial++}`;
      const reply = await call(a.server.url, 'POST', '/admin/users', { userid, iamid: 'idp' });
      record('create', reply);
      if (reply.status === 201) {
        const id = Number(reply.body.id);
        acknowledged.set(id, userid);
        ids.push(id);
      }
      return reply;
    };
    const client = async (): Promise<void> => {
      // A process that died ends the load at once: the assertions below say so.
      while (!stopLoad && a.exit() === undefined) {
        const r = Math.random();
        if (r < 0.4 || ids.length === 0) await create();
        else if (r < 0.75) {
          const id = ids[Math.floor(Math.random() * ids.length)]!;
          record('activity', await call(a.server.url, 'POST', `/admin/users/${id}/activity`));
        } else if (r < 0.88)
          record('status', await call(a.server.url, 'GET', '/admin/license/licenseStatus'));
        else record('audit', await call(a.server.url, 'GET', '/admin/audit?size=20'));
      }
    };
    const started = performance.now();
    const load = Promise.all(Array.from({ length: CLIENTS }, () => client()));

    // The faults: every ~500 ms, every backend of A, until 20 rounds have each found some.
    const firstAt = performance.now() + 500;
    const rounds: number[] = [];
    const found = (): number => rounds.filter((n) => n > 0).length;
    let lastTerminationAt = 0;
    while (found() < MIN_TERMINATIONS && rounds.length < MAX_ROUNDS && a.exit() === undefined) {
      await sleep(firstAt + rounds.length * TERMINATE_EVERY_MS - performance.now());
      rounds.push(await terminate(a.applicationName));
      lastTerminationAt = performance.now();
    }

    // Recovery: the first write acknowledged after the last termination.
    let recoveryMs: number | undefined;
    while (recoveryMs === undefined && performance.now() - lastTerminationAt < RECOVERY_LIMIT_MS + 1000) {
      if (a.exit() !== undefined) break;
      if ((await create()).status === 201) recoveryMs = performance.now() - lastTerminationAt;
      else await sleep(10);
    }
    // The load goes on a moment after recovery, then stops by itself.
    await sleep(500);
    stopLoad = true;
    await load;
    const loadMs = performance.now() - started;
    const total = Object.values(counts).reduce(
      (sum, byStatus) => sum + Object.values(byStatus).reduce((s, n) => s + n, 0),
      0,
    );
    const poolErrors = (a.server.stderr().match(/a PostgreSQL connection failed outside a request/g) ?? [])
      .length;
    t.diagnostic(
      `${rounds.length} termination rounds (${found()} found backends), ${rounds.reduce((s, n) => s + n, 0)} backends terminated: [${rounds.join(', ')}]`,
    );
    t.diagnostic(
      `${total} requests in ${Math.round(loadMs)} ms from ${CLIENTS} clients, by status: ${JSON.stringify(counts)}`,
    );
    took.sort((x, y) => x - y);
    const pct = (p: number): number =>
      Math.round(took[Math.min(took.length - 1, Math.floor(took.length * p))] ?? 0);
    t.diagnostic(`request time: median ${pct(0.5)} ms, p99 ${pct(0.99)} ms, max ${pct(1)} ms`);
    t.diagnostic(
      `recovery: first write acknowledged ${recoveryMs === undefined ? 'never' : `${Math.round(recoveryMs)} ms`} after the last termination; ${acknowledged.size} creates acknowledged; ${poolErrors} connection failures reported on stderr`,
    );

    assert.equal(a.exit(), undefined, `the server process died:\n${a.server.stderr().slice(-3000)}`);
    assert.equal((await call(a.server.url, 'GET', '/healthz')).status, 200, 'the process stays up');
    assert.deepEqual(problems, [], 'nothing but the expected status and 503 STORE_UNAVAILABLE');
    assert.ok(found() >= MIN_TERMINATIONS, `only ${found()} rounds found a backend to terminate`);
    assert.ok(
      (counts.create?.[503] ?? 0) + (counts.activity?.[503] ?? 0) > 0,
      'the faults were felt: some writes were refused with 503',
    );
    assert.ok(
      recoveryMs !== undefined && recoveryMs < RECOVERY_LIMIT_MS,
      `writes succeed within ${RECOVERY_LIMIT_MS} ms of the last termination`,
    );
    assert.equal((await call(a.server.url, 'GET', '/readyz')).status, 200);

    // Every acknowledged create is stored, with its audit entry.
    const stored = new Map<number, string>();
    for (let offset = 0; ; offset += 1000) {
      const page = await ok(a.server.url, 'GET', `/admin/users?size=1000&offset=${offset}`);
      const users = page.body.users as { id: number; userid: string }[];
      for (const u of users) stored.set(u.id, u.userid);
      if (users.length < 1000) break;
    }
    const audited = new Set<string>();
    for (let offset = 0; ; offset += 1000) {
      const page = await ok(a.server.url, 'GET', `/admin/audit?size=1000&offset=${offset}`);
      const entries = page.body.entries as { action: string; target: string | null; outcome: string }[];
      for (const e of entries)
        if (e.action === 'user.create' && e.outcome === 'success' && e.target !== null) audited.add(e.target);
      if (entries.length < 1000) break;
    }
    const missing = [...acknowledged].filter(([id, userid]) => stored.get(id) !== userid);
    const unaudited = [...acknowledged.keys()].filter((id) => !audited.has(`user:${id}`));
    t.diagnostic(
      `${stored.size} users stored (${stored.size - acknowledged.size} committed without an answer), ${audited.size} user.create audit entries`,
    );
    assert.deepEqual(missing.slice(0, 10), [], `${missing.length} acknowledged creates are missing`);
    assert.deepEqual(
      unaudited.slice(0, 10),
      [],
      `${unaudited.length} acknowledged creates have no audit entry`,
    );
    assert.equal(audited.size, stored.size, 'one user.create entry per stored user, no more, no less');
    const status = await ok(a.server.url, 'GET', '/admin/license/licenseStatus');
    assert.equal(status.body.activeUserCount, stored.size, 'the seat counters agree with the users');

    // The LISTEN connection alone: terminated, reconnected, and the snapshot still hears B.
    const [listenPid] = await backends(a.applicationName, true);
    assert.ok(listenPid !== undefined, 'A listens again after the faults');
    assert.equal(await terminate(a.applicationName, true), 1, "A's LISTEN connection terminated");
    const terminatedAt = performance.now();
    let relisten: number | undefined;
    while (relisten === undefined && performance.now() - terminatedAt < RECOVERY_LIMIT_MS) {
      const [pid] = await backends(a.applicationName, true);
      if (pid !== undefined && pid !== listenPid) relisten = performance.now() - terminatedAt;
      else await sleep(10);
    }
    assert.ok(relisten !== undefined, `A did not LISTEN again within ${RECOVERY_LIMIT_MS} ms`);
    const latencies: number[] = [];
    let expectedUsers = stored.size;
    for (let i = 0; i < 5; i++) {
      // A's snapshot is warm: without a word from B, it would go on answering the old count.
      assert.equal(
        (await ok(a.server.url, 'GET', '/admin/license/licenseStatus')).body.activeUserCount,
        expectedUsers,
      );
      await ok(b.server.url, 'POST', '/admin/users', { userid: `through-b-${i}`, iamid: 'idp' });
      expectedUsers++;
      const at = performance.now();
      let seen: unknown;
      do {
        seen = (await ok(a.server.url, 'GET', '/admin/license/licenseStatus')).body.activeUserCount;
        if (seen !== expectedUsers) await sleep(5);
      } while (seen !== expectedUsers && performance.now() - at < COHERENCE_LIMIT_MS);
      const ms = performance.now() - at;
      assert.equal(seen, expectedUsers, `B's create #${i} not seen by A within ${COHERENCE_LIMIT_MS} ms`);
      latencies.push(Math.round(ms));
    }
    // And a license change through B.
    await ok(a.server.url, 'GET', '/admin/license/licenseStatus');
    await ok(b.server.url, 'POST', '/admin/license', { licenseKey: issuer.issue({ seats: 17 }) });
    const at = performance.now();
    let seats: unknown;
    do {
      seats = (await ok(a.server.url, 'GET', '/admin/license/licenseStatus')).body.hardSeats;
      if (seats !== 1_000_017) await sleep(5);
    } while (seats !== 1_000_017 && performance.now() - at < COHERENCE_LIMIT_MS);
    assert.equal(seats, 1_000_017, `B's license not seen by A within ${COHERENCE_LIMIT_MS} ms`);
    latencies.push(Math.round(performance.now() - at));
    t.diagnostic(
      `LISTEN connection (pid ${listenPid}) terminated; A listened again after ${Math.round(relisten)} ms; B's changes seen by A after ${latencies.join(', ')} ms`,
    );
    assert.equal(a.exit(), undefined, `the server process died:\n${a.server.stderr().slice(-3000)}`);
    assert.equal(b.exit(), undefined, `server B died:\n${b.server.stderr().slice(-3000)}`);
  } finally {
    await admin.end().catch(() => undefined);
    await Promise.all([a.stop(), b.stop()]);
  }
});
