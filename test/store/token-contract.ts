import assert from 'node:assert/strict';
import { beforeEach, describe, it } from 'node:test';
import type { Store } from '../../src/store/store.js';
import { T0, at, rejectsWithCode, codeOf, fixed, type ContractContext } from './store-contract-helpers.js';

/** API tokens: create, list, revoke, and the last administrator token. */
export function apiTokenContract(ctx: ContractContext): void {
  const { processes, open, cleanup, options } = ctx;
  let store: Store;
  describe('api tokens', () => {
    beforeEach(() => {
      store = ctx.store();
    });

    it('creates, lists and revokes tokens', async () => {
      assert.deepEqual(await store.listTokens(), []);
      const boot = await store.setBootstrapToken('boot-hash', T0);
      const ci = await store.createToken(
        { name: 'ci', hash: 'h1', permissions: ['USER_ADMIN'] },
        fixed(at(1)),
      );
      assert.ok(Number.isSafeInteger(ci.id) && ci.id > boot.id);
      assert.deepEqual(ci, {
        id: ci.id,
        name: 'ci',
        permissions: ['USER_ADMIN'],
        createdAt: at(1),
        revokedAt: null,
        bootstrap: false,
      });
      const ops = await store.createToken(
        { name: 'ops', hash: 'h2', permissions: ['APPLICATION_ADMIN', 'USER_ADMIN'] },
        fixed(at(2)),
      );
      assert.deepEqual(await store.findTokenByHash('h1'), ci);
      assert.deepEqual(await store.findTokenByHash('h2'), ops);
      assert.deepEqual(await store.listTokens(), [boot, ci, ops]);
      const revoked = await store.revokeToken(ci.id, fixed(at(3)));
      assert.deepEqual(revoked, { ...ci, revokedAt: at(3) });
      assert.equal(await store.findTokenByHash('h1'), undefined);
      assert.deepEqual(await store.listTokens(), [boot, ops]);
      await rejectsWithCode(store.revokeToken(ci.id, fixed(at(4))), 'TOKEN_NOT_FOUND');
      for (const id of [ops.id + 100, 0, -1, 1.5])
        await rejectsWithCode(store.revokeToken(id, fixed(at(4))), 'TOKEN_NOT_FOUND');
      assert.deepEqual(await store.listTokens(), [boot, ops]);
    });

    it('createBootstrapTokenIfNone creates nothing while any live token exists', async () => {
      const ci = await store.createToken({ name: 'ci', hash: 'h1', permissions: ['USER_ADMIN'] }, fixed(T0));
      assert.equal(await store.createBootstrapTokenIfNone('boot-1', at(1)), false);
      await store.revokeToken(ci.id, fixed(at(2)));
      assert.equal(await store.createBootstrapTokenIfNone('boot-2', at(3)), true);
      assert.equal((await store.findTokenByHash('boot-2'))?.bootstrap, true);
    });

    it('createBootstrapTokenIfNone racing createToken creates only when no token came first', async () => {
      for (let round = 0; round < 10; round++) {
        // A fresh database each round: a store with an administrator token keeps one for good.
        const fresh = await open();
        const stores = [fresh];
        try {
          if (options.reopen) for (let i = 0; i < 3; i++) stores.push(await options.reopen(fresh));
          const boot = stores[round % stores.length]!.createBootstrapTokenIfNone(`boot-${round}`, at(round));
          const created = Promise.all(
            Array.from({ length: 6 }, (_, i) =>
              stores[(round + i) % stores.length]!.createToken(
                { name: `t-${round}-${i}`, hash: `h-${round}-${i}`, permissions: ['USER_ADMIN'] },
                fixed(at(round)),
              ),
            ),
          );
          const [tokens, bootstrapped] = await Promise.all([created, boot]);
          if (bootstrapped) {
            const token = await fresh.findTokenByHash(`boot-${round}`);
            assert.ok(token);
            // Created while no token was live: every token of this round came after it.
            assert.ok(
              tokens.every((t) => t.id > token.id),
              `bootstrap ${token.id}, others ${tokens.map((t) => t.id).join(', ')}`,
            );
          } else {
            assert.equal(await fresh.findTokenByHash(`boot-${round}`), undefined);
          }
        } finally {
          for (const s of stores.slice(1)) await s.close();
          await fresh.close();
          await cleanup?.(fresh);
        }
      }
    });

    it('refuses to revoke the last live APPLICATION_ADMIN token, and changes nothing', async () => {
      const boot = await store.setBootstrapToken('boot-hash', T0);
      const ci = await store.createToken(
        { name: 'ci', hash: 'h1', permissions: ['USER_ADMIN'] },
        fixed(at(1)),
      );
      const audited = (await store.listAudit({ offset: 0, size: 10 })).total;
      await rejectsWithCode(store.revokeToken(boot.id, fixed(at(2))), 'LAST_ADMIN_TOKEN');
      assert.deepEqual(await store.listTokens(), [boot, ci]);
      assert.deepEqual(await store.findTokenByHash('boot-hash'), boot);
      assert.equal((await store.listAudit({ offset: 0, size: 10 })).total, audited);
      const ops = await store.createToken(
        { name: 'ops', hash: 'h2', permissions: ['USER_ADMIN', 'APPLICATION_ADMIN'] },
        fixed(at(3)),
      );
      assert.deepEqual(await store.revokeToken(boot.id, fixed(at(4))), { ...boot, revokedAt: at(4) });
      await rejectsWithCode(store.revokeToken(ops.id, fixed(at(5))), 'LAST_ADMIN_TOKEN');
      // A USER_ADMIN token is never the last administrator.
      await store.revokeToken(ci.id, fixed(at(6)));
      assert.deepEqual(await store.listTokens(), [ops]);
    });

    it('of two concurrent revokes of the last two administrator tokens, exactly one succeeds', async () => {
      const stores = await processes(2);
      let [a, b] = [
        await store.setBootstrapToken('boot-hash', T0),
        await store.createToken({ name: 'a', hash: 'a-0', permissions: ['APPLICATION_ADMIN'] }, fixed(T0)),
      ];
      for (let round = 1; round <= 10; round++) {
        const results = await Promise.allSettled([
          stores[0]!.revokeToken(a.id, fixed(at(round))),
          stores[stores.length - 1]!.revokeToken(b.id, fixed(at(round))),
        ]);
        const codes = results.map(codeOf).sort();
        assert.deepEqual(codes, ['LAST_ADMIN_TOKEN', 'fulfilled'], `round ${round}`);
        const live = await store.listTokens();
        assert.equal(live.length, 1, `round ${round}`);
        [a, b] = [
          live[0]!,
          await store.createToken(
            { name: `a-${round}`, hash: `a-${round}`, permissions: ['APPLICATION_ADMIN'] },
            fixed(at(round)),
          ),
        ];
      }
    });
  });
}
