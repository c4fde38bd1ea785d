import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { beforeEach, describe, it } from 'node:test';
import type { LicenseRecord } from '../../src/domain/license.js';
import type { Store } from '../../src/store/store.js';
import { DAY } from '../helpers/issuer.js';
import {
  T0,
  at,
  rejectsWithCode,
  codeOf,
  fixed,
  newUser,
  type ContractContext,
} from './store-contract-helpers.js';

/** Adding, listing and deleting licenses, and their races. */
export function licenseContract(ctx: ContractContext): void {
  const { newLicense, processes } = ctx;
  let store: Store;
  describe('licenses', () => {
    beforeEach(() => {
      store = ctx.store();
    });

    it('adds a license and returns it as stored', async () => {
      const license = newLicense({ seats: 7 });
      const added = await store.addLicense(license, fixed(T0));
      assert.equal(typeof added.id, 'number');
      assert.ok(Number.isSafeInteger(added.id) && added.id > 0);
      assert.equal(added.uuid, license.claims.uuid);
      assert.equal(added.licenseKey, license.licenseKey);
      assert.deepEqual(added.payload, license.payload);
      assert.deepEqual(added.claims, license.claims);
      assert.equal(added.updatedAt.toISOString(), T0.toISOString());
      assert.equal(added.deleted, false);
      assert.equal(added.invalidated, false);
      assert.deepEqual(await store.getLicense(added.id), added);
    });

    it('lists licenses in id order, ids increasing as they are added', async () => {
      const a = await store.addLicense(newLicense(), fixed(at(0)));
      const b = await store.addLicense(newLicense(), fixed(at(1)));
      const c = await store.addLicense(newLicense(), fixed(at(2)));
      assert.ok(a.id < b.id && b.id < c.id);
      assert.deepEqual(
        (await store.listLicenses()).map((l) => l.id),
        [a.id, b.id, c.id],
      );
      assert.deepEqual(await store.listLicenses(), [a, b, c]);
    });

    it('hands out one array of live licenses until they change, here or in another process', async () => {
      // The event scheduler skips its polls while it gets the same array (docs/events.md).
      const [mine, other] = (await processes(2)) as [Store, Store | undefined];
      const a = await mine.addLicense(newLicense(), fixed(at(0)));
      const first = await mine.listLicenses();
      assert.equal(await mine.listLicenses(), first, 'asked again: the same array');
      await mine.createUser(newUser(), fixed(at(1)));
      assert.equal(await mine.listLicenses(), first, 'a user is not a license change');
      const b = await mine.addLicense(newLicense(), fixed(at(2)));
      const second = await mine.listLicenses();
      assert.notEqual(second, first, 'an add: a new array');
      assert.deepEqual(
        second.map((l) => l.id),
        [a.id, b.id],
      );
      assert.deepEqual(
        first.map((l) => l.id),
        [a.id],
        'the earlier array is not changed in place',
      );
      const c = await mine.addLicense(newLicense({ supersedes: [b.uuid] }), fixed(at(3)));
      const third = await mine.listLicenses();
      assert.notEqual(third, second, 'an add that invalidates another: a new array');
      assert.deepEqual(
        third.map((l) => [l.id, l.invalidated]),
        [
          [a.id, false],
          [b.id, true],
          [c.id, false],
        ],
      );
      // An in-memory database has no other process.
      if (other === undefined) return;
      await other.deleteLicense(a.id, fixed(at(4)));
      const start = performance.now();
      let seen = await mine.listLicenses();
      while (seen === third) {
        assert.ok(performance.now() - start < 1000, 'another process’s delete not seen within 1 s');
        await new Promise((resolve) => setTimeout(resolve, 10));
        seen = await mine.listLicenses();
      }
      assert.deepEqual(
        seen.map((l) => l.id),
        [b.id, c.id],
      );
    });

    it('lists nothing on an empty store', async () => {
      assert.deepEqual(await store.listLicenses(), []);
      assert.deepEqual(await store.listLicenses({ includeDeleted: true }), []);
    });

    it('getLicense answers undefined for ids it does not hold', async () => {
      const added = await store.addLicense(newLicense(), fixed(T0));
      for (const id of [added.id + 1, 0, -1, 1.5, 2 ** 53 - 1])
        assert.equal(await store.getLicense(id), undefined);
    });

    it('keeps timestamps to the millisecond', async () => {
      const added = await store.addLicense(newLicense(), fixed(new Date('2026-06-01T12:00:00.001Z')));
      assert.equal((await store.getLicense(added.id))?.updatedAt.toISOString(), '2026-06-01T12:00:00.001Z');
      const deleted = await store.deleteLicense(added.id, fixed(new Date('2026-07-04T01:02:03.999Z')));
      assert.equal(deleted.updatedAt.toISOString(), '2026-07-04T01:02:03.999Z');
      const listed = await store.listLicenses({ includeDeleted: true });
      assert.equal(listed[0]?.updatedAt.toISOString(), '2026-07-04T01:02:03.999Z');
      assert.ok(listed[0]?.updatedAt instanceof Date);
    });

    it('keeps the payload exactly: unknown claims, member order, unusual characters', async () => {
      const license = newLicense({
        zeta: 1,
        vendorExtra: { nested: [1, 'two', null, true, { deep: 2.5 }], empty: {} },
        alpha: 'ünïcödé ✓ 🚀',
        nul: 'before\u0000after',
        quote: '"\'\\',
        features: { b: { enabled: true }, a: { enabled: false, note: 'kept' } },
        handlers: { s3: { region: 'eu' } },
        licensee: { name: 'Acme', company: 'Acme Ltd' },
      });
      const added = await store.addLicense(license, fixed(T0));
      for (const record of [added, await store.getLicense(added.id), (await store.listLicenses())[0]]) {
        assert.ok(record);
        assert.deepEqual(record.payload, license.payload);
        assert.deepEqual(Object.keys(record.payload), Object.keys(license.payload));
        assert.deepEqual(Object.keys(record.claims.features), ['b', 'a']);
        assert.deepEqual(record.claims, license.claims);
      }
    });

    it('refuses a second live license with the same uuid and writes nothing', async () => {
      const license = newLicense();
      await store.addLicense(license, fixed(T0));
      await rejectsWithCode(store.addLicense(license, fixed(at(1))), 'LICENSE_ALREADY_EXISTS');
      // Another key carrying the same uuid is the same license.
      await rejectsWithCode(
        store.addLicense(newLicense({ uuid: license.claims.uuid, seats: 99 }), fixed(at(2))),
        'LICENSE_ALREADY_EXISTS',
      );
      assert.equal((await store.listLicenses({ includeDeleted: true })).length, 1);
    });

    it('a live license blocks a re-add even when it has hardDelete', async () => {
      const license = newLicense({ hardDelete: true });
      await store.addLicense(license, fixed(T0));
      await rejectsWithCode(store.addLicense(license, fixed(at(1))), 'LICENSE_ALREADY_EXISTS');
    });

    it('soft-deletes: the record stays, deleted, updatedAt the deletion time', async () => {
      const added = await store.addLicense(newLicense(), fixed(T0));
      const kept = await store.addLicense(newLicense(), fixed(T0));
      const when = at(DAY + 456);
      const deleted = await store.deleteLicense(added.id, fixed(when));
      assert.deepEqual(deleted, { ...added, deleted: true, updatedAt: when });
      assert.deepEqual(await store.getLicense(added.id), deleted);
      assert.deepEqual(await store.listLicenses(), [kept]);
      assert.deepEqual(await store.listLicenses({ includeDeleted: false }), [kept]);
      assert.deepEqual(await store.listLicenses({ includeDeleted: true }), [deleted, kept]);
    });

    it('refuses to delete an unknown or already deleted license', async () => {
      await rejectsWithCode(store.deleteLicense(1, fixed(T0)), 'LICENSE_NOT_FOUND');
      const added = await store.addLicense(newLicense(), fixed(T0));
      await rejectsWithCode(store.deleteLicense(added.id + 1, fixed(T0)), 'LICENSE_NOT_FOUND');
      await rejectsWithCode(store.deleteLicense(1.5, fixed(T0)), 'LICENSE_NOT_FOUND');
      await store.deleteLicense(added.id, fixed(at(1)));
      await rejectsWithCode(store.deleteLicense(added.id, fixed(at(2))), 'LICENSE_NOT_FOUND');
      assert.equal((await store.getLicense(added.id))?.updatedAt.toISOString(), at(1).toISOString());
    });

    it('adds a license again after a soft delete without hardDelete', async () => {
      const license = newLicense();
      const first = await store.addLicense(license, fixed(T0));
      const deleted = await store.deleteLicense(first.id, fixed(at(1)));
      const again = await store.addLicense(license, fixed(at(2)));
      assert.notEqual(again.id, first.id);
      assert.equal(again.deleted, false);
      assert.equal(again.updatedAt.toISOString(), at(2).toISOString());
      assert.deepEqual(await store.listLicenses(), [again]);
      assert.deepEqual(await store.listLicenses({ includeDeleted: true }), [deleted, again]);
      // Still one live license per uuid.
      await rejectsWithCode(store.addLicense(license, fixed(at(3))), 'LICENSE_ALREADY_EXISTS');
    });

    it('never adds a license again after it was deleted with hardDelete', async () => {
      const license = newLicense({ hardDelete: true });
      const first = await store.addLicense(license, fixed(T0));
      await store.deleteLicense(first.id, fixed(at(1)));
      await rejectsWithCode(store.addLicense(license, fixed(at(2))), 'LICENSE_HARD_DELETED');
      // Not even with a new key for the same uuid that drops hardDelete.
      await rejectsWithCode(
        store.addLicense(newLicense({ uuid: license.claims.uuid, hardDelete: false }), fixed(at(3))),
        'LICENSE_HARD_DELETED',
      );
      assert.equal((await store.listLicenses({ includeDeleted: true })).length, 1);
    });

    it('marks the live licenses named in supersedes invalidated, in the same step', async () => {
      const old = await store.addLicense(newLicense(), fixed(at(0)));
      const bystander = await store.addLicense(newLicense(), fixed(at(1)));
      const gone = await store.addLicense(newLicense(), fixed(at(2)));
      const goneDeleted = await store.deleteLicense(gone.id, fixed(at(3)));
      const when = at(DAY);
      const successor = await store.addLicense(
        newLicense({ supersedes: [old.uuid, gone.uuid, `never-added-${randomUUID()}`] }),
        fixed(when),
      );
      assert.equal(successor.invalidated, false);
      assert.deepEqual(await store.getLicense(old.id), { ...old, invalidated: true, updatedAt: when });
      assert.deepEqual(await store.getLicense(bystander.id), bystander);
      // A deleted license is history: superseding leaves it as it was.
      assert.deepEqual(await store.getLicense(gone.id), goneDeleted);

      // An already invalidated license keeps the time it was invalidated.
      await store.addLicense(newLicense({ supersedes: [old.uuid] }), fixed(at(2 * DAY)));
      assert.equal((await store.getLicense(old.id))?.updatedAt.toISOString(), when.toISOString());
    });

    it('an invalidated license still counts as live for its uuid', async () => {
      const license = newLicense();
      await store.addLicense(license, fixed(T0));
      await store.addLicense(newLicense({ supersedes: [license.claims.uuid] }), fixed(at(1)));
      await rejectsWithCode(store.addLicense(license, fixed(at(2))), 'LICENSE_ALREADY_EXISTS');
    });

    it('a refused add changes nothing, supersedes included', async () => {
      const victim = await store.addLicense(newLicense(), fixed(T0));
      const existing = newLicense();
      await store.addLicense(existing, fixed(T0));
      const clash = newLicense({ uuid: existing.claims.uuid, supersedes: [victim.uuid] });
      await rejectsWithCode(store.addLicense(clash, fixed(at(1))), 'LICENSE_ALREADY_EXISTS');
      assert.deepEqual(await store.getLicense(victim.id), victim);
    });

    it('of 20 concurrent adds of one key exactly one succeeds', async () => {
      const stores = await processes(4);
      const license = newLicense();
      const results = await Promise.allSettled(
        Array.from({ length: 20 }, (_, i) => stores[i % stores.length]!.addLicense(license, fixed(at(i)))),
      );
      const codes = results.map(codeOf);
      assert.equal(codes.filter((c) => c === 'fulfilled').length, 1, codes.join(', '));
      assert.equal(codes.filter((c) => c === 'LICENSE_ALREADY_EXISTS').length, 19, codes.join(', '));
      assert.equal((await store.listLicenses({ includeDeleted: true })).length, 1);
    });

    it('concurrent adds of different keys all succeed', async () => {
      const stores = await processes(4);
      const licenses = Array.from({ length: 12 }, () => newLicense());
      const added = await Promise.all(
        licenses.map((l, i) => stores[i % stores.length]!.addLicense(l, fixed(at(i)))),
      );
      assert.equal(new Set(added.map((l) => l.id)).size, 12);
      assert.equal((await store.listLicenses()).length, 12);
    });

    it('re-adds racing a hard delete are all refused', async () => {
      const stores = await processes(4);
      const license = newLicense({ hardDelete: true });
      const added = await store.addLicense(license, fixed(T0));
      const results = await Promise.allSettled([
        ...Array.from({ length: 5 }, (_, i) => stores[i % stores.length]!.addLicense(license, fixed(at(1)))),
        stores[1 % stores.length]!.deleteLicense(added.id, fixed(at(1))),
        ...Array.from({ length: 5 }, (_, i) =>
          stores[(i + 2) % stores.length]!.addLicense(license, fixed(at(1))),
        ),
      ]);
      const codes = results.map(codeOf);
      assert.equal(codes[5], 'fulfilled', codes.join(', '));
      codes.splice(5, 1);
      assert.ok(
        codes.every((c) => c === 'LICENSE_ALREADY_EXISTS' || c === 'LICENSE_HARD_DELETED'),
        codes.join(', '),
      );
      assert.deepEqual(
        (await store.listLicenses({ includeDeleted: true })).map((l) => l.deleted),
        [true],
      );
      await rejectsWithCode(store.addLicense(license, fixed(at(2))), 'LICENSE_HARD_DELETED');
    });

    it('re-adds racing a soft delete leave at most one live license', async () => {
      const stores = await processes(4);
      const license = newLicense();
      const added = await store.addLicense(license, fixed(T0));
      const results = await Promise.allSettled([
        ...Array.from({ length: 5 }, (_, i) => stores[i % stores.length]!.addLicense(license, fixed(at(1)))),
        stores[1 % stores.length]!.deleteLicense(added.id, fixed(at(1))),
        ...Array.from({ length: 5 }, (_, i) =>
          stores[(i + 2) % stores.length]!.addLicense(license, fixed(at(1))),
        ),
      ]);
      const codes = results.map(codeOf);
      assert.equal(codes[5], 'fulfilled', codes.join(', '));
      codes.splice(5, 1);
      const succeeded = codes.filter((c) => c === 'fulfilled').length;
      assert.ok(succeeded <= 1, codes.join(', '));
      assert.equal(
        codes.filter((c) => c === 'LICENSE_ALREADY_EXISTS').length,
        10 - succeeded,
        codes.join(', '),
      );
      assert.equal((await store.listLicenses()).length, succeeded);
      assert.equal((await store.listLicenses({ includeDeleted: true })).length, 1 + succeeded);
    });

    it('of concurrent deletes of one license exactly one succeeds', async () => {
      const stores = await processes(4);
      const added = await store.addLicense(newLicense(), fixed(T0));
      const results = await Promise.allSettled(
        Array.from({ length: 10 }, (_, i) =>
          stores[i % stores.length]!.deleteLicense(added.id, fixed(at(i + 1))),
        ),
      );
      const codes = results.map(codeOf);
      assert.equal(codes.filter((c) => c === 'fulfilled').length, 1, codes.join(', '));
      assert.equal(codes.filter((c) => c === 'LICENSE_NOT_FOUND').length, 9, codes.join(', '));
      const winner = results.find(
        (r): r is PromiseFulfilledResult<LicenseRecord> => r.status === 'fulfilled',
      );
      assert.deepEqual(await store.getLicense(added.id), winner?.value);
    });
  });
}
