import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test, type TestContext } from 'node:test';
import { createIssuer } from '../helpers/issuer.js';
import { startServerProcess, tempDir, type ServerProcess } from '../helpers/process.js';

const ADMIN = 'seat-admin-token-0123456789abcdef';
const headers = { 'content-type': 'application/json', authorization: `Bearer ${ADMIN}` };

async function post(url: string, body: unknown): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(url, { method: 'POST', headers, body: JSON.stringify(body) });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

async function setUp(t: TestContext, processes: number, seats: number, softSeats: number) {
  const dir = tempDir(t);
  const issuer = createIssuer();
  const pub = join(dir, 'issuer.pub');
  writeFileSync(pub, issuer.publicKey.export({ type: 'spki', format: 'pem' }));
  const env = {
    LICENSOR_DATA_DIR: join(dir, 'data'),
    LICENSOR_TRUSTED_KEYS: pub,
    LICENSOR_ADMIN_TOKEN: ADMIN,
  };
  const servers: ServerProcess[] = [];
  // Started one after another so the first applies the migrations; the rest find them applied.
  for (let i = 0; i < processes; i++) servers.push(await startServerProcess(t, env));
  const added = await post(`${servers[0]!.url}/admin/license`, {
    licenseKey: issuer.issue({ seats, softSeats }),
  });
  assert.equal(added.status, 200);
  return servers;
}

/** Fires `attempts` user creates at once, spread round-robin over the servers. */
async function createAtOnce(servers: ServerProcess[], attempts: number, prefix: string) {
  const results = await Promise.all(
    Array.from({ length: attempts }, (_, i) =>
      post(`${servers[i % servers.length]!.url}/admin/users`, { userid: `${prefix}-${i}`, iamid: 'okta' }),
    ),
  );
  const created = results.filter((r) => r.status === 201).length;
  const refused = results.filter((r) => r.status === 403 && r.body.code === 'SEAT_LIMIT_REACHED').length;
  return { created, refused, other: results.filter((r) => r.status !== 201 && r.status !== 403) };
}

async function status(server: ServerProcess): Promise<Record<string, unknown>> {
  return (await (await fetch(`${server.url}/admin/license/licenseStatus`, { headers })).json()) as Record<
    string,
    unknown
  >;
}

describe('the seat limit under real concurrency (SQLite)', () => {
  test('300 parallel creates at one server: exactly the free seats succeed', async (t) => {
    const [server] = await setUp(t, 1, 40, 10);
    // 8 users already hold seats, so 50 - 8 = 42 are free.
    const before = await createAtOnce([server!], 8, 'early');
    assert.equal(before.created, 8);
    const { created, refused, other } = await createAtOnce([server!], 300, 'rush');
    t.diagnostic(`one process: 300 attempts, ${created} created, ${refused} refused`);
    assert.deepEqual(other, []);
    assert.equal(created, 42);
    assert.equal(refused, 258);
    const s = await status(server!);
    assert.equal(s.activeUserCount, 50);
    assert.equal(s.canAddUser, false);
  });

  test('400 parallel creates over two processes sharing one SQLite file: never one user more', async (t) => {
    const servers = await setUp(t, 2, 60, 0);
    const { created, refused, other } = await createAtOnce(servers, 400, 'two');
    t.diagnostic(`two processes: 400 attempts, ${created} created, ${refused} refused`);
    assert.deepEqual(other, []);
    assert.equal(created, 60);
    assert.equal(refused, 340);
    for (const server of servers) assert.equal((await status(server)).activeUserCount, 60);
    const list = (await (await fetch(`${servers[1]!.url}/admin/users?size=1000`, { headers })).json()) as {
      total: number;
    };
    assert.equal(list.total, 60, 'the users table agrees with the counters');
  });

  test('what one process caches is dropped when another commits: licenses and revoked tokens', async (t) => {
    const [a, b] = await setUp(t, 2, 5, 0);
    assert.equal((await status(b!)).hardSeats, 5);
    const list = async (server: ServerProcess) =>
      (await (await fetch(`${server.url}/admin/license`, { headers })).json()) as unknown[];
    assert.equal((await list(b!)).length, 1);
    const created = await post(`${a!.url}/admin/tokens`, {
      name: 'temp',
      permissions: ['APPLICATION_ADMIN'],
    });
    const secret = String(created.body.secret);
    const asTemp = (server: ServerProcess) =>
      fetch(`${server.url}/admin/license/licenseStatus`, { headers: { authorization: `Bearer ${secret}` } });
    assert.equal((await asTemp(b!)).status, 200, 'B knows the new token (and caches it)');
    const revoked = await fetch(`${a!.url}/admin/tokens/${String(created.body.id)}`, {
      method: 'DELETE',
      headers,
    });
    assert.equal(revoked.status, 200);
    // Within the second the coherence rule allows (docs/performance.md#the-read-snapshot); B reads
    // data_version at most every 20 ms.
    await within(1000, 'B refuses the token A revoked', async () => (await asTemp(b!)).status === 401);
    const deleted = await fetch(`${a!.url}/admin/license/1`, { method: 'DELETE', headers });
    assert.equal(deleted.status, 200);
    await within(1000, 'B sees the deletion', async () => (await status(b!)).hardSeats === 0);
  });
});

/** Polls `check` every 10 ms until it holds; fails once `ms` have passed. */
async function within(ms: number, what: string, check: () => Promise<boolean>): Promise<void> {
  const start = performance.now();
  while (!(await check())) {
    assert.ok(performance.now() - start < ms, `${what}: not within ${ms} ms`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
