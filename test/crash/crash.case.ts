import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { createIssuer } from '../helpers/issuer.js';
import { startServerProcess, tempDir, type ServerProcess } from '../helpers/process.js';

const ADMIN = 'crash-admin-token-0123456789abcdef';
const headers = { 'content-type': 'application/json', authorization: `Bearer ${ADMIN}` };
/** Seats of the one license that is never deleted; the churned licenses have none. */
const SEATS = 60;

type Outcome = 'acknowledged' | 'refused' | 'unknown';

interface Ledger {
  /** uuid -> outcome of its add (and id when acknowledged). */
  adds: Map<string, { outcome: Outcome; id?: number }>;
  /** license id -> outcome of its delete. */
  deletes: Map<number, Outcome>;
  /** userid -> outcome of its create. */
  users: Map<string, Outcome>;
}

async function send(
  url: string,
  method: string,
  body?: unknown,
): Promise<{ outcome: Outcome; status: number; body: Record<string, unknown> }> {
  try {
    const res = await fetch(url, {
      method,
      headers,
      ...(body !== undefined && { body: JSON.stringify(body) }),
    });
    const json = (await res.json()) as Record<string, unknown>;
    // 4xx is a definitive refusal: nothing may be stored. 5xx and a cut connection are unknown.
    const outcome: Outcome = res.status < 300 ? 'acknowledged' : res.status < 500 ? 'refused' : 'unknown';
    return { outcome, status: res.status, body: json };
  } catch {
    return { outcome: 'unknown', status: 0, body: {} };
  }
}

function prng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 4294967296;
  };
}

export interface CrashOptions {
  cycles: number;
  /** Extra environment for the server: DATABASE_URL for PostgreSQL. */
  env?: Record<string, string>;
  /** Runs after each kill, before the restart: e.g. SQLite's integrity check. */
  afterKill?: () => Promise<void> | void;
}

/**
 * Kills the server with SIGKILL at random moments while clients stream license adds, deletes and
 * seat claims, then restarts it and checks: every acknowledged write is there, no refused write
 * left a trace, an unknown write (cut by the kill) is either whole or absent, the users agree with
 * the active-user counters, and the seat limit holds.
 */
export async function crashCycles(
  t: TestContext,
  options: CrashOptions,
): Promise<{ cycles: number; writes: number; acknowledged: number }> {
  const dir = tempDir(t);
  const issuer = createIssuer();
  const pub = join(dir, 'issuer.pub');
  writeFileSync(pub, issuer.publicKey.export({ type: 'spki', format: 'pem' }));
  const env = {
    LICENSOR_DATA_DIR: join(dir, 'data'),
    LICENSOR_TRUSTED_KEYS: pub,
    LICENSOR_ADMIN_TOKEN: ADMIN,
    LICENSOR_LOG_LEVEL: 'warn',
    ...options.env,
  };
  const ledger: Ledger = { adds: new Map(), deletes: new Map(), users: new Map() };
  const random = prng(42);
  let server: ServerProcess = await startServerProcess(t, env);
  const base = await send(`${server.url}/admin/license`, 'POST', {
    licenseKey: issuer.issue({ seats: SEATS, uuid: 'base' }),
  });
  assert.equal(base.status, 200);
  let writes = 0;

  for (let cycle = 0; cycle < options.cycles; cycle++) {
    const url = server.url;
    let stop = false;
    const worker = async (w: number): Promise<void> => {
      for (let i = 0; !stop && i < 500; i++) {
        writes++;
        const roll = random();
        const acknowledgedIds = [...ledger.adds.values()].filter(
          (a) => a.outcome === 'acknowledged' && a.id !== undefined,
        );
        if (roll < 0.35) {
          const uuid = `c${cycle}-w${w}-${i}`;
          const r = await send(`${url}/admin/license`, 'POST', {
            licenseKey: issuer.issue({ seats: 0, uuid }),
          });
          ledger.adds.set(uuid, {
            outcome: r.outcome,
            ...(r.outcome === 'acknowledged' && { id: Number(r.body.id) }),
          });
        } else if (roll < 0.5 && acknowledgedIds.length > 0) {
          const id = acknowledgedIds[Math.floor(random() * acknowledgedIds.length)]!.id!;
          if (ledger.deletes.get(id) === 'acknowledged') continue;
          const r = await send(`${url}/admin/license/${id}`, 'DELETE');
          // A 404 here means an earlier unknown delete of it did land.
          if (!(r.status === 404 && ledger.deletes.has(id))) ledger.deletes.set(id, r.outcome);
        } else {
          const userid = `u-c${cycle}-w${w}-${i}`;
          const r = await send(`${url}/admin/users`, 'POST', { userid, iamid: 'idp' });
          if (r.outcome === 'refused') assert.equal(r.body.code, 'SEAT_LIMIT_REACHED');
          ledger.users.set(userid, r.outcome);
        }
      }
    };
    const workers = [0, 1, 2, 3].map(worker);
    await new Promise((resolve) => setTimeout(resolve, 30 + Math.floor(random() * 300)));
    await server.stop('SIGKILL');
    stop = true;
    await Promise.all(workers);
    await options.afterKill?.();
    server = await startServerProcess(t, env);
    await verify(server, ledger, `cycle ${cycle}`);
  }
  await server.stop();
  const acknowledged = [...ledger.adds.values(), ...ledger.deletes.values(), ...ledger.users.values()].filter(
    (o) => (typeof o === 'string' ? o : o.outcome) === 'acknowledged',
  ).length;
  return { cycles: options.cycles, writes, acknowledged };
}

async function verify(server: ServerProcess, ledger: Ledger, when: string): Promise<void> {
  const get = async (path: string) =>
    (await fetch(`${server.url}${path}`, { headers })).json() as Promise<Record<string, unknown>>;
  const licenses = (await (await fetch(`${server.url}/admin/license`, { headers })).json()) as {
    id: number;
    uuid: string;
  }[];
  const liveUuids = new Set(licenses.map((l) => l.uuid));
  for (const [uuid, add] of ledger.adds) {
    if (add.outcome === 'refused') assert.ok(!liveUuids.has(uuid), `${when}: refused add ${uuid} is stored`);
    if (add.outcome !== 'acknowledged') continue;
    const stored = await get(`/admin/license/${add.id}`);
    assert.equal(stored.uuid, uuid, `${when}: acknowledged add ${uuid} is missing`);
    const deleted = ledger.deletes.get(add.id!);
    if (deleted === 'acknowledged')
      assert.equal(stored.deleted, true, `${when}: acknowledged delete of ${add.id} undone`);
    if (deleted === undefined || deleted === 'refused')
      assert.equal(stored.deleted, false, `${when}: license ${add.id} deleted without a delete`);
  }
  const users = (await get('/admin/users?size=1000')) as { total: number; users: { userid: string }[] };
  const stored = new Set(users.users.map((u) => u.userid));
  for (const [userid, outcome] of ledger.users) {
    if (outcome === 'acknowledged')
      assert.ok(stored.has(userid), `${when}: acknowledged user ${userid} is missing`);
    if (outcome === 'refused') assert.ok(!stored.has(userid), `${when}: refused user ${userid} is stored`);
  }
  for (const userid of stored) assert.ok(ledger.users.has(userid), `${when}: ${userid} was never sent`);
  const status = await get('/admin/license/licenseStatus');
  assert.equal(status.activeUserCount, users.total, `${when}: the counters disagree with the users table`);
  assert.ok(
    Number(status.activeUserCount) <= SEATS,
    `${when}: ${String(status.activeUserCount)} active users with ${SEATS} seats`,
  );
  assert.equal(status.licenseSeats, SEATS);
}
