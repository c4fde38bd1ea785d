/**
 * A change commits its audit entry in its own transaction, before the response (docs/audit.md):
 * a client that resets the connection the instant its request is out, never reading a byte of the
 * answer, cannot leave a committed change without its audit line. Against a real server process,
 * on SQLite and on PostgreSQL.
 */
import assert from 'node:assert/strict';
import { before, describe, test, type TestContext } from 'node:test';
import { createIssuer } from '../helpers/issuer.js';
import { postgresSkipReason } from '../helpers/postgres.js';
import { startServerProcess } from '../helpers/process.js';
import {
  allAudit,
  call,
  allUsers,
  installation,
  liveLicenses,
  liveTokens,
  ok,
  sendAndReset,
  settled,
  STORES,
  type AuditRow,
} from './store-servers.js';

let pgSkip: string | undefined;
before(async () => {
  pgSkip = await postgresSkipReason();
});

/** The 40 changes sent on reset connections, by kind. */
const CREATES = 12;
const DISABLES = 8;
const DELETES = 8;
const LICENSES = 6;
const TOKENS = 6;
/** Refusals, each pipelined in front of a user create on the same reset connection. */
const REFUSALS = 6;

const key = (a: { action: string; target: string | null }): string => `${a.action} ${a.target}`;

for (const store of STORES) {
  describe(`changes whose client resets the connection (${store})`, () => {
    test('every committed change has its audit entry, and no entry lacks its change', async (t) => {
      if (store === 'postgres' && pgSkip) return t.skip(pgSkip);
      // Every round checks every rule. Whether a reset reaches the server before or after it reads
      // the request is up to the network: a round where few did proves little, so it runs again (a
      // fresh server), at most three times, until most changes and at least two refusals were read.
      let last = { committed: 0, refusalsRead: 0 };
      for (let attempt = 1; attempt <= 3; attempt++) {
        last = await round(t);
        if (last.committed >= 30 && last.refusalsRead >= 2) break;
        t.diagnostic(`${store}: round ${attempt} read too few (${JSON.stringify(last)}); again`);
      }
      assert.ok(last.committed >= 30, `only ${last.committed} of 40 changes committed`);
      assert.ok(last.refusalsRead >= 2, `only ${last.refusalsRead} refusals were read`);
    });

    /** One round against a fresh server; answers how much of it the server read. */
    async function round(t: TestContext): Promise<{ committed: number; refusalsRead: number }> {
      const { env, issuer } = await installation(t, store);
      const server = await startServerProcess(t, env);
      const base = server.url;

      // Set-up through ordinary requests: seats, and the users the resets disable and delete.
      await ok(base, 'POST', '/admin/license', { licenseKey: issuer.issue({ seats: 1000, uuid: 'base' }) });
      const victims: Record<string, number> = {};
      for (let i = 0; i < DISABLES + DELETES + 1; i++) {
        const created = await ok(base, 'POST', '/admin/users', { userid: `pre${i}`, iamid: 'idp' });
        victims[`pre${i}`] = Number(created.body.id);
      }
      const auditBefore = await allAudit(base);
      const seen = new Set(auditBefore.map((a) => a.id));

      const changes: { method: string; path: string; body?: unknown }[] = [];
      for (let i = 0; i < CREATES; i++)
        changes.push({ method: 'POST', path: '/admin/users', body: { userid: `reset${i}`, iamid: 'idp' } });
      for (let i = 0; i < DISABLES; i++)
        changes.push({
          method: 'PATCH',
          path: `/admin/users/${victims[`pre${i}`]}`,
          body: { disabled: true },
        });
      for (let i = 0; i < DELETES; i++)
        changes.push({ method: 'DELETE', path: `/admin/users/${victims[`pre${DISABLES + i}`]}` });
      for (let i = 0; i < LICENSES; i++)
        changes.push({
          method: 'POST',
          path: '/admin/license',
          body: { licenseKey: issuer.issue({ seats: 1, uuid: `reset-license-${i}` }) },
        });
      for (let i = 0; i < TOKENS; i++)
        changes.push({
          method: 'POST',
          path: '/admin/tokens',
          body: { name: `reset-token-${i}`, permissions: ['USER_ADMIN'] },
        });
      assert.equal(changes.length, 40);
      // Each refusal is followed, on the same connection, by a create: if the create committed, the
      // server read the refusal before it, so the refusal must be audited too.
      const existing = victims.pre16;
      const refusals = [
        {
          method: 'POST',
          path: '/admin/users',
          body: { userid: 'pre16', iamid: 'idp' },
          code: 'USER_ALREADY_EXISTS',
          action: 'user.create',
          target: null,
        },
        {
          method: 'POST',
          path: '/admin/license',
          body: { licenseKey: issuer.issue({ uuid: 'base' }) },
          code: 'LICENSE_ALREADY_EXISTS',
          action: 'license.add',
          target: null,
        },
        {
          method: 'POST',
          path: '/admin/license',
          body: { licenseKey: createIssuer().issue() },
          code: 'UNTRUSTED_ISSUER',
          action: 'license.add',
          target: null,
        },
        {
          method: 'DELETE',
          path: '/admin/users/999999',
          code: 'USER_NOT_FOUND',
          action: 'user.delete',
          target: 'user:999999',
        },
        {
          method: 'DELETE',
          path: '/admin/tokens/999999',
          code: 'TOKEN_NOT_FOUND',
          action: 'token.revoke',
          target: 'token:999999',
        },
        {
          method: 'PATCH',
          path: `/admin/users/${existing}`,
          body: { userType: 'nobody' },
          code: 'VALIDATION_FAILED',
          action: 'user.update',
          target: `user:${existing}`,
        },
      ];
      assert.equal(refusals.length, REFUSALS);

      const start = Date.now();
      await Promise.all([
        ...changes.map((c) => sendAndReset(base, [c])),
        ...refusals.map((r, i) =>
          sendAndReset(base, [
            r,
            { method: 'POST', path: '/admin/users', body: { userid: `after-refusal${i}`, iamid: 'idp' } },
          ]),
        ),
      ]);
      t.diagnostic(
        `${changes.length + refusals.length} connections written and reset in ${Date.now() - start} ms`,
      );

      // The server finishes what it read on its own time: wait until nothing moves any more.
      const state = await settled(async () => ({
        users: await allUsers(base),
        licenses: await liveLicenses(base),
        tokens: await liveTokens(base),
        audit: (await allAudit(base)).filter((a) => !seen.has(a.id)),
      }));
      const { users, licenses, tokens } = state;
      const audit: AuditRow[] = state.audit;
      const userByName = new Map(users.map((u) => [u.userid, u]));

      // What committed, read from the data alone, and the entry each must have.
      const expected: string[] = [];
      for (let i = 0; i < CREATES; i++) {
        const user = userByName.get(`reset${i}`);
        if (user) expected.push(`user.create user:${user.id}`);
      }
      for (let i = 0; i < DISABLES; i++)
        if (userByName.get(`pre${i}`)?.disabled) expected.push(`user.update user:${victims[`pre${i}`]}`);
      for (let i = 0; i < DELETES; i++)
        if (!userByName.has(`pre${DISABLES + i}`))
          expected.push(`user.delete user:${victims[`pre${DISABLES + i}`]}`);
      for (let i = 0; i < LICENSES; i++) {
        const license = licenses.find((l) => l.uuid === `reset-license-${i}`);
        if (license) expected.push(`license.add license:${license.id}`);
      }
      for (let i = 0; i < TOKENS; i++) {
        const token = tokens.find((tk) => tk.name === `reset-token-${i}`);
        if (token) expected.push(`token.create token:${token.id}`);
      }
      const committed = expected.length;
      const carriers: string[] = [];
      const refusedExpected: string[] = [];
      refusals.forEach((r, i) => {
        const user = userByName.get(`after-refusal${i}`);
        if (!user) return;
        carriers.push(`user.create user:${user.id}`);
        refusedExpected.push(`${r.action} ${r.target} ${r.code}`);
      });

      const successes = audit.filter((a) => a.outcome === 'success');
      const refused = audit.filter((a) => a.outcome === 'refused');
      const audited = new Set(successes.map(key));
      const missing = expected.filter((e) => !audited.has(e));
      t.diagnostic(
        `${store}: ${committed}/40 changes committed, ${committed - missing.length}/${committed} audited; ` +
          `${refusedExpected.length}/${REFUSALS} refusals read, ${refused.length} refusal entries`,
      );
      // Every entry names the client's address, or `unknown` when the reset reached the server
      // before it accepted the connection: Node cannot learn that peer (getpeername fails and libuv
      // drops accept's address; docs/audit.md). Never another address.
      const unknown = audit.filter((a) => a.clientAddress === 'unknown').length;
      t.diagnostic(`${store}: ${unknown} of ${audit.length} entries without an address`);
      assert.deepEqual(
        [...new Set(audit.map((a) => a.clientAddress))].filter((a) => a !== 'unknown' && a !== '127.0.0.1'),
        [],
        'no entry names an address the requests did not come from',
      );
      assert.deepEqual(missing, [], `committed changes without their audit entry`);
      assert.equal(
        successes.length,
        committed + carriers.length,
        'one success entry per committed change, no more',
      );
      assert.deepEqual(
        successes.map(key).sort(),
        [...expected, ...carriers].sort(),
        'every success entry names a change that is in the data',
      );
      // A refusal is audited before its response: each one the server read has its entry, with its
      // code, and no entry names a refusal that was not sent.
      const sent = refusals.map((r) => `${r.action} ${r.target} ${r.code}`);
      const rows = refused.map((a) => `${a.action} ${a.target} ${a.code}`);
      assert.deepEqual(
        rows.filter((r) => !sent.includes(r)),
        [],
        'refusal entries for refusals not sent',
      );
      assert.equal(new Set(rows).size, rows.length, 'one entry per refusal');
      assert.deepEqual(
        rows.filter((r) => refusedExpected.includes(r)).sort(),
        refusedExpected.sort(),
        'every refusal the server read is audited, with its code',
      );
      return { committed, refusalsRead: refusedExpected.length };
    }

    test('an answered change or refusal is in the log by the time its answer arrives', async (t) => {
      if (store === 'postgres' && pgSkip) return t.skip(pgSkip);
      const { env, issuer } = await installation(t, store);
      const base = (await startServerProcess(t, env)).url;
      await ok(base, 'POST', '/admin/license', { licenseKey: issuer.issue({ seats: 1 }) });
      const newest = async (): Promise<string> => {
        const [entry] = (await ok(base, 'GET', '/admin/audit?size=1')).body.entries as AuditRow[];
        return `${entry?.action} ${entry?.target} ${entry?.outcome} ${entry?.code}`;
      };
      // Answers first, then the log, with nothing in between: an entry written after the answer
      // (an onResponse hook, a deferred write) is not there yet, at least once in these rounds.
      for (let i = 0; i < 10; i++) {
        const missing = await call(base, 'DELETE', `/admin/users/${900 + i}`);
        assert.equal(missing.status, 404);
        assert.equal(await newest(), `user.delete user:${900 + i} refused USER_NOT_FOUND`, `refusal ${i}`);
        const full = await call(base, 'POST', '/admin/users', { userid: `full${i}`, iamid: 'idp' });
        if (i === 0) {
          assert.equal(full.status, 201);
          assert.equal(await newest(), `user.create user:${String(full.body.id)} success null`);
        } else {
          assert.equal(full.status, 403);
          assert.equal(await newest(), 'user.create null refused SEAT_LIMIT_REACHED', `seat refusal ${i}`);
        }
        const token = await ok(base, 'POST', '/admin/tokens', { name: `t${i}`, permissions: ['USER_ADMIN'] });
        assert.equal(
          await newest(),
          `token.create token:${String(token.body.id)} success null`,
          `change ${i}`,
        );
      }
    });
  });
}
