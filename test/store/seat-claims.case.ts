import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { LicensorError } from '../../src/domain/errors.js';
import type { NewLicense, NewUser, Store } from '../../src/store/store.js';
import { createIssuer } from '../helpers/issuer.js';
import { fixed } from './store-contract.js';

const T0 = new Date('2026-06-01T12:00:00.000Z');
const at = (ms: number): Date => new Date(T0.getTime() + ms);

/**
 * Seat claims racing each other and the changes that lower the limit (docs/seats.md#guarded-claims),
 * over two stores sharing one database: the limit is exact whatever path a claim takes.
 */
export function seatClaimsContract(
  name: string,
  open: () => Promise<Store>,
  cleanup: (store: Store) => Promise<void>,
  reopen: (store: Store) => Promise<Store>,
): void {
  const issuer = createIssuer();
  function newLicense(seats: number): NewLicense {
    return issuer.newLicense({ seats }, T0);
  }
  let sequence = 0;
  const newUser = (): NewUser => ({
    userid: `c${++sequence}`,
    iamid: 'idp',
    name: null,
    email: null,
    userType: 'dataConsumer',
  });

  describe(`${name}: concurrent seat claims`, () => {
    let store: Store;
    let other: Store;
    /** A third store for the change that races the claims, so it never waits for their connections. */
    let changer: Store;
    beforeEach(async () => {
      store = await open();
      other = await reopen(store);
      changer = await reopen(store);
    });
    afterEach(async () => {
      await changer.close();
      await other.close();
      await store.close();
      await cleanup(store);
    });

    /**
     * Fires `n` creates over both stores: half at once, then, as soon as two of those are done,
     * `change` and the other half while the first half is still in flight. How many were created.
     */
    async function createAtOnce(n: number, change?: () => Promise<unknown>): Promise<number> {
      let created = 0;
      const claim = async (i: number): Promise<void> => {
        try {
          await (i % 2 === 0 ? store : other).createUser(newUser(), fixed(at(10)));
          created++;
        } catch (err) {
          if (!(err instanceof LicensorError && err.code === 'SEAT_LIMIT_REACHED')) throw err;
        }
      };
      let done = 0;
      let second: (() => void) | undefined;
      const twoDone = new Promise<void>((resolve) => (second = resolve));
      const first = Array.from({ length: n / 2 }, (_, i) =>
        claim(i).finally(() => ++done === 2 && second?.()),
      );
      await Promise.race([twoDone, Promise.all(first)]);
      const rest = [change?.(), ...Array.from({ length: n - n / 2 }, (_, i) => claim(n / 2 + i))];
      await Promise.all([...first, ...rest]);
      return created;
    }

    /**
     * Replays the audit log in commit order (every entry here is written under the seat lock, so its
     * id follows its commit) and checks each create against the limit in force when it committed.
     */
    async function assertEachCreateUnderTheLimit(
      limitAfter: (action: string) => number | undefined,
      start: {
        active: number;
        limit: number;
      },
    ): Promise<number> {
      const { entries } = await store.listAudit({ offset: 0, size: 1000 });
      let { active, limit } = start;
      for (const entry of [...entries].sort((a, b) => a.id - b.id)) {
        const next = limitAfter(entry.action);
        if (next !== undefined) limit = next;
        if (entry.action !== 'user.create') continue;
        assert.ok(
          active < limit,
          `${entry.target} committed with ${active} active users and a limit of ${limit}`,
        );
        active++;
      }
      return active;
    }

    it("a store decides with the other store's claims, whatever it read for its own last change", async () => {
      await store.addLicense(newLicense(2), fixed(T0));
      await store.createUser(newUser(), fixed(at(1)));
      // A change that reads the active count and writes no user: a store that kept what it read
      // there, without noticing the other store's commits, would count two users too few.
      await store.addLicense(newLicense(1), fixed(at(2)));
      await other.createUser(newUser(), fixed(at(3)));
      await other.createUser(newUser(), fixed(at(4)));
      await assert.rejects(
        store.createUser(newUser(), fixed(at(5))),
        (err: unknown) => err instanceof LicensorError && err.code === 'SEAT_LIMIT_REACHED',
      );
      assert.equal((await store.readView(at(6))).activeUserCount, 3);
    });

    it('sixty claims for five free seats under a cap take exactly five', async () => {
      await store.addLicense(newLicense(1000), fixed(T0));
      await store.setSeatSettings({ userCap: 30, whenFull: 'refuse' }, fixed(T0));
      for (let i = 0; i < 25; i++) await store.createUser(newUser(), fixed(at(1)));
      assert.equal(await createAtOnce(60), 5);
      assert.equal((await store.readView(at(20))).activeUserCount, 30);
      assert.equal((await other.readView(at(20))).activeUserCount, 30);
    });

    it('claims racing a lower cap: none commits over the cap in force at its commit', async () => {
      await store.addLicense(newLicense(1000), fixed(T0));
      await store.setSeatSettings({ userCap: 100, whenFull: 'refuse' }, fixed(T0));
      for (let i = 0; i < 20; i++) await store.createUser(newUser(), fixed(at(1)));
      const created = await createAtOnce(60, () =>
        changer.setSeatSettings({ userCap: 22, whenFull: 'refuse' }, fixed(at(5))),
      );
      const caps = [100, 22];
      const active = await assertEachCreateUnderTheLimit(
        (action) => (action === 'settings.seats' ? caps.shift() : undefined),
        { active: 0, limit: Infinity },
      );
      assert.ok(created < 60, 'the lower cap landed while claims were still coming');
      assert.equal(active, 20 + created);
      assert.equal((await store.readView(at(20))).activeUserCount, 20 + created);
    });

    it('claims racing a license delete: none commits over the seats left at its commit', async () => {
      const small = await store.addLicense(newLicense(25), fixed(T0));
      const big = await store.addLicense(newLicense(1000), fixed(T0));
      assert.ok(small.id !== big.id);
      for (let i = 0; i < 20; i++) await store.createUser(newUser(), fixed(at(1)));
      const created = await createAtOnce(60, () => changer.deleteLicense(big.id, fixed(at(5))));
      const active = await assertEachCreateUnderTheLimit(
        (action) => (action === 'license.delete' ? 25 : undefined),
        { active: 0, limit: Infinity },
      );
      assert.equal(active, 20 + created);
      assert.ok(created < 60, 'the delete landed while claims were still coming');
    });
  });
}
