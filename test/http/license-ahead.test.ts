import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { buildTestApp, type TestApp } from '../helpers/app.js';
import { DAY } from '../helpers/issuer.js';

async function users(h: TestApp, count: number): Promise<void> {
  for (let i = 0; i < count; i++) {
    const res = await h.request({
      method: 'POST',
      url: '/admin/users',
      payload: { userid: `u${i}`, iamid: 'idp' },
    });
    assert.equal(res.statusCode, 201, res.body);
  }
}

const iso = (h: TestApp, offsetMs: number): string =>
  new Date(h.clock.now().getTime() + offsetMs).toISOString();

describe('GET /admin/license?all=true', () => {
  test("lists deleted licenses too; the default list stays Immuta's", async (t) => {
    const h = await buildTestApp(t);
    const old = (await h.addKey(h.issuer.issue({ uuid: 'old', seats: 2 }))).json();
    const next = (await h.addKey(h.issuer.issue({ uuid: 'next', seats: 3, supersedes: ['old'] }))).json();
    const gone = (await h.addKey(h.issuer.issue({ uuid: 'gone', seats: 1, hardDelete: true }))).json();
    assert.equal((await h.request({ method: 'DELETE', url: `/admin/license/${gone.id}` })).statusCode, 200);

    const plain = (await h.request({ method: 'GET', url: '/admin/license' })).json();
    assert.deepEqual(
      plain.map((l: { id: number; state: string }) => [l.id, l.state]),
      [
        [old.id, 'invalidated'],
        [next.id, 'active'],
      ],
    );
    for (const query of ['?all=false', '?other=1'])
      assert.deepEqual(
        (await h.request({ method: 'GET', url: `/admin/license${query}` })).json(),
        plain,
        query,
      );

    const all = (await h.request({ method: 'GET', url: '/admin/license?all=true' })).json();
    assert.deepEqual(
      all.map((l: { id: number; state: string; deleted: boolean }) => [l.id, l.state, l.deleted]),
      [
        [old.id, 'invalidated', false],
        [next.id, 'active', false],
        [gone.id, 'deleted', true],
      ],
    );
    assert.ok(
      all.every((l: object) => !('licenseKey' in l)),
      'never the key',
    );
    const bad = await h.request({ method: 'GET', url: '/admin/license?all=maybe' });
    assert.equal(bad.statusCode, 400);
    assert.equal(bad.json().code, 'VALIDATION_FAILED');
  });
});

describe('GET /admin/license/upcoming', () => {
  test('names each license that starts or expires within the window and what changes then', async (t) => {
    const h = await buildTestApp(t);
    const base = (
      await h.addKey(
        h.issuer.issue({
          uuid: 'base',
          seats: 5,
          softSeats: 0,
          features: { FPE: { enabled: true } },
          handlers: { Snowflake: {} },
          expires: iso(h, 10 * DAY),
          hardExpiration: true,
          licensee: { company: 'Acme' },
        }),
      )
    ).json();
    const later = (
      await h.addKey(
        h.issuer.issue({
          uuid: 'later',
          seats: 3,
          softSeats: 0,
          features: { Masking: { enabled: true } },
          startsAt: iso(h, 5 * DAY),
          expires: iso(h, 8 * DAY),
        }),
      )
    ).json();
    await h.addKey(h.issuer.issue({ uuid: 'far', seats: 1, startsAt: iso(h, 40 * DAY), expires: null }));
    await users(h, 4);

    const res = await h.request({ method: 'GET', url: '/admin/license/upcoming' });
    assert.equal(res.statusCode, 200, res.body);
    const body = res.json();
    assert.equal(body.from, h.clock.now().toISOString());
    assert.equal(body.until, iso(h, 30 * DAY));
    const brief = body.changes.map(
      (c: {
        at: string;
        starting: { id: number }[];
        expiring: { id: number; hardExpiration: boolean; licensee: unknown }[];
        before: { licenseSeats: number; dataAccessBlocked: boolean };
        after: { licenseSeats: number; dataAccessBlocked: boolean };
        featuresGained: string[];
        featuresLost: string[];
        handlersLost: string[];
        usersOverLimitAfter: number;
      }) => ({
        at: c.at,
        starting: c.starting.map((l) => l.id),
        expiring: c.expiring.map((l) => l.id),
        seats: [c.before.licenseSeats, c.after.licenseSeats],
        blocked: c.after.dataAccessBlocked,
        gained: c.featuresGained,
        lost: [...c.featuresLost, ...c.handlersLost],
        over: c.usersOverLimitAfter,
      }),
    );
    assert.deepEqual(brief, [
      {
        at: iso(h, 5 * DAY),
        starting: [later.id],
        expiring: [],
        seats: [5, 8],
        blocked: false,
        gained: ['Masking'],
        lost: [],
        over: 0,
      },
      {
        at: iso(h, 8 * DAY),
        starting: [],
        expiring: [later.id],
        seats: [8, 5],
        blocked: false,
        gained: [],
        lost: ['Masking'],
        over: 0,
      },
      // The last active license, with hardExpiration: data access is blocked from then on.
      {
        at: iso(h, 10 * DAY),
        starting: [],
        expiring: [base.id],
        seats: [5, 0],
        blocked: true,
        gained: [],
        lost: ['FPE', 'Snowflake'],
        over: 4,
      },
    ]);
    assert.deepEqual(body.changes[2].expiring[0], {
      id: base.id,
      uuid: 'base',
      licensee: { company: 'Acme' },
      hardExpiration: true,
      hardDelete: false,
    });
    // A longer window reaches the far start; a bad one is refused.
    assert.equal(
      (await h.request({ method: 'GET', url: '/admin/license/upcoming?days=60' })).json().changes.length,
      4,
    );
    // Only decimal digits: the validator alone took 0x3c and 6e1 as 60.
    for (const days of ['0', '3651', 'x', '0x3c', '6e1', '060', '+60', '60.0', '%2060', '60%0A']) {
      const res = await h.request({ method: 'GET', url: `/admin/license/upcoming?days=${days}` });
      assert.deepEqual([res.statusCode, res.json().code], [400, 'VALIDATION_FAILED'], days);
    }
    // A deleted license changes nothing ahead.
    await h.request({ method: 'DELETE', url: `/admin/license/${later.id}` });
    assert.deepEqual(
      (await h.request({ method: 'GET', url: '/admin/license/upcoming' }))
        .json()
        .changes.map((c: { at: string }) => c.at),
      [iso(h, 10 * DAY)],
    );
  });
});

describe('POST /admin/license/validate of a key that starts later', () => {
  test('says nothing changes now, and what changes on the start date', async (t) => {
    const h = await buildTestApp(t);
    await h.addKey(h.issuer.issue({ uuid: 'base', seats: 38, softSeats: 0, expires: null }));
    const key = h.issuer.issue({
      uuid: 'tomorrow',
      seats: 5,
      softSeats: 0,
      features: { Masking: { enabled: true } },
      handlers: { Databricks: {} },
      startsAt: iso(h, DAY),
      hardExpiration: true,
    });
    const impact = (
      await h.request({ method: 'POST', url: '/admin/license/validate', payload: { licenseKey: key } })
    ).json();
    assert.equal(impact.license.state, 'scheduled');
    assert.equal(impact.license.hardExpiration, true);
    assert.deepEqual(
      [impact.before.licenseSeats, impact.after.licenseSeats, impact.featuresGained],
      [38, 38, []],
    );
    assert.deepEqual(impact.atStart, {
      at: iso(h, DAY),
      before: impact.after,
      after: { ...impact.after, hardSeats: 43, licenseSeats: 43, activeLicenses: 2 },
      featuresGained: ['Masking'],
      featuresLost: [],
      handlersGained: ['Databricks'],
      handlersLost: [],
      usersOverLimitAfter: 0,
    });
    const now = (
      await h.request({
        method: 'POST',
        url: '/admin/license/validate',
        payload: { licenseKey: h.issuer.issue({ seats: 1 }) },
      })
    ).json();
    assert.equal(now.atStart, null, 'a key in force at once has no start to preview');
  });
});
