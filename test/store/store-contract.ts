import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { LicensorError, type ErrorCode } from '../../src/domain/errors.js';
import type { LicenseRecord } from '../../src/domain/license.js';
import { verifyLicenseKey } from '../../src/keys/license-jws.js';
import type { NewLicense, Store } from '../../src/store/store.js';
import { createIssuer, DAY } from '../helpers/issuer.js';

export interface StoreContractOptions {
  /**
   * Opens another store on the same database as `store`, as a second process would. Enables the
   * migration-idempotence test and spreads the concurrency tests over several stores.
   */
  reopen?: (store: Store) => Promise<Store>;
}

/** A fixed instant with milliseconds, so a lost millisecond shows. */
const T0 = new Date('2026-06-01T12:00:00.123Z');
const at = (ms: number): Date => new Date(T0.getTime() + ms);

async function rejectsWithCode(promise: Promise<unknown>, code: ErrorCode): Promise<void> {
  await assert.rejects(promise, (err: unknown) => {
    assert.ok(err instanceof LicensorError, `expected a LicensorError ${code}, got ${String(err)}`);
    assert.equal(err.code, code);
    return true;
  });
}

function codeOf(result: PromiseSettledResult<unknown>): string {
  if (result.status === 'fulfilled') return 'fulfilled';
  return result.reason instanceof LicensorError
    ? result.reason.code
    : `not a LicensorError: ${String(result.reason)}`;
}

/**
 * The behaviour every Store must show, run against a real database. `open` gives a fresh, empty
 * store for each test; `cleanup` runs after the test has closed it.
 */
export function storeContract(
  name: string,
  open: () => Promise<Store>,
  cleanup?: (store: Store) => Promise<void>,
  options: StoreContractOptions = {},
): void {
  const issuer = createIssuer();

  /** A verified key with the test issuer's defaults and `claims` on top, as the routes build one. */
  function newLicense(claims: Record<string, unknown> = {}): NewLicense {
    const licenseKey = issuer.issue(claims, T0);
    const verified = verifyLicenseKey(licenseKey, issuer.ring);
    return { licenseKey, payload: verified.payload, claims: verified.claims };
  }

  describe(name, () => {
    let store: Store;
    let others: Store[] = [];

    beforeEach(async () => {
      store = await open();
      others = [];
    });

    afterEach(async () => {
      for (const other of others) await other.close();
      await store.close();
      await cleanup?.(store);
    });

    /** The store under test and, when the database allows it, more stores on the same database. */
    async function processes(count: number): Promise<Store[]> {
      const { reopen } = options;
      if (!reopen) return [store];
      while (others.length < count - 1) others.push(await reopen(store));
      return [store, ...others.slice(0, count - 1)];
    }

    describe('licenses', () => {
      it('adds a license and returns it as stored', async () => {
        const license = newLicense({ seats: 7 });
        const added = await store.addLicense(license, T0);
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
        const a = await store.addLicense(newLicense(), at(0));
        const b = await store.addLicense(newLicense(), at(1));
        const c = await store.addLicense(newLicense(), at(2));
        assert.ok(a.id < b.id && b.id < c.id);
        assert.deepEqual(
          (await store.listLicenses()).map((l) => l.id),
          [a.id, b.id, c.id],
        );
        assert.deepEqual(await store.listLicenses(), [a, b, c]);
      });

      it('lists nothing on an empty store', async () => {
        assert.deepEqual(await store.listLicenses(), []);
        assert.deepEqual(await store.listLicenses({ includeDeleted: true }), []);
      });

      it('getLicense answers undefined for ids it does not hold', async () => {
        const added = await store.addLicense(newLicense(), T0);
        for (const id of [added.id + 1, 0, -1, 1.5, 2 ** 53 - 1])
          assert.equal(await store.getLicense(id), undefined);
      });

      it('keeps timestamps to the millisecond', async () => {
        const added = await store.addLicense(newLicense(), new Date('2026-06-01T12:00:00.001Z'));
        assert.equal((await store.getLicense(added.id))?.updatedAt.toISOString(), '2026-06-01T12:00:00.001Z');
        const deleted = await store.deleteLicense(added.id, new Date('2026-07-04T01:02:03.999Z'));
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
        const added = await store.addLicense(license, T0);
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
        await store.addLicense(license, T0);
        await rejectsWithCode(store.addLicense(license, at(1)), 'LICENSE_ALREADY_EXISTS');
        // Another key carrying the same uuid is the same license.
        await rejectsWithCode(
          store.addLicense(newLicense({ uuid: license.claims.uuid, seats: 99 }), at(2)),
          'LICENSE_ALREADY_EXISTS',
        );
        assert.equal((await store.listLicenses({ includeDeleted: true })).length, 1);
      });

      it('a live license blocks a re-add even when it has hardDelete', async () => {
        const license = newLicense({ hardDelete: true });
        await store.addLicense(license, T0);
        await rejectsWithCode(store.addLicense(license, at(1)), 'LICENSE_ALREADY_EXISTS');
      });

      it('soft-deletes: the record stays, deleted, updatedAt the deletion time', async () => {
        const added = await store.addLicense(newLicense(), T0);
        const kept = await store.addLicense(newLicense(), T0);
        const when = at(DAY + 456);
        const deleted = await store.deleteLicense(added.id, when);
        assert.deepEqual(deleted, { ...added, deleted: true, updatedAt: when });
        assert.deepEqual(await store.getLicense(added.id), deleted);
        assert.deepEqual(await store.listLicenses(), [kept]);
        assert.deepEqual(await store.listLicenses({ includeDeleted: false }), [kept]);
        assert.deepEqual(await store.listLicenses({ includeDeleted: true }), [deleted, kept]);
      });

      it('refuses to delete an unknown or already deleted license', async () => {
        await rejectsWithCode(store.deleteLicense(1, T0), 'LICENSE_NOT_FOUND');
        const added = await store.addLicense(newLicense(), T0);
        await rejectsWithCode(store.deleteLicense(added.id + 1, T0), 'LICENSE_NOT_FOUND');
        await rejectsWithCode(store.deleteLicense(1.5, T0), 'LICENSE_NOT_FOUND');
        await store.deleteLicense(added.id, at(1));
        await rejectsWithCode(store.deleteLicense(added.id, at(2)), 'LICENSE_NOT_FOUND');
        assert.equal((await store.getLicense(added.id))?.updatedAt.toISOString(), at(1).toISOString());
      });

      it('adds a license again after a soft delete without hardDelete', async () => {
        const license = newLicense();
        const first = await store.addLicense(license, T0);
        const deleted = await store.deleteLicense(first.id, at(1));
        const again = await store.addLicense(license, at(2));
        assert.notEqual(again.id, first.id);
        assert.equal(again.deleted, false);
        assert.equal(again.updatedAt.toISOString(), at(2).toISOString());
        assert.deepEqual(await store.listLicenses(), [again]);
        assert.deepEqual(await store.listLicenses({ includeDeleted: true }), [deleted, again]);
        // Still one live license per uuid.
        await rejectsWithCode(store.addLicense(license, at(3)), 'LICENSE_ALREADY_EXISTS');
      });

      it('never adds a license again after it was deleted with hardDelete', async () => {
        const license = newLicense({ hardDelete: true });
        const first = await store.addLicense(license, T0);
        await store.deleteLicense(first.id, at(1));
        await rejectsWithCode(store.addLicense(license, at(2)), 'LICENSE_HARD_DELETED');
        // Not even with a new key for the same uuid that drops hardDelete.
        await rejectsWithCode(
          store.addLicense(newLicense({ uuid: license.claims.uuid, hardDelete: false }), at(3)),
          'LICENSE_HARD_DELETED',
        );
        assert.equal((await store.listLicenses({ includeDeleted: true })).length, 1);
      });

      it('marks the live licenses named in supersedes invalidated, in the same step', async () => {
        const old = await store.addLicense(newLicense(), at(0));
        const bystander = await store.addLicense(newLicense(), at(1));
        const gone = await store.addLicense(newLicense(), at(2));
        const goneDeleted = await store.deleteLicense(gone.id, at(3));
        const when = at(DAY);
        const successor = await store.addLicense(
          newLicense({ supersedes: [old.uuid, gone.uuid, `never-added-${randomUUID()}`] }),
          when,
        );
        assert.equal(successor.invalidated, false);
        assert.deepEqual(await store.getLicense(old.id), { ...old, invalidated: true, updatedAt: when });
        assert.deepEqual(await store.getLicense(bystander.id), bystander);
        // A deleted license is history: superseding leaves it as it was.
        assert.deepEqual(await store.getLicense(gone.id), goneDeleted);

        // An already invalidated license keeps the time it was invalidated.
        await store.addLicense(newLicense({ supersedes: [old.uuid] }), at(2 * DAY));
        assert.equal((await store.getLicense(old.id))?.updatedAt.toISOString(), when.toISOString());
      });

      it('an invalidated license still counts as live for its uuid', async () => {
        const license = newLicense();
        await store.addLicense(license, T0);
        await store.addLicense(newLicense({ supersedes: [license.claims.uuid] }), at(1));
        await rejectsWithCode(store.addLicense(license, at(2)), 'LICENSE_ALREADY_EXISTS');
      });

      it('a refused add changes nothing, supersedes included', async () => {
        const victim = await store.addLicense(newLicense(), T0);
        const existing = newLicense();
        await store.addLicense(existing, T0);
        const clash = newLicense({ uuid: existing.claims.uuid, supersedes: [victim.uuid] });
        await rejectsWithCode(store.addLicense(clash, at(1)), 'LICENSE_ALREADY_EXISTS');
        assert.deepEqual(await store.getLicense(victim.id), victim);
      });

      it('of 20 concurrent adds of one key exactly one succeeds', async () => {
        const stores = await processes(4);
        const license = newLicense();
        const results = await Promise.allSettled(
          Array.from({ length: 20 }, (_, i) => stores[i % stores.length]!.addLicense(license, at(i))),
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
          licenses.map((l, i) => stores[i % stores.length]!.addLicense(l, at(i))),
        );
        assert.equal(new Set(added.map((l) => l.id)).size, 12);
        assert.equal((await store.listLicenses()).length, 12);
      });

      it('re-adds racing a hard delete are all refused', async () => {
        const stores = await processes(4);
        const license = newLicense({ hardDelete: true });
        const added = await store.addLicense(license, T0);
        const results = await Promise.allSettled([
          ...Array.from({ length: 5 }, (_, i) => stores[i % stores.length]!.addLicense(license, at(1))),
          stores[1 % stores.length]!.deleteLicense(added.id, at(1)),
          ...Array.from({ length: 5 }, (_, i) => stores[(i + 2) % stores.length]!.addLicense(license, at(1))),
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
        await rejectsWithCode(store.addLicense(license, at(2)), 'LICENSE_HARD_DELETED');
      });

      it('re-adds racing a soft delete leave at most one live license', async () => {
        const stores = await processes(4);
        const license = newLicense();
        const added = await store.addLicense(license, T0);
        const results = await Promise.allSettled([
          ...Array.from({ length: 5 }, (_, i) => stores[i % stores.length]!.addLicense(license, at(1))),
          stores[1 % stores.length]!.deleteLicense(added.id, at(1)),
          ...Array.from({ length: 5 }, (_, i) => stores[(i + 2) % stores.length]!.addLicense(license, at(1))),
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
        const added = await store.addLicense(newLicense(), T0);
        const results = await Promise.allSettled(
          Array.from({ length: 10 }, (_, i) => stores[i % stores.length]!.deleteLicense(added.id, at(i + 1))),
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

    describe('users', () => {
      it('counts no active users on an empty store', async () => {
        assert.equal(await store.countActiveUsers(T0), 0);
        assert.equal(await store.countActiveUsers(new Date(0)), 0);
      });
    });

    describe('tokens', () => {
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
          Array.from({ length: 8 }, (_, i) =>
            stores[i % stores.length]!.setBootstrapToken('same-hash', at(i)),
          ),
        );
        assert.equal(new Set(tokens.map((t) => t.id)).size, 1);
        assert.equal((await store.findTokenByHash('same-hash'))?.id, tokens[0]?.id);
      });
    });

    describe('lifecycle', () => {
      it('ping answers', async () => {
        assert.equal(await store.ping(), undefined);
      });

      it('reports its kind', () => {
        assert.ok(store.kind === 'sqlite' || store.kind === 'postgres');
      });

      it('close can be called twice', async () => {
        await store.close();
        await store.close();
      });

      it(
        'opening an up-to-date database again migrates nothing and keeps the data',
        { skip: options.reopen ? false : 'this database cannot be opened twice' },
        async () => {
          const added = await store.addLicense(newLicense(), T0);
          await store.setBootstrapToken('hash-1', T0);
          const [, second] = await processes(2);
          assert.ok(second);
          assert.deepEqual(await second.listLicenses(), [added]);
          assert.equal((await second.findTokenByHash('hash-1'))?.bootstrap, true);
          const more = await second.addLicense(newLicense(), at(1));
          assert.deepEqual(await store.listLicenses(), [added, more]);
          const third = await options.reopen!(second);
          others.push(third);
          assert.equal((await third.listLicenses()).length, 2);
        },
      );
    });
  });
}
