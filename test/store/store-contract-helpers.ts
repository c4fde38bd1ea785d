import assert from 'node:assert/strict';
import { LicensorError, type ErrorCode } from '../../src/domain/errors.js';
import type { LicenseRecord } from '../../src/domain/license.js';
import type { ChangeContext, NewLicense, NewUser, Store } from '../../src/store/store.js';
import { DAY } from '../helpers/issuer.js';

/**
 * What the topic files of the Store contract (license-contract.ts, user-contract.ts, ...) share:
 * the fixed instants, the change contexts and the assertions. storeContract (store-contract.ts) is
 * the one entry that runs them all.
 */

export interface StoreContractOptions {
  /**
   * Opens another store on the same database as `store`, as a second process would. Enables the
   * migration-idempotence test and spreads the concurrency tests over several stores.
   */
  reopen?: (store: Store) => Promise<Store>;
}

/** A fixed instant with milliseconds, so a lost millisecond shows. */
export const T0 = new Date('2026-06-01T12:00:00.123Z');
export const at = (ms: number): Date => new Date(T0.getTime() + ms);
export const HOUR = 60 * 60 * 1000;

/** The activity window the user tests judge seats by: every store under test is opened with it. */
export const CONTRACT_WINDOW_DAYS = 30;
export const WINDOW_DAYS = CONTRACT_WINDOW_DAYS;

export const TEST_ACTOR = { tokenId: 1, tokenName: 'contract test', clientAddress: '127.0.0.1' } as const;

/** A change at `now`: the clock a store reads under its locks stands still there. */
export const fixed = (now: Date): ChangeContext => ({ clock: { now: () => now }, actor: TEST_ACTOR });

/** A change at `now`, with the window start the user tests judge by. */
export const seatContext = (now: Date): ChangeContext & { now: Date; activeSince: Date } => ({
  ...fixed(now),
  now,
  activeSince: new Date(now.getTime() - WINDOW_DAYS * DAY),
});

/** Active users at the window start `since`, as the snapshot reads them. */
export async function activeCount(store: Store, since: Date): Promise<number> {
  return (await store.readView(new Date(since.getTime() + WINDOW_DAYS * DAY))).activeUserCount;
}

export async function rejectsWithCode(promise: Promise<unknown>, code: ErrorCode): Promise<void> {
  await assert.rejects(promise, (err: unknown) => {
    assert.ok(err instanceof LicensorError, `expected a LicensorError ${code}, got ${String(err)}`);
    assert.equal(err.code, code);
    return true;
  });
}

export function codeOf(result: PromiseSettledResult<unknown>): string {
  if (result.status === 'fulfilled') return 'fulfilled';
  return result.reason instanceof LicensorError
    ? result.reason.code
    : `not a LicensorError: ${String(result.reason)}`;
}

/** A new user with a unique userid; `overrides` on top. */
let userSequence = 0;
export function newUser(overrides: Partial<NewUser> = {}): NewUser {
  userSequence++;
  return {
    userid: `user-${userSequence}`,
    iamid: 'idp',
    name: null,
    email: null,
    userType: 'dataConsumer',
    ...overrides,
  };
}

/** What storeContract hands each topic: the store under test and the means to make more. */
export interface ContractContext {
  /** The store the current test opened (a fresh, empty one for each test). */
  store: () => Store;
  /** The store under test and, when the database allows it, more stores on the same database. */
  processes: (count: number) => Promise<Store[]>;
  /** A verified key with the test issuer's defaults and `claims` on top, as the routes build one. */
  newLicense: (claims?: Record<string, unknown>) => NewLicense;
  /** Adds a license of `seats` hard seats and `softSeats` more: licenseSeats is their sum. */
  grantSeats: (seats: number, softSeats?: number) => Promise<LicenseRecord>;
  /** Opens a fresh database of its own, for a test that needs several (cleanup after closing it). */
  open: () => Promise<Store>;
  cleanup: ((store: Store) => Promise<void>) | undefined;
  options: StoreContractOptions;
}
