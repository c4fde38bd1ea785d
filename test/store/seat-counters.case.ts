import assert from 'node:assert/strict';
import { test } from 'node:test';
import { activeSince, USER_TYPES } from '../../src/domain/users.js';
import { isLicensorError } from '../../src/domain/errors.js';
import { verifyLicenseKey } from '../../src/keys/license-jws.js';
import type { Store } from '../../src/store/store.js';
import { createIssuer } from '../helpers/issuer.js';
import { CONTRACT_WINDOW_DAYS, fixed } from './store-contract.js';

/** A small deterministic PRNG, so a failing sequence can be replayed from its seed. */
function prng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Every store under test is opened with the contract's window. */
const WINDOW_DAYS = CONTRACT_WINDOW_DAYS;
const HOUR = 3_600_000;

/**
 * The per-day activity counters must always agree with a plain scan of the users table. Random
 * creates, activity, disables, enables, type changes and deletes, with the clock moving by hours
 * and days across window and midnight boundaries; after every step both counts are compared.
 */
export function seatCounterCase(name: string, open: () => Promise<Store>): void {
  test(`${name}: active-user counters agree with a scan after random operations`, async () => {
    const store = await open();
    try {
      const seed = 20261127;
      const random = prng(seed);
      let now = new Date('2026-03-01T10:00:00.000Z');
      const issuer = createIssuer(() => now);
      const key = issuer.issue({ seats: 40, softSeats: 5 });
      const { payload, claims } = verifyLicenseKey(key, issuer.ring);
      await store.addLicense({ licenseKey: key, payload, claims }, fixed(now));
      const ids: number[] = [];
      let refusals = 0;
      for (let step = 0; step < 400; step++) {
        const ctx = fixed(now);
        const pick = (): number => ids[Math.floor(random() * ids.length)]!;
        const roll = random();
        try {
          if (roll < 0.3 || ids.length === 0) {
            const user = await store.createUser(
              { userid: `u${step}`, iamid: 'idp', name: null, email: null, userType: USER_TYPES[step % 2]! },
              ctx,
            );
            ids.push(user.id);
          } else if (roll < 0.6) {
            await store.recordActivity(pick(), ctx);
          } else if (roll < 0.7) {
            await store.updateUser(pick(), { disabled: random() < 0.5 }, ctx);
          } else if (roll < 0.8) {
            await store.updateUser(pick(), { userType: USER_TYPES[Math.floor(random() * 2)]! }, ctx);
          } else if (roll < 0.85) {
            const id = pick();
            await store.deleteUser(id, ctx);
            ids.splice(ids.indexOf(id), 1);
          } else {
            // Hours (crossing midnights) or whole days (crossing the window's edge).
            now = new Date(
              now.getTime() +
                (random() < 0.7 ? Math.ceil(random() * 30) * HOUR : Math.ceil(random() * 20) * 24 * HOUR),
            );
          }
        } catch (err) {
          if (!isLicensorError(err) || !['SEAT_LIMIT_REACHED', 'USER_DISABLED'].includes(err.code)) throw err;
          refusals++;
        }
        const since = activeSince(now, WINDOW_DAYS);
        const counted = (await store.readView(now)).activeUserCount;
        const scanned = await store.listUsers({ offset: 0, size: 1000, active: true, activeSince: since });
        assert.equal(
          counted,
          scanned.total,
          `step ${step} (seed ${seed}): counters ${counted}, scan ${scanned.total}`,
        );
        const summary = await store.usageSummary(since);
        const byType = (type: string) => scanned.users.filter((u) => u.userType === type).length;
        assert.equal(
          summary.dataConsumers.activeCount,
          byType('dataConsumer'),
          `step ${step}: dataConsumers`,
        );
        assert.equal(summary.policyOwners.activeCount, byType('policyOwner'), `step ${step}: policyOwners`);
        assert.ok(counted <= 45, `step ${step}: ${counted} active users with 45 license seats`);
      }
      assert.ok(refusals > 0, 'the sequence reached the seat limit at least once');
    } finally {
      await store.close();
    }
  });
}
