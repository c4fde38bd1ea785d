import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { cleanup, runCleanups } from './cleanup.js';

// The tests' own cleanup helper: a schema must be dropped only after the servers using it are
// killed, and a failing drop must not leave them running (the test file would never exit).
describe('test cleanup (test/helpers/cleanup.ts)', () => {
  test('runs the last registered first, runs every one when one fails, and reports the first failure', async () => {
    const ran: string[] = [];
    const fns = [
      () => ran.push('drop schema'),
      async () => {
        ran.push('kill server');
        await Promise.resolve();
        throw new Error('kill failed');
      },
      () => {
        ran.push('close store');
        throw new Error('close failed');
      },
      () => ran.push('stop receiver'),
    ];
    await assert.rejects(runCleanups(fns), /close failed/);
    assert.deepEqual(ran, ['stop receiver', 'close store', 'kill server', 'drop schema']);
    assert.equal(fns.length, 0);
  });

  test('cleanups registered on a test run when it ends, last in, first out', async (t) => {
    const ran: string[] = [];
    await t.test('inner', (inner) => {
      cleanup(inner, () => ran.push('first registered'));
      cleanup(inner, () => ran.push('second registered'));
    });
    assert.deepEqual(ran, ['second registered', 'first registered']);
  });
});
