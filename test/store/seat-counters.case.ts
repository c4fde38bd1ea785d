import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { activeSince, USER_TYPES, type UserType } from '../../src/domain/users.js';
import { isLicensorError } from '../../src/domain/errors.js';
import { verifyLicenseKey } from '../../src/keys/license-jws.js';
import type { Store } from '../../src/store/store.js';
import { createIssuer } from '../helpers/issuer.js';
import { CONTRACT_WINDOW_DAYS, fixed } from './store-contract.js';

/** Every store under test is opened with the contract's window. */
const WINDOW_DAYS = CONTRACT_WINDOW_DAYS;
const HOUR = 3_600_000;
/** Few seats, so short sequences reach the limit too. */
const SEATS = 6;
const SOFT_SEATS = 2;
/** LICENSOR_SEAT_COUNTER_RUNS sets the number of sequences for a longer search. */
const RUNS = process.env.LICENSOR_SEAT_COUNTER_RUNS;

/** What the commands know of the store: the users that exist, by id. */
interface Model {
  ids: number[];
}
interface Real {
  store: Store;
  now: Date;
  nextUser: number;
  /** Refusals seen (seat limit, disabled user): the runs must reach them, not only pass. */
  refusals: { count: number };
}
type Step = fc.AsyncCommand<Model, Real>;

/** Runs one store operation; the store's own refusals are outcomes, anything else fails. */
async function attempt(real: Real, operation: (ctx: ReturnType<typeof fixed>) => Promise<unknown>) {
  try {
    await operation(fixed(real.now));
  } catch (err) {
    if (!isLicensorError(err) || !['SEAT_LIMIT_REACHED', 'USER_DISABLED'].includes(err.code)) throw err;
    real.refusals.count++;
  }
}

/** After every step: the counters agree with a plain scan of the users table. */
async function assertCountersAgree({ store, now }: Real, step: string): Promise<void> {
  const since = activeSince(now, WINDOW_DAYS);
  const counted = (await store.readView(now)).activeUserCount;
  const scanned = await store.listUsers({ offset: 0, size: 1000, active: true, activeSince: since });
  assert.equal(counted, scanned.total, `${step}: counters ${counted}, scan ${scanned.total}`);
  const summary = await store.usageSummary(since);
  const byType = (type: string) => scanned.users.filter((u) => u.userType === type).length;
  assert.equal(summary.dataConsumers.activeCount, byType('dataConsumer'), `${step}: dataConsumers`);
  assert.equal(summary.policyOwners.activeCount, byType('policyOwner'), `${step}: policyOwners`);
  assert.ok(
    counted <= SEATS + SOFT_SEATS,
    `${step}: ${counted} active users with ${SEATS + SOFT_SEATS} seats`,
  );
}

/** A command on an existing user, chosen by `index` among those the model knows. */
abstract class OnUser implements Step {
  constructor(readonly index: number) {}
  check(model: Readonly<Model>): boolean {
    return model.ids.length > 0;
  }
  protected id(model: Model): number {
    return model.ids[this.index % model.ids.length]!;
  }
  abstract run(model: Model, real: Real): Promise<void>;
}

class CreateUser implements Step {
  constructor(readonly userType: UserType) {}
  check = () => true;
  async run(model: Model, real: Real) {
    const userid = `u${real.nextUser++}`;
    await attempt(real, async (ctx) => {
      const user = await real.store.createUser(
        { userid, iamid: 'idp', name: null, email: null, userType: this.userType },
        ctx,
      );
      model.ids.push(user.id);
    });
    await assertCountersAgree(real, this.toString());
  }
  toString = () => `createUser(${this.userType})`;
}

class RecordActivity extends OnUser {
  async run(model: Model, real: Real) {
    await attempt(real, (ctx) => real.store.recordActivity(this.id(model), ctx));
    await assertCountersAgree(real, this.toString());
  }
  override toString = () => `recordActivity(#${this.index})`;
}

class SetDisabled extends OnUser {
  constructor(
    index: number,
    readonly disabled: boolean,
  ) {
    super(index);
  }
  async run(model: Model, real: Real) {
    await attempt(real, (ctx) => real.store.updateUser(this.id(model), { disabled: this.disabled }, ctx));
    await assertCountersAgree(real, this.toString());
  }
  override toString = () => `updateUser(#${this.index}, disabled ${this.disabled})`;
}

class SetType extends OnUser {
  constructor(
    index: number,
    readonly userType: UserType,
  ) {
    super(index);
  }
  async run(model: Model, real: Real) {
    await attempt(real, (ctx) => real.store.updateUser(this.id(model), { userType: this.userType }, ctx));
    await assertCountersAgree(real, this.toString());
  }
  override toString = () => `updateUser(#${this.index}, ${this.userType})`;
}

class DeleteUser extends OnUser {
  async run(model: Model, real: Real) {
    const id = this.id(model);
    await attempt(real, async (ctx) => {
      await real.store.deleteUser(id, ctx);
      model.ids.splice(model.ids.indexOf(id), 1);
    });
    await assertCountersAgree(real, this.toString());
  }
  override toString = () => `deleteUser(#${this.index})`;
}

class AdvanceClock implements Step {
  constructor(readonly ms: number) {}
  check = () => true;
  async run(_model: Model, real: Real) {
    real.now = new Date(real.now.getTime() + this.ms);
    await assertCountersAgree(real, this.toString());
  }
  toString = () => `advance(${this.ms / HOUR} h)`;
}

const userType = fc.constantFrom(...USER_TYPES);
const index = fc.nat({ max: 1000 });
/** Weighted as the old hand-rolled sequence was: creates and activity most often. */
const STEPS = fc.commands(
  [
    ...Array<fc.Arbitrary<Step>>(3).fill(userType.map((t) => new CreateUser(t))),
    ...Array<fc.Arbitrary<Step>>(3).fill(index.map((i) => new RecordActivity(i))),
    fc.tuple(index, fc.boolean()).map(([i, disabled]) => new SetDisabled(i, disabled)),
    fc.tuple(index, userType).map(([i, t]) => new SetType(i, t)),
    index.map((i) => new DeleteUser(i)),
    // Hours (crossing midnights) or whole days (crossing the window's edge).
    fc
      .oneof(
        { weight: 7, arbitrary: fc.integer({ min: 1, max: 30 }).map((h) => h * HOUR) },
        { weight: 3, arbitrary: fc.integer({ min: 1, max: 20 }).map((d) => d * 24 * HOUR) },
      )
      .map((ms) => new AdvanceClock(ms)),
  ],
  { maxCommands: 80, size: 'max' },
);

/**
 * The per-day activity counters must always agree with a plain scan of the users table. fast-check
 * generates sequences of creates, activity, disables, enables, type changes and deletes, with the
 * clock moving by hours and days across window and midnight boundaries, and compares both counts
 * after every step. A failure is shrunk to a shortest sequence, printed with the seed and path that
 * replay it. `open` gives a new, empty store on each call; `runs` is how many sequences a test
 * run tries (each up to 80 steps).
 */
export function seatCounterCase(name: string, open: () => Promise<Store>, runs: number): void {
  test(`${name}: active-user counters agree with a scan after random operations`, async () => {
    const refusals = { count: 0 };
    await fc.assert(
      fc.asyncProperty(STEPS, async (steps) => {
        const store = await open();
        try {
          const now = new Date('2026-03-01T10:00:00.000Z');
          const issuer = createIssuer(() => now);
          const key = issuer.issue({ seats: SEATS, softSeats: SOFT_SEATS });
          const { payload, claims } = verifyLicenseKey(key, issuer.ring);
          await store.addLicense({ licenseKey: key, payload, claims }, fixed(now));
          await fc.asyncModelRun(
            () => ({ model: { ids: [] }, real: { store, now, nextUser: 0, refusals } }),
            steps,
          );
        } finally {
          await store.close();
        }
      }),
      { numRuns: RUNS === undefined ? runs : Number(RUNS) },
    );
    assert.ok(refusals.count > 0, 'the sequences reached the seat limit at least once');
  });
}
