import assert from 'node:assert/strict';
import { beforeEach, describe, it } from 'node:test';
import type { NewAuditEntry, Store } from '../../src/store/store.js';
import { at, type ContractContext } from './store-contract-helpers.js';

/** The audit log as the store appends and pages it. */
export function auditContract(ctx: ContractContext): void {
  let store: Store;
  describe('audit', () => {
    beforeEach(() => {
      store = ctx.store();
    });

    it('lists nothing on an empty store', async () => {
      assert.deepEqual(await store.listAudit({ offset: 0, size: 10 }), { entries: [], total: 0 });
    });

    it('appends entries and lists them newest first, with the total, a page at a time', async () => {
      const entries: NewAuditEntry[] = Array.from({ length: 5 }, (_, i) => ({
        at: at(i * 1001),
        actorTokenId: i === 0 ? null : i,
        actorName: i === 0 ? null : `token-${i}`,
        action: `action.${i}`,
        target: i % 2 === 1 ? `user:${i}` : null,
        targetName: i === 1 ? 'ada' : null,
        outcome: i === 3 ? 'refused' : 'success',
        code: i === 3 ? 'SEAT_LIMIT_REACHED' : null,
        clientAddress: i === 4 ? '::1' : `10.0.0.${i}`,
      }));
      for (const entry of entries) await store.recordRefusal(entry, []);
      const all = await store.listAudit({ offset: 0, size: 10 });
      assert.equal(all.total, 5);
      assert.deepEqual(
        all.entries.map(({ id: _id, ...entry }) => entry),
        [...entries].reverse(),
      );
      const ids = all.entries.map((e) => e.id);
      assert.ok(ids.every((id, i) => Number.isSafeInteger(id) && (i === 0 || id < ids[i - 1]!)));
      assert.deepEqual(await store.listAudit({ offset: 1, size: 2 }), {
        entries: all.entries.slice(1, 3),
        total: 5,
      });
      assert.deepEqual(await store.listAudit({ offset: 5, size: 2 }), { entries: [], total: 5 });
    });
  });
}
