import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import type { LicenseRecord } from '../../src/domain/license.js';
import {
  dueMilestones,
  lookForMilestones,
  milestoneEvent,
  nextMilestoneAt,
  type MilestoneLook,
} from '../../src/domain/schedule.js';
import { countingClaimReads, licenseRecord } from '../helpers/records.js';

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

/** Random time claims, each instant from `instant` (milliseconds from some origin). */
function timeClaims(instant: fc.Arbitrary<number>) {
  return fc.record({
    startsAt: fc.option(instant, { nil: undefined }),
    expires: fc.option(instant, { nil: undefined }),
    graceDays: fc.constantFrom(0, 0, 3, 10),
    hardExpiration: fc.boolean(),
  });
}

test('nextMilestoneAt: before it, dueMilestones answers as it does now (random licenses and instants)', () => {
  // From 30 days before the licenses were added: their createdAt is 31 days before.
  const instant = fc.integer({ min: -30, max: 80 }).map((d) => d * DAY + (d % 3) * 3_600_000);
  const claims = timeClaims(instant);
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

/** `license` as added at `addedMs` (its `updatedAt`), counting how often a look reads its claims. */
function addedAt(id: number, addedMs: number, claims: Record<string, unknown>) {
  return countingClaimReads({ ...license(id, claims), updatedAt: at(addedMs) });
}

test('lookForMilestones: licenses only added since the last look, and only those are looked at', () => {
  const old = [1, 2, 3].map((id) =>
    addedAt(id, 0, { startsAt: at(-DAY).toISOString(), expires: at(100 * DAY).toISOString() }),
  );
  const first = lookForMilestones(
    undefined,
    old.map((o) => o.license),
    SINCE,
    at(DAY),
  );
  assert.ok(first);
  assert.deepEqual(first.due, []);
  assert.equal(first.look.until?.getTime(), at(70 * DAY).getTime(), '30 days before expiry');
  const readsBefore = old.map((o) => o.reads());
  assert.equal(lookForMilestones(first.look, first.look.licenses, SINCE, at(2 * DAY)), undefined, 'quiet');
  // Added after the last look, 22 days before it expires at the next one.
  const added = addedAt(4, 2 * DAY, { expires: at(25 * DAY).toISOString() });
  const second = lookForMilestones(first.look, [...first.look.licenses, added.license], SINCE, at(3 * DAY));
  assert.ok(second);
  assert.deepEqual(keys(second.due), ['4:expiring:30']);
  assert.deepEqual(
    old.map((o) => o.reads()),
    readsBefore,
    'the licenses of the last look are not looked at again',
  );
  assert.equal(second.look.until?.getTime(), at(18 * DAY).getTime(), "the new license's 7 days");
  // A perpetual license added: the next instant is still the other license's 7 days.
  const perpetual = addedAt(5, 3 * DAY + 1000, {});
  const third = lookForMilestones(
    second.look,
    [...second.look.licenses, perpetual.license],
    SINCE,
    at(4 * DAY),
  );
  assert.ok(third);
  assert.deepEqual(third.due, []);
  assert.equal(third.look.until?.getTime(), at(18 * DAY).getTime(), 'kept from the last look');
  // A list read afresh (another record of license 2): every license is looked at.
  const fresh = [old[0]!.license, { ...old[1]!.license }, old[2]!.license, added.license, perpetual.license];
  assert.ok(lookForMilestones(third.look, fresh, SINCE, at(4 * DAY)));
  assert.ok(old[0]!.reads() > readsBefore[0]!, 'looked at all of them');
});

test('lookForMilestones: a license added before the last look (another clock) is judged with all of them', () => {
  // A hardExpiration license that ended before the second license started: data access was
  // blocked from day 10 to day 20 for whoever knew of it. The scheduler learns of it late.
  const starts = addedAt(1, 0, {
    startsAt: at(20 * DAY).toISOString(),
    expires: at(400 * DAY).toISOString(),
  });
  const first = lookForMilestones(undefined, [starts.license], SINCE, at(21 * DAY));
  assert.ok(first);
  assert.deepEqual(keys(first.due), ['1:started'], 'nothing blocked, nothing restored');
  const hard = addedAt(2, 5 * DAY, { expires: at(10 * DAY).toISOString(), hardExpiration: true });
  const licenses = [starts.license, hard.license];
  const second = lookForMilestones(first.look, licenses, SINCE, at(22 * DAY));
  assert.ok(second);
  // The full answer less what the first look produced: the scheduler drops keys it has produced.
  const expected = keys(dueMilestones(licenses, SINCE, at(22 * DAY))).filter(
    (k) => !keys(first.due).includes(k),
  );
  assert.deepEqual(
    keys(second.due).filter((k) => !keys(first.due).includes(k)),
    expected,
  );
  assert.ok(keys(second.due).includes('1:access:start'), 'restored at day 20, a milestone of license 1');
});

test('lookForMilestones answers as dueMilestones at every poll (random adds, deletes and clock steps)', () => {
  // The clock only moves forward here: a full look each poll is the model.
  const offset = fc.integer({ min: -40, max: 60 }).map((d) => d * DAY + (d % 4) * 3_600_000);
  const claims = timeClaims(offset);
  const op = fc.oneof(
    // Added at the clock or a little before it (another instance's clock).
    {
      arbitrary: fc.record({
        kind: fc.constant('add' as const),
        claims,
        lag: fc.constantFrom(0, 0, 0, 1000, DAY, 3 * DAY),
      }),
      weight: 4,
    },
    { arbitrary: fc.record({ kind: fc.constant('delete' as const), pick: fc.nat() }), weight: 1 },
    { arbitrary: fc.record({ kind: fc.constant('reread' as const) }), weight: 1 },
    {
      arbitrary: fc.record({
        kind: fc.constant('advance' as const),
        ms: fc.oneof(fc.integer({ min: 0, max: 3_600_000 }), fc.integer({ min: 0, max: 40 * DAY })),
      }),
      weight: 4,
    },
  );
  fc.assert(
    fc.property(
      fc.array(fc.array(op, { minLength: 1, maxLength: 4 }), { minLength: 1, maxLength: 25 }),
      (polls) => {
        let t = 0;
        let nextId = 1;
        let licenses: readonly LicenseRecord[] = [];
        let look: MilestoneLook | undefined;
        const producedLook = new Set<string>();
        const producedFull = new Set<string>();
        for (const [i, ops] of polls.entries()) {
          for (const o of ops) {
            if (o.kind === 'add') {
              const c = o.claims;
              const startsAt = c.startsAt === undefined ? undefined : t + c.startsAt;
              const expires =
                c.expires === undefined ? undefined : Math.max(t + c.expires, (startsAt ?? -Infinity) + DAY);
              const id = nextId++;
              licenses = [
                ...licenses,
                {
                  ...license(id, {
                    uuid: `00000000-0000-4000-8000-${String(id).padStart(12, '0')}`,
                    // Before any instant the offsets reach: a key expires after it was created.
                    createdAt: at(t - 45 * DAY).toISOString(),
                    ...(startsAt !== undefined && { startsAt: at(startsAt).toISOString() }),
                    ...(expires !== undefined && { expires: at(expires).toISOString() }),
                    graceDays: c.graceDays,
                    hardExpiration: c.hardExpiration,
                  }),
                  updatedAt: at(t - o.lag),
                },
              ];
            } else if (o.kind === 'delete' && licenses.length > 0) {
              const gone = o.pick % licenses.length;
              licenses = licenses.filter((_, j) => j !== gone);
            } else if (o.kind === 'reread') licenses = licenses.map((l) => ({ ...l }));
            else if (o.kind === 'advance') t += o.ms;
          }
          const now = at(t);
          const looked = lookForMilestones(look, licenses, SINCE, now);
          const byLook: string[] = [];
          if (looked) {
            for (const k of keys(looked.due)) if (!producedLook.has(k)) byLook.push(k);
            look = looked.look;
          }
          const byFull = keys(dueMilestones(licenses, SINCE, now)).filter((k) => !producedFull.has(k));
          assert.deepEqual(byLook, byFull, `poll ${i} at ${now.toISOString()}`);
          for (const k of byLook) producedLook.add(k);
          for (const k of byFull) producedFull.add(k);
        }
      },
    ),
    { numRuns: 500 },
  );
});
