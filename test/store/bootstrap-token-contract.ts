import assert from 'node:assert/strict';
import { beforeEach, describe, it } from 'node:test';
import type { Store } from '../../src/store/store.js';
import { DAY } from '../helpers/issuer.js';
import { T0, at, type ContractContext } from './store-contract-helpers.js';

/** The bootstrap administrator token: set, rotated, created only on a store without one. */
export function bootstrapTokenContract(ctx: ContractContext): void {
  const { processes } = ctx;
  let store: Store;
  describe('tokens', () => {
    beforeEach(() => {
      store = ctx.store();
    });

    it('finds no token on an empty store', async () => {
      assert.equal(await store.findTokenByHash('no-such-hash'), undefined);
    });

    it('setBootstrapToken creates the administrator token, found by its hash', async () => {
      const token = await store.setBootstrapToken('hash-1', T0);
      assert.equal(typeof token.id, 'number');
      assert.equal(token.name, 'bootstrap administrator');
      assert.deepEqual(token.permissions, ['APPLICATION_ADMIN']);
      assert.equal(token.bootstrap, true);
      assert.equal(token.revokedAt, null);
      assert.equal(token.createdAt.toISOString(), T0.toISOString());
      assert.deepEqual(await store.findTokenByHash('hash-1'), token);
      assert.equal(await store.findTokenByHash('hash-2'), undefined);
    });

    it('setBootstrapToken with a new hash rotates the old secret out', async () => {
      const first = await store.setBootstrapToken('hash-1', T0);
      const second = await store.setBootstrapToken('hash-2', at(DAY));
      assert.equal(await store.findTokenByHash('hash-1'), undefined);
      assert.deepEqual(await store.findTokenByHash('hash-2'), second);
      assert.equal(second.id, first.id);
      assert.equal(second.createdAt.toISOString(), T0.toISOString());
      // Setting the same secret again changes nothing.
      assert.deepEqual(await store.setBootstrapToken('hash-2', at(2 * DAY)), second);
    });

    it('createBootstrapTokenIfNone creates a token only on a store without one', async () => {
      assert.equal(await store.createBootstrapTokenIfNone('hash-1', T0), true);
      assert.equal(await store.createBootstrapTokenIfNone('hash-2', at(1)), false);
      const token = await store.findTokenByHash('hash-1');
      assert.equal(token?.bootstrap, true);
      assert.deepEqual(token?.permissions, ['APPLICATION_ADMIN']);
      assert.equal(token?.createdAt.toISOString(), T0.toISOString());
      assert.equal(await store.findTokenByHash('hash-2'), undefined);
    });

    it('createBootstrapTokenIfNone does nothing once setBootstrapToken has run', async () => {
      await store.setBootstrapToken('hash-1', T0);
      assert.equal(await store.createBootstrapTokenIfNone('hash-2', at(1)), false);
      assert.equal(await store.findTokenByHash('hash-2'), undefined);
    });

    it('of 10 concurrent createBootstrapTokenIfNone exactly one creates the token', async () => {
      const stores = await processes(4);
      const results = await Promise.all(
        Array.from({ length: 10 }, (_, i) =>
          stores[i % stores.length]!.createBootstrapTokenIfNone(`hash-${i}`, at(i)),
        ),
      );
      assert.equal(results.filter(Boolean).length, 1, results.join(', '));
      const winner = results.indexOf(true);
      for (let i = 0; i < 10; i++)
        assert.equal((await store.findTokenByHash(`hash-${i}`)) !== undefined, i === winner, `hash-${i}`);
    });

    it('concurrent setBootstrapToken with one secret all succeed on one token', async () => {
      const stores = await processes(4);
      const tokens = await Promise.all(
        Array.from({ length: 8 }, (_, i) => stores[i % stores.length]!.setBootstrapToken('same-hash', at(i))),
      );
      assert.equal(new Set(tokens.map((t) => t.id)).size, 1);
      assert.equal((await store.findTokenByHash('same-hash'))?.id, tokens[0]?.id);
    });
  });
}
