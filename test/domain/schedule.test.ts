import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { dueMilestones, milestoneEvent, nextMilestoneAt } from '../../src/domain/schedule.js';
import { licenseRecord } from '../helpers/records.js';

const DAY = 24 * 60 * 60 * 1000;
// licenseRecord's licenses were added at this instant.
const ADDED = new Date('2026-01-01T00:00:00.000Z');
const SINCE = new Date('2025-12-01T00:00:00.000Z');
const at = (ms: number) => new Date(ADDED.getTime() + ms);

function license(id: number, claims: Record<string, unknown>, state = {}) {
  return licenseRecord(
    id,
    {
      uuid: `00000000-0000-4000-8000-00000000000${id}`,
      createdAt: '2025-12-01T00:00:00.000Z',
      seats: 5,
      ...claims,
    },
    state,
  );
}

const keys = (due: ReturnType<typeof dueMilestones>) => due.map((m) => `${m.licenseId}:${m.key}`);

test('license.expiring: only the latest milestone reached, however late the scheduler looks', () => {
  const l = license(1, { expires: at(40 * DAY).toISOString() });
  assert.deepEqual(keys(dueMilestones([l], SINCE, at(9 * DAY))), [], '31 days left: nothing yet');
  assert.deepEqual(keys(dueMilestones([l], SINCE, at(10 * DAY))), ['1:expiring:30']);
  const twenty = dueMilestones([l], SINCE, at(20 * DAY));
  assert.deepEqual(keys(twenty), ['1:expiring:30'], '20 days before: 30, the window it is in');
  assert.equal(twenty[0]?.daysLeft, 30);
  assert.deepEqual(
    keys(dueMilestones([l], SINCE, at(35 * DAY))),
    ['1:expiring:7'],
    '5 days before: 7, not 30 too',
  );
  assert.deepEqual(keys(dueMilestones([l], SINCE, at(39.5 * DAY))), ['1:expiring:1']);
  assert.deepEqual(
    keys(dueMilestones([l], SINCE, at(41 * DAY))),
    ['1:expired'],
    'after expiry: expired only',
  );
});

test('license.started and .expired: when the instant passed after the license was added and after since', () => {
  const later = license(1, { startsAt: at(2 * DAY).toISOString(), expires: at(100 * DAY).toISOString() });
  assert.deepEqual(keys(dueMilestones([later], SINCE, at(DAY))), []);
  assert.deepEqual(keys(dueMilestones([later], SINCE, at(2 * DAY))), ['1:started']);
  const already = license(2, { startsAt: at(-DAY).toISOString(), expires: at(100 * DAY).toISOString() });
  assert.deepEqual(keys(dueMilestones([already], SINCE, at(DAY))), [], 'started before it was added');
  const expired = license(3, { expires: at(DAY).toISOString() });
  assert.deepEqual(
    keys(dueMilestones([expired], SINCE, at(400 * DAY))),
    ['3:expired'],
    'caught up after downtime',
  );
  assert.deepEqual(
    keys(dueMilestones([expired], at(2 * DAY), at(400 * DAY))),
    [],
    'fell due before the scheduler first ran on this database',
  );
  assert.deepEqual(
    keys(
      dueMilestones([license(4, { expires: at(DAY).toISOString() }, { deleted: true })], SINCE, at(2 * DAY)),
    ),
    [],
  );
  assert.deepEqual(
    keys(
      dueMilestones(
        [license(5, { expires: at(DAY).toISOString() }, { invalidated: true })],
        SINCE,
        at(2 * DAY),
      ),
    ),
    [],
  );
});

test('data_access.blocked when a hardExpiration license ends alone, restored when a later one starts', () => {
  const hard = license(1, { expires: at(10 * DAY).toISOString(), hardExpiration: true });
  const next = license(2, { startsAt: at(12 * DAY).toISOString(), expires: at(100 * DAY).toISOString() });
  const due = dueMilestones([hard, next], SINCE, at(13 * DAY));
  assert.deepEqual(
    due.map((m) => [m.licenseId, m.key, m.type]),
    [
      [1, 'expired', 'license.expired'],
      [1, 'access:end', 'data_access.blocked'],
      [2, 'started', 'license.started'],
      [2, 'access:start', 'data_access.restored'],
    ],
  );
  const soft = license(3, { expires: at(10 * DAY).toISOString() });
  assert.deepEqual(
    dueMilestones([soft], SINCE, at(11 * DAY)).map((m) => m.type),
    ['license.expired'],
    'no hardExpiration: no block',
  );
  // Two hard licenses ending at one instant: one turn of data access.
  const twin = license(4, { expires: at(10 * DAY).toISOString(), hardExpiration: true });
  assert.equal(
    dueMilestones([hard, twin], SINCE, at(11 * DAY)).filter((m) => m.type === 'data_access.blocked').length,
    1,
  );
});

test('milestoneEvent: the license as the API shows it with daysLeft, or the seat figures', () => {
  const l = license(1, { expires: at(20 * DAY).toISOString() });
  const [m] = dueMilestones([l], SINCE, at(DAY));
  assert.ok(m);
  const figures = { activeUserCount: 3, licenseSeats: 5, hardSeats: 5 };
  const event = milestoneEvent(m, l, figures, at(DAY));
  assert.equal(event.type, 'license.expiring');
  assert.equal(event.data.daysLeft, 30);
  assert.equal(event.data.id, 1);
  assert.equal(event.data.uuid, l.uuid);
  const block = milestoneEvent({ ...m, type: 'data_access.blocked' }, l, figures, at(DAY));
  assert.deepEqual(block.data, figures);
});

test('grace: started at expires, ended at its end, and a hardExpiration block waits for that end', () => {
  const l = license(1, { expires: at(10 * DAY).toISOString(), graceDays: 7, hardExpiration: true });
  assert.deepEqual(keys(dueMilestones([l], SINCE, at(10 * DAY - 1))), ['1:expiring:1']);
  const atExpiry = keys(dueMilestones([l], SINCE, at(10 * DAY)));
  assert.deepEqual(atExpiry.sort(), ['1:expired', '1:grace:start'], 'in grace: data access still open');
  const after = dueMilestones([l], SINCE, at(17 * DAY));
  assert.deepEqual(keys(after).sort(), ['1:access:grace-end', '1:expired', '1:grace:end', '1:grace:start']);
  const block = after.find((m) => m.key === 'access:grace-end');
  assert.equal(block?.type, 'data_access.blocked');
  assert.equal(block?.dueAt.toISOString(), at(17 * DAY).toISOString());
  assert.equal(after.find((m) => m.key === 'grace:end')?.type, 'license.grace_ended');
});

test('nextMilestoneAt: the earliest startsAt, expiring milestone, expires or end of grace still ahead', () => {
  const l = license(1, {
    startsAt: at(2 * DAY).toISOString(),
    expires: at(50 * DAY).toISOString(),
    graceDays: 5,
  });
  const next = (now: Date) => nextMilestoneAt([l], now)?.toISOString() ?? null;
  assert.equal(next(at(DAY)), at(2 * DAY).toISOString(), 'startsAt');
  assert.equal(next(at(2 * DAY)), at(20 * DAY).toISOString(), 'after it (not at it): 30 days before expiry');
  assert.equal(next(at(25 * DAY)), at(43 * DAY).toISOString(), '7 days before');
  assert.equal(next(at(49.5 * DAY)), at(50 * DAY).toISOString(), 'expires');
  assert.equal(next(at(51 * DAY)), at(55 * DAY).toISOString(), 'the end of grace');
  assert.equal(next(at(56 * DAY)), null, 'nothing ahead');
  assert.equal(
    nextMilestoneAt([license(2, { expires: at(50 * DAY).toISOString() }, { deleted: true })], at(0)),
    null,
  );
  assert.equal(nextMilestoneAt([license(3, {})], at(0)), null, 'no startsAt, never expires');
});

test('nextMilestoneAt: before it, dueMilestones answers as it does now (random licenses and instants)', () => {
  // From 30 days before the licenses were added: their createdAt is 31 days before.
  const instant = fc.integer({ min: -30, max: 80 }).map((d) => d * DAY + (d % 3) * 3_600_000);
  const claims = fc.record({
    startsAt: fc.option(instant, { nil: undefined }),
    expires: fc.option(instant, { nil: undefined }),
    graceDays: fc.constantFrom(0, 0, 3, 10),
    hardExpiration: fc.boolean(),
  });
  fc.assert(
    fc.property(
      fc.array(fc.tuple(claims, fc.constantFrom('live', 'deleted', 'invalidated')), {
        minLength: 1,
        maxLength: 5,
      }),
      instant,
      fc.array(fc.double({ min: 0, max: 1, noNaN: true, maxExcluded: true }), { minLength: 1, maxLength: 6 }),
      // The scheduler's first run on the database: before the licenses were added, or after.
      fc.constantFrom(SINCE.getTime() - ADDED.getTime(), -DAY, 0, DAY, 20 * DAY, 45 * DAY),
      (specs, nowMs, fractions, sinceMs) => {
        const since = at(sinceMs);
        const licenses = specs.map(([c, state], i) => {
          const startsAt = c.startsAt;
          // A license never starts after it expires (refused when added).
          const expires =
            c.expires === undefined ? undefined : Math.max(c.expires, (startsAt ?? -Infinity) + DAY);
          return license(
            i + 1,
            {
              ...(startsAt !== undefined && { startsAt: at(startsAt).toISOString() }),
              ...(expires !== undefined && { expires: at(expires).toISOString() }),
              graceDays: c.graceDays,
              hardExpiration: c.hardExpiration,
            },
            { deleted: state === 'deleted', invalidated: state === 'invalidated' },
          );
        });
        const now = at(nowMs);
        const next = nextMilestoneAt(licenses, now);
        const until = next?.getTime() ?? now.getTime() + 200 * DAY;
        assert.ok(until > now.getTime());
        const expected = keys(dueMilestones(licenses, since, now));
        for (const f of fractions) {
          const t = new Date(now.getTime() + Math.floor(f * (until - now.getTime())));
          assert.deepEqual(keys(dueMilestones(licenses, since, t)), expected, `at ${t.toISOString()}`);
        }
        // Just before the next instant too.
        const last = new Date(until - 1);
        assert.deepEqual(keys(dueMilestones(licenses, since, last)), expected, `at ${last.toISOString()}`);
      },
    ),
    { numRuns: 500 },
  );
});
