/**
 * Approvals race like creates (docs/seats.md#user-cap-and-approval-queue): 50 approves fired at
 * once with 5 seats free approve exactly 5, on SQLite, on PostgreSQL, and spread over two
 * PostgreSQL instances, each a server process of its own.
 */
import assert from 'node:assert/strict';
import { before, describe, test, type TestContext } from 'node:test';
import { postgresSkipReason } from '../helpers/postgres.js';
import { startServerProcess, type ServerProcess } from '../helpers/process.js';
import { call, installation, ok, type StoreKind } from './store-servers.js';

let pgSkip: string | undefined;
before(async () => {
  pgSkip = await postgresSkipReason();
});

async function fiftyApprovesWithFiveFree(t: TestContext, store: StoreKind, processes: number): Promise<void> {
  if (store === 'postgres' && pgSkip) return void t.skip(pgSkip);
  const { env, issuer } = await installation(t, store);
  const servers: ServerProcess[] = [];
  // One after another, so the first applies the migrations.
  for (let i = 0; i < processes; i++) servers.push(await startServerProcess(t, env));
  const base = servers[0]!.url;
  await ok(base, 'POST', '/admin/license', { licenseKey: issuer.issue({ seats: 20 }) });
  await ok(base, 'PUT', '/admin/settings/seats', { userCap: 5, whenFull: 'queue' });
  for (let i = 0; i < 5; i++) await ok(base, 'POST', '/admin/users', { userid: `held-${i}`, iamid: 'idp' });
  const pending: number[] = [];
  for (let i = 0; i < 50; i++) {
    const reply = await call(base, 'POST', '/admin/users', { userid: `queued-${i}`, iamid: 'idp' });
    assert.equal(reply.status, 202, JSON.stringify(reply.body));
    pending.push(reply.body.id as number);
  }
  // Five seats free up at once.
  await ok(base, 'PUT', '/admin/settings/seats', { userCap: 10, whenFull: 'queue' });
  // Every server must decide by the new cap: each reads it under the seat lock.
  const replies = await Promise.all(
    pending.map((id, i) => call(servers[i % servers.length]!.url, 'POST', `/admin/users/${id}/approve`)),
  );
  const approved = replies.filter((r) => r.status === 200).length;
  const refused = replies.filter((r) => r.status === 403 && r.body.code === 'SEAT_LIMIT_REACHED').length;
  t.diagnostic(`${store}, ${processes} process(es): ${approved} approved, ${refused} refused`);
  assert.deepEqual(
    replies.filter((r) => r.status !== 200 && r.status !== 403),
    [],
  );
  assert.deepEqual([approved, refused], [5, 45]);
  for (const server of servers) {
    const status = (await call(server.url, 'GET', '/admin/license/licenseStatus')).body;
    assert.equal(status.activeUserCount, 10);
    assert.equal(status.canAddUser, false);
  }
  const queue = (await call(base, 'GET', '/admin/users?state=pending&size=100')).body;
  assert.equal(queue.total, 45);
}

describe('50 concurrent approves with 5 seats free approve exactly 5', () => {
  test('SQLite, one server', (t) => fiftyApprovesWithFiveFree(t, 'sqlite', 1));
  test('PostgreSQL, one server', (t) => fiftyApprovesWithFiveFree(t, 'postgres', 1));
  test('PostgreSQL, two server processes on one database', (t) =>
    fiftyApprovesWithFiveFree(t, 'postgres', 2));
});
