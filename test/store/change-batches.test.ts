import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, it } from 'node:test';
import { ManualClock } from '../../src/domain/clock.js';
import { LicensorError } from '../../src/domain/errors.js';
import { ChangeBatches, type Queued } from '../../src/store/postgres/postgres-batches.js';
import { TEST_ACTOR } from './store-contract.js';

const ctx = { clock: new ManualClock(new Date('2026-06-01T12:00:00.000Z')), actor: TEST_ACTOR };

/** The order in which batches start and changes are answered (docs/performance.md#group-commit). */
describe('ChangeBatches (without a database)', () => {
  it('sends the next batch before it tells the changes of the last one how they went', async () => {
    const log: string[] = [];
    // The first batch commits until the test has asked for the next changes: no timing involved.
    let firstStarted = (): void => undefined;
    const started = new Promise<void>((resolve) => (firstStarted = resolve));
    let commitFirst = (): void => undefined;
    const committed = new Promise<void>((resolve) => (commitFirst = resolve));
    const batches = new ChangeBatches<number, number>(async (changes: Queued<number, number>[]) => {
      log.push(`start ${changes.map((c) => c.input).join(',')}`);
      if (changes[0]?.input === 1) {
        firstStarted();
        await committed;
      }
      // pg's pool hands an idle connection over on process.nextTick: the batch's first round trip
      // is sent only after that, and must still go out before the last batch's replies.
      await new Promise<void>((resolve) => process.nextTick(resolve));
      log.push(`sent ${changes.map((c) => c.input).join(',')}`);
      return changes.map((change) =>
        change.input === 2
          ? { change, refusal: new LicensorError('USER_ALREADY_EXISTS', 'two') }
          : {
              change,
              // Called as the change is told (synchronously), where `answered` below comes a
              // microtask later: the order of `told` and `start` is the rule under test.
              result: () => {
                log.push(`told ${change.input}`);
                return change.input * 10;
              },
            },
      );
    });
    const ask = (n: number) =>
      batches.submit(n, ctx).then(
        (r) => log.push(`answered ${n}: ${r}`),
        (err: LicensorError) => log.push(`answered ${n}: ${err.code}`),
      );
    const first = [ask(1), ask(2)];
    await started;
    // Asked for while the first batch commits: they gather for the next one.
    const second = [ask(3), ask(4)];
    await new Promise((resolve) => setImmediate(resolve));
    commitFirst();
    await Promise.all([...first, ...second]);
    assert.deepEqual(log, [
      'start 1,2',
      'sent 1,2',
      'start 3,4',
      'sent 3,4',
      'told 1',
      'answered 1: 10',
      'answered 2: USER_ALREADY_EXISTS',
      'told 3',
      'told 4',
      'answered 3: 30',
      'answered 4: 40',
    ]);
    await batches.drain();
  });

  it('drains only once the changes of the last batch are told', async () => {
    const told: number[] = [];
    let drained: Promise<number[]> | undefined;
    const batches = new ChangeBatches<number, number>(async (changes) => {
      // Asked for from a tick queued while the microtasks run: it runs once the batch has ended
      // and before its changes are told (in the next turn), the moment drain() must still wait.
      await Promise.resolve();
      process.nextTick(() => {
        drained = batches.drain().then(() => [...told]);
      });
      return changes.map((change) => ({
        change,
        result: () => {
          told.push(change.input);
          return change.input;
        },
      }));
    });
    await Promise.all([batches.submit(1, ctx), batches.submit(2, ctx)]);
    assert.deepEqual(await drained, [1, 2]);
  });

  it('fails the changes of a batch that fails unforeseen, and goes on with the next', async () => {
    let calls = 0;
    const batches = new ChangeBatches<number, number>(
      (changes) => Promise.resolve(changes.map((change) => ({ change, result: () => change.input }))),
      // Not async: it throws before any promise exists.
      (n) => {
        calls++;
        if (calls === 1) throw new Error(`boom ${n}`);
        return Promise.resolve(n * 100);
      },
    );
    const within = <T>(p: Promise<T>) =>
      Promise.race([p.then(String, (err: Error) => err.message), sleep(2000).then(() => 'no answer')]);
    assert.equal(await within(batches.submit(1, ctx)), 'boom 1');
    assert.equal(await within(batches.submit(2, ctx)), '200');
    await batches.drain();
  });
});
