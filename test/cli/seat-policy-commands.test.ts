import assert from 'node:assert/strict';
import { test } from 'node:test';
import { addKeyDirect, assertOk, assertRefused, assertUsage, okJson, startLicensor } from './cli-helpers.js';

test('settings seats and users pending/approve/reject against a real server', async (t) => {
  const l = await startLicensor(t);
  await addKeyDirect(l, { seats: 10, softSeats: 0 });

  await t.test('settings seats: shows, then changes only what is given', async () => {
    assert.deepEqual(okJson(await l.run(['settings', 'seats', '--json'])), {
      userCap: null,
      whenFull: 'refuse',
    });
    assert.deepEqual(okJson(await l.run(['settings', 'seats', '--cap', '1', '--json'])), {
      userCap: 1,
      whenFull: 'refuse',
    });
    const out = assertOk(await l.run(['settings', 'seats', '--when-full', 'queue']));
    assert.match(out, /^User cap: +1$/m);
    assert.match(out, /^When full: +queue/m);
    assertUsage(await l.run(['settings', 'seats', '--cap', 'many']), /--cap/);
    assertUsage(await l.run(['settings', 'seats', '--when-full', 'later']), /--when-full/);
    // Both at once is refused, whichever comes last, and changes nothing (the cap stays 1).
    for (const args of [
      ['--cap', '5', '--no-cap'],
      ['--no-cap', '--cap', '5'],
    ])
      assertUsage(await l.run(['settings', 'seats', ...args]), /give --cap or --no-cap, not both/);
    assert.equal(okJson(await l.run(['settings', 'seats', '--json'])).userCap, 1);
  });

  await t.test(
    'users add over the cap queues; pending lists it; approve waits for a seat; reject removes',
    async () => {
      assert.match(assertOk(await l.run(['users', 'add', 'ada', '--iamid', 'okta'])), /takes a seat/);
      const queued = okJson(await l.run(['users', 'add', 'bob', '--iamid', 'okta', '--json']));
      assert.equal(queued.state, 'pending');
      assert.match(assertOk(await l.run(['users', 'add', 'cyd', '--iamid', 'okta'])), /^Queued user 3/);
      const pending = assertOk(await l.run(['users', 'pending']));
      assert.match(pending, /bob/);
      assert.match(pending, /cyd/);
      assertRefused(await l.run(['users', 'approve', String(queued.id)]), 'SEAT_LIMIT_REACHED');
      assertOk(await l.run(['settings', 'seats', '--no-cap']));
      assert.match(assertOk(await l.run(['users', 'approve', String(queued.id)])), /^Approved user 2/);
      assertRefused(await l.run(['users', 'approve', String(queued.id)]), 'USER_NOT_PENDING');
      assert.match(assertOk(await l.run(['users', 'reject', '3'])), /^Rejected user 3/);
      assert.equal(assertOk(await l.run(['users', 'pending'])), 'No user is waiting for approval.\n');
      assert.deepEqual(okJson(await l.run(['settings', 'seats', '--json'])), {
        userCap: null,
        whenFull: 'queue',
      });
    },
  );
});
