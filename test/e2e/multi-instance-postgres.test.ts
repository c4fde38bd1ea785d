import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, describe, test, type TestContext } from 'node:test';
import { createIssuer } from '../helpers/issuer.js';
import {
  createSchema,
  dropSchema,
  postgresSkipReason,
  TEST_DATABASE_URL,
  uniqueSchemaName,
} from '../helpers/postgres.js';
import { startServerProcess, tempDir, type ServerProcess } from '../helpers/process.js';
import { proxyToTestDatabase } from '../helpers/proxy.js';
import { cleanup } from '../helpers/cleanup.js';

const ADMIN = 'pg-admin-token-0123456789abcdef';
const headers = { 'content-type': 'application/json', authorization: `Bearer ${ADMIN}` };

let skip: string | undefined;
before(async () => {
  skip = await postgresSkipReason();
});

type Reply = { status: number; body: Record<string, unknown> };

async function call(url: string, method: string, body?: unknown): Promise<Reply> {
  const res = await fetch(url, {
    method,
    headers,
    ...(body !== undefined && { body: JSON.stringify(body) }),
  });
  const text = await res.text();
  return { status: res.status, body: text === '' ? {} : (JSON.parse(text) as Record<string, unknown>) };
}

/** A fresh schema, and a DATABASE_URL that puts every connection of a server process in it. */
async function freshDatabase(t: TestContext, base = TEST_DATABASE_URL): Promise<string> {
  const schema = uniqueSchemaName('licensor_e2e');
  await createSchema(schema);
  cleanup(t, () => dropSchema(schema));
  const url = new URL(base);
  url.searchParams.set('options', `-c search_path=${schema}`);
  return url.toString();
}

async function startInstances(t: TestContext, count: number, databaseUrl: string) {
  const dir = tempDir(t);
  const issuer = createIssuer();
  const pub = join(dir, 'issuer.pub');
  writeFileSync(pub, issuer.publicKey.export({ type: 'spki', format: 'pem' }));
  const env = {
    DATABASE_URL: databaseUrl,
    LICENSOR_TRUSTED_KEYS: pub,
    LICENSOR_ADMIN_TOKEN: ADMIN,
    LICENSOR_DATA_DIR: join(dir, 'data'),
  };
  // Started together: their migrations race and must apply once.
  const servers = await Promise.all(Array.from({ length: count }, () => startServerProcess(t, env)));
  return { servers, issuer };
}

describe('several server processes on one PostgreSQL database', () => {
  test('one key posted to three instances at once: exactly one 2xx, the rest 409', async (t) => {
    if (skip) return t.skip(skip);
    const { servers, issuer } = await startInstances(t, 3, await freshDatabase(t));
    const key = issuer.issue({ seats: 10 });
    const replies = await Promise.all(
      Array.from({ length: 30 }, (_, i) =>
        call(`${servers[i % 3]!.url}/admin/license`, 'POST', { licenseKey: key }),
      ),
    );
    const ok = replies.filter((r) => r.status === 200).length;
    const conflicts = replies.filter(
      (r) => r.status === 409 && r.body.code === 'LICENSE_ALREADY_EXISTS',
    ).length;
    t.diagnostic(`same key x30 over 3 instances: ${ok} added, ${conflicts} conflicts`);
    assert.equal(ok, 1);
    assert.equal(conflicts, 29);
  });

  test('300 user creates over three instances: exactly the free seats succeed, never one more', async (t) => {
    if (skip) return t.skip(skip);
    const { servers, issuer } = await startInstances(t, 3, await freshDatabase(t));
    assert.equal(
      (
        await call(`${servers[0]!.url}/admin/license`, 'POST', {
          licenseKey: issuer.issue({ seats: 40, softSeats: 5 }),
        })
      ).status,
      200,
    );
    for (let i = 0; i < 5; i++)
      assert.equal(
        (await call(`${servers[1]!.url}/admin/users`, 'POST', { userid: `early${i}`, iamid: 'idp' })).status,
        201,
      );
    const replies = await Promise.all(
      Array.from({ length: 300 }, (_, i) =>
        call(`${servers[i % 3]!.url}/admin/users`, 'POST', { userid: `u${i}`, iamid: 'idp' }),
      ),
    );
    const created = replies.filter((r) => r.status === 201).length;
    const refused = replies.filter((r) => r.status === 403 && r.body.code === 'SEAT_LIMIT_REACHED').length;
    t.diagnostic(`300 creates over 3 instances with 40 free seats: ${created} created, ${refused} refused`);
    assert.equal(created, 40);
    assert.equal(refused, 260);
    for (const server of servers) {
      const status = await call(`${server.url}/admin/license/licenseStatus`, 'GET');
      assert.equal(status.body.activeUserCount, 45);
      assert.equal(status.body.canAddUser, false);
    }
  });

  test('a change through one instance shows in the status of every other within one second', async (t) => {
    if (skip) return t.skip(skip);
    const { servers, issuer } = await startInstances(t, 3, await freshDatabase(t));
    const added = await call(`${servers[0]!.url}/admin/license`, 'POST', {
      licenseKey: issuer.issue({ seats: 17 }),
    });
    const at = Date.now();
    for (const server of servers.slice(1)) {
      let seats: unknown;
      while (Date.now() - at < 1000) {
        seats = (await call(`${server.url}/admin/license/licenseStatus`, 'GET')).body.hardSeats;
        if (seats === 17) break;
      }
      assert.equal(seats, 17, 'visible within one second');
    }
    await call(`${servers[2]!.url}/admin/license/${String(added.body.id)}`, 'DELETE');
    assert.equal((await call(`${servers[0]!.url}/admin/license/licenseStatus`, 'GET')).body.hardSeats, 0);
  });
});

describe('PostgreSQL faults', () => {
  test('database cut: 503 STORE_UNAVAILABLE, the process stays up, recovers by itself, loses nothing acknowledged', async (t) => {
    if (skip) return t.skip(skip);
    const proxy = await proxyToTestDatabase();
    cleanup(t, () => proxy.cut());
    const direct = await freshDatabase(t);
    const { servers, issuer } = await startInstances(t, 1, proxy.via(direct));
    const server: ServerProcess = servers[0]!;
    assert.equal(
      (await call(`${server.url}/admin/license`, 'POST', { licenseKey: issuer.issue({ seats: 1000 }) }))
        .status,
      200,
    );

    const start = Date.now();
    const timeline: Record<string, number> = {};
    const acknowledged: string[] = [];
    let failed = 0;
    let n = 0;
    // Writes keep coming the whole time: before, during and after the cut. Bounded in count and time.
    const writer = (async () => {
      while (Date.now() - start < 6000 && n < 2000) {
        const userid = `w${n++}`;
        const r = await call(`${server.url}/admin/users`, 'POST', { userid, iamid: 'idp' });
        if (r.status === 201) {
          acknowledged.push(userid);
          if (timeline.restoredAt !== undefined) timeline.firstSuccessAfterRestore ??= Date.now() - start;
        } else {
          assert.equal(r.status, 503, JSON.stringify(r.body));
          assert.equal(r.body.code, 'STORE_UNAVAILABLE');
          timeline.first503 ??= Date.now() - start;
          failed++;
        }
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
    })();
    await new Promise((resolve) => setTimeout(resolve, 1000));
    timeline.cutAt = Date.now() - start;
    await proxy.cut();
    await new Promise((resolve) => setTimeout(resolve, 2000));
    const health = await fetch(`${server.url}/healthz`);
    assert.equal(health.status, 200, 'the process stays up');
    const ready = await fetch(`${server.url}/readyz`);
    assert.equal(ready.status, 503, 'and says it is not ready');
    timeline.restoredAt = Date.now() - start;
    await proxy.open();
    await writer;
    t.diagnostic(
      `cut at ${timeline.cutAt} ms, first 503 at ${timeline.first503} ms, restored at ${timeline.restoredAt} ms, first 2xx after restore at ${timeline.firstSuccessAfterRestore} ms; ${acknowledged.length} writes acknowledged, ${failed} refused`,
    );
    assert.ok(timeline.first503 !== undefined && timeline.first503 >= timeline.cutAt);
    assert.ok(timeline.firstSuccessAfterRestore !== undefined, 'recovered by itself');
    assert.equal((await fetch(`${server.url}/readyz`)).status, 200);

    // Nothing acknowledged is lost, and nothing failed is half there: the users and the counters agree.
    const list = await call(`${server.url}/admin/users?size=1000`, 'GET');
    const stored = new Set((list.body.users as { userid: string }[]).map((u) => u.userid));
    for (const userid of acknowledged) assert.ok(stored.has(userid), `acknowledged ${userid} is missing`);
    const status = await call(`${server.url}/admin/license/licenseStatus`, 'GET');
    assert.equal(status.body.activeUserCount, list.body.total, 'counters agree with the users table');
    // A write whose COMMIT was cut may have landed without its answer; never more than one in flight.
    assert.ok(
      Number(list.body.total) - acknowledged.length <= 1,
      `${Number(list.body.total) - acknowledged.length} unacknowledged users stored`,
    );
  });
});
