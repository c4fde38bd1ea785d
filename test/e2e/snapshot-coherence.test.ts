/**
 * Each server process answers licenseStatus, entitlements and token checks from an in-memory
 * snapshot (docs/performance.md#the-read-snapshot). Two processes sharing one store must agree
 * within a second: what one commits, the other serves within 1 s, though its snapshot was warm
 * (read just before the change) and would otherwise go on answering the old state. Two processes
 * on one SQLite file (data_version), and two on one PostgreSQL schema (LISTEN/NOTIFY, with a
 * generation poll behind it).
 */
import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import { postgresSkipReason } from '../helpers/postgres.js';
import { startServerProcess, type ServerProcess } from '../helpers/process.js';
import { call, installation, ok, STORES, type Reply } from './store-servers.js';

const LIMIT_MS = 1000;
const POLL_MS = 20;

let pgSkip: string | undefined;
before(async () => {
  pgSkip = await postgresSkipReason();
});

/**
 * Polls `read` every POLL_MS until `done` holds for its reply, and returns how long that took from
 * `since` (the moment the change was acknowledged). Fails once LIMIT_MS have passed.
 */
async function within(
  what: string,
  since: number,
  read: () => Promise<Reply>,
  done: (reply: Reply) => boolean,
): Promise<number> {
  let last: Reply;
  do {
    last = await read();
    if (done(last)) return Date.now() - since;
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  } while (Date.now() - since < LIMIT_MS);
  last = await read();
  const elapsed = Date.now() - since;
  assert.ok(
    done(last) && elapsed < LIMIT_MS,
    `${what}: still ${last.status} ${JSON.stringify(last.body)} after ${elapsed} ms`,
  );
  return elapsed;
}

const status = (server: ServerProcess): Promise<Reply> =>
  call(server.url, 'GET', '/admin/license/licenseStatus');
const entitlements = (server: ServerProcess, token?: string): Promise<Reply> =>
  call(server.url, 'GET', '/license/entitlements', undefined, token);

for (const store of STORES) {
  describe(`two server processes on one ${store} store`, () => {
    test('what one commits, the other serves within one second, though its snapshot was warm', async (t) => {
      if (store === 'postgres' && pgSkip) return t.skip(pgSkip);
      // Polling with a token B does not know yet counts as failed authentications: no limit here.
      const { env, issuer } = await installation(t, store, { LICENSOR_AUTH_FAILURE_LIMIT: 'off' });
      // One after the other: the first applies the migrations.
      const a = await startServerProcess(t, env);
      const b = await startServerProcess(t, env);
      const figures: string[] = [];

      // A license added through A: B's status and entitlements.
      const warmStatus = await status(b);
      assert.equal(warmStatus.body.hardSeats, 0, 'B starts with no license');
      const warmEntitlements = await entitlements(b);
      assert.deepEqual(warmEntitlements.body.features, {}, 'B starts with no feature');
      const added = await ok(a.url, 'POST', '/admin/license', {
        licenseKey: issuer.issue({
          seats: 7,
          features: { coherence: { enabled: true } },
          handlers: { snowflake: {} },
        }),
      });
      let at = Date.now();
      assert.equal((await status(a)).body.hardSeats, 7, 'A serves its own change at once');
      const licenseMs = await within(
        'B status after the add',
        at,
        () => status(b),
        (r) => r.body.hardSeats === 7,
      );
      const featureMs = await within(
        'B entitlements after the add',
        at,
        () => entitlements(b),
        (r) => (r.body.features as Record<string, { enabled: boolean }>).coherence?.enabled === true,
      );
      assert.deepEqual((await entitlements(b)).body.handlers, { snowflake: {} });
      figures.push(`license add: status ${licenseMs} ms, entitlements ${featureMs} ms`);

      // A user created through A: B's activeUserCount.
      assert.equal((await status(b)).body.activeUserCount, 0);
      const user = await ok(a.url, 'POST', '/admin/users', { userid: 'ada', iamid: 'idp' });
      at = Date.now();
      const userMs = await within(
        'B count after a create',
        at,
        () => status(b),
        (r) => r.body.activeUserCount === 1,
      );
      figures.push(`user create: ${userMs} ms`);

      // The same user disabled through A: the seat is free at B.
      assert.equal((await status(b)).body.activeUserCount, 1);
      await ok(a.url, 'PATCH', `/admin/users/${String(user.body.id)}`, { disabled: true });
      at = Date.now();
      const disableMs = await within(
        'B count after a disable',
        at,
        () => status(b),
        (r) => r.body.activeUserCount === 0,
      );
      figures.push(`user disable: ${disableMs} ms`);

      // A token created through A authenticates at B; revoked through A, B refuses it.
      const unknown = await entitlements(b, 'lsr_not-a-token-yet');
      assert.equal(unknown.status, 401, 'B checks tokens (and holds its token snapshot)');
      const created = await ok(a.url, 'POST', '/admin/tokens', {
        name: 'coherence',
        permissions: ['USER_ADMIN'],
      });
      const secret = String(created.body.secret);
      at = Date.now();
      const tokenMs = await within(
        'the new token at B',
        at,
        () => entitlements(b, secret),
        (r) => r.status === 200,
      );
      figures.push(`token create: ${tokenMs} ms`);
      assert.equal((await entitlements(b, secret)).status, 200, 'B serves the token, from a warm snapshot');
      await ok(a.url, 'DELETE', `/admin/tokens/${String(created.body.id)}`);
      at = Date.now();
      assert.equal((await entitlements(a, secret)).status, 401, 'A refuses its own revocation at once');
      const revokeMs = await within(
        'the revoked token at B',
        at,
        () => entitlements(b, secret),
        (r) => r.status === 401,
      );
      figures.push(`token revoke: ${revokeMs} ms`);

      // The license deleted through A: B's status and entitlements lose it.
      assert.equal((await status(b)).body.hardSeats, 7);
      assert.equal((await entitlements(b)).body.canAddUser, true);
      await ok(a.url, 'DELETE', `/admin/license/${String(added.body.id)}`);
      at = Date.now();
      const deleteMs = await within(
        'B status after the delete',
        at,
        () => status(b),
        (r) => r.body.hardSeats === 0,
      );
      const lostMs = await within(
        'B entitlements after the delete',
        at,
        () => entitlements(b),
        (r) => JSON.stringify(r.body.features) === '{}' && r.body.canAddUser === false,
      );
      figures.push(`license delete: status ${deleteMs} ms, entitlements ${lostMs} ms`);
      t.diagnostic(`${store}, visible at B after: ${figures.join('; ')}`);
    });
  });
}
