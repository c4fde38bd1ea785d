import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { buildTestApp, type TestApp } from '../helpers/app.js';
import { createIssuer, DAY } from '../helpers/issuer.js';

/** Everything a dry run must leave as it was, the audit log included. */
async function snapshot(h: TestApp): Promise<string> {
  return JSON.stringify(
    await Promise.all([
      h.store.listLicenses({ includeDeleted: true }),
      h.store.readView(h.clock.now()).then((view) => view.activeUserCount),
      h.store.listAudit({ offset: 0, size: 1000 }),
    ]),
  );
}

/** Lets the audit hook (it runs after the response is sent) finish. */
async function settle(): Promise<void> {
  for (let i = 0; i < 5; i++) await new Promise((resolve) => setImmediate(resolve));
}

async function auditActions(h: TestApp): Promise<string[]> {
  await settle();
  return (await h.store.listAudit({ offset: 0, size: 1000 })).entries.map(
    (e) => `${e.action} ${e.outcome}${e.code === null ? '' : ` ${e.code}`}`,
  );
}

function validate(h: TestApp, payload: unknown) {
  return h.request({ method: 'POST', url: '/admin/license/validate', payload: payload as object });
}

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

describe('POST /admin/license/validate', () => {
  test('answers what adding would change, and stores and audits nothing', async (t) => {
    const h = await buildTestApp(t);
    await h.addKey(
      h.issuer.issue({
        uuid: 'base',
        seats: 3,
        softSeats: 1,
        features: { FPE: { enabled: true } },
        handlers: { Snowflake: {} },
      }),
    );
    await users(h, 2);
    await settle();
    const before = await snapshot(h);
    const key = h.issuer.issue({
      uuid: 'more',
      seats: 10,
      softSeats: 2,
      features: { FPE: { enabled: true }, externalCatalog: { enabled: true } },
      handlers: { Databricks: {} },
      licensee: { company: 'ACME' },
    });
    const res = await validate(h, { licenseKey: `\n ${key} \n` });
    assert.equal(res.statusCode, 200, res.body);
    const impact = res.json();
    assert.equal(impact.refusal, null);
    assert.deepEqual(impact.before, {
      hardSeats: 3,
      licenseSeats: 4,
      canAddUser: true,
      overage: 0,
      dataAccessBlocked: false,
      graceUntil: null,
      activeLicenses: 1,
    });
    assert.deepEqual(impact.after, {
      hardSeats: 13,
      licenseSeats: 16,
      canAddUser: true,
      overage: 0,
      dataAccessBlocked: false,
      graceUntil: null,
      activeLicenses: 2,
    });
    assert.deepEqual(impact.featuresGained, ['externalCatalog']);
    assert.deepEqual(impact.handlersGained, ['Databricks']);
    assert.deepEqual([impact.featuresLost, impact.handlersLost, impact.invalidates], [[], [], []]);
    assert.equal(impact.activeUserCount, 2);
    assert.equal(impact.usersOverLimitAfter, 0);
    assert.equal(impact.license.id, null, 'not stored, so no id');
    assert.equal(impact.license.uuid, 'more');
    assert.equal(impact.license.state, 'active');
    assert.deepEqual(impact.license.licensee, { company: 'ACME' });
    assert.equal(impact.license.licenseKey, undefined, 'the key is not echoed');
    assert.equal(await snapshot(h), before, 'nothing stored, nothing audited');

    // And adding it does what the dry run said.
    assert.equal((await h.addKey(key)).statusCode, 200);
    const status = (await h.request({ method: 'GET', url: '/admin/license/licenseStatus' })).json();
    assert.deepEqual(
      [status.hardSeats, status.licenseSeats],
      [impact.after.hardSeats, impact.after.licenseSeats],
    );
  });

  test('lists the licenses a key supersedes and what only they granted', async (t) => {
    const h = await buildTestApp(t);
    await h.addKey(h.issuer.issue({ uuid: 'old', seats: 20, features: { legacy: { enabled: true } } }));
    await users(h, 12);
    const res = await validate(h, {
      licenseKey: h.issuer.issue({ uuid: 'renewal', seats: 10, supersedes: ['old'] }),
    });
    const impact = res.json();
    assert.deepEqual(impact.invalidates, [{ id: 1, uuid: 'old' }]);
    assert.deepEqual(impact.featuresLost, ['legacy']);
    assert.deepEqual([impact.before.licenseSeats, impact.after.licenseSeats], [20, 10]);
    assert.equal(impact.usersOverLimitAfter, 2);
    assert.equal(impact.license.supersedes[0], 'old');
  });

  test('a key that would be refused: 200 with the code, status and detail POST would answer', async (t) => {
    const h = await buildTestApp(t);
    const live = h.issuer.issue({ uuid: 'live' });
    const gone = h.issuer.issue({ uuid: 'gone', hardDelete: true });
    await h.addKey(live);
    await h.addKey(gone);
    assert.equal((await h.request({ method: 'DELETE', url: '/admin/license/2' })).statusCode, 200);
    const valid = h.issuer.issue();
    const [header, payload, signature] = valid.split('.') as [string, string, string];
    const flipped = `${signature.slice(0, 10)}${signature[10] === 'A' ? 'B' : 'A'}${signature.slice(11)}`;
    const cases: [string, string, boolean][] = [
      ['not a key', 'MALFORMED_LICENSE_KEY', false],
      [`${header}.${payload}.${flipped}`, 'INVALID_SIGNATURE', false],
      [createIssuer(() => h.clock.now()).issue(), 'UNTRUSTED_ISSUER', false],
      [h.issuer.issue({ seats: -1 }), 'INVALID_CLAIMS', false],
      [
        h.issuer.issue({
          createdAt: new Date(h.clock.now().getTime() - 10 * DAY).toISOString(),
          expires: new Date(h.clock.now().getTime() - DAY).toISOString(),
        }),
        'LICENSE_EXPIRED',
        true,
      ],
      [
        h.issuer.issue({ createdAt: new Date(h.clock.now().getTime() + DAY).toISOString() }),
        'LICENSE_NOT_YET_VALID',
        true,
      ],
      [live, 'LICENSE_ALREADY_EXISTS', true],
      [gone, 'LICENSE_HARD_DELETED', true],
    ];
    for (const [key, code, described] of cases) {
      await settle();
      const before = await snapshot(h);
      const res = await validate(h, { licenseKey: key });
      assert.equal(res.statusCode, 200, `${code}: ${res.body}`);
      const impact = res.json();
      assert.equal(impact.refusal?.code, code);
      assert.deepEqual(impact.after, impact.before, `${code}: nothing would change`);
      assert.deepEqual([impact.featuresGained, impact.handlersGained, impact.invalidates], [[], [], []]);
      assert.equal(impact.license !== null, described, `${code}: the key is described when it could be read`);
      assert.equal(await snapshot(h), before, `${code}: nothing stored or audited`);
      // Exactly what adding answers.
      const added = await h.addKey(key);
      assert.deepEqual(
        { code: impact.refusal.code, status: impact.refusal.status, detail: impact.refusal.detail },
        { code: added.json().code, status: added.statusCode, detail: added.json().detail },
      );
      await settle();
      assert.notEqual(await snapshot(h), before, 'the refused add is audited');
    }
  });

  test('a body without a key is 400 like POST /admin/license; no token is 401', async (t) => {
    const h = await buildTestApp(t);
    for (const payload of [{}, { licenseKey: 42 }, { licenseKey: 'a', licensekey: 'b' }]) {
      const res = await validate(h, payload);
      assert.equal(res.statusCode, 400, JSON.stringify(payload));
      assert.equal(res.json().code, 'VALIDATION_FAILED');
    }
    const anonymous = await h.app.inject({
      method: 'POST',
      url: '/admin/license/validate',
      payload: { licenseKey: h.issuer.issue() },
    });
    assert.equal(anonymous.statusCode, 401);
    // A 401 is counted as a failed authentication (docs/audit.md), not an entry of its own.
    assert.deepEqual(await auditActions(h), []);
  });
});

describe('DELETE /admin/license/{id}?dryRun=true', () => {
  test('answers seats after, features lost, users over the limit; deletes and audits nothing', async (t) => {
    const h = await buildTestApp(t);
    await h.addKey(
      h.issuer.issue({
        uuid: 'big',
        seats: 10,
        features: { FPE: { enabled: true } },
        handlers: { Snowflake: {} },
      }),
    );
    await h.addKey(h.issuer.issue({ uuid: 'small', seats: 2, softSeats: 1, hardDelete: true }));
    await users(h, 8);
    await settle();
    const before = await snapshot(h);
    const res = await h.request({ method: 'DELETE', url: '/admin/license/1?dryRun=true' });
    assert.equal(res.statusCode, 200, res.body);
    const impact = res.json();
    assert.equal(impact.license.id, 1);
    assert.equal(impact.license.uuid, 'big');
    assert.equal(impact.refusal, null);
    assert.deepEqual([impact.before.licenseSeats, impact.after.licenseSeats], [13, 3]);
    assert.deepEqual([impact.before.hardSeats, impact.after.hardSeats], [12, 2]);
    assert.deepEqual(impact.featuresLost, ['FPE']);
    assert.deepEqual(impact.handlersLost, ['Snowflake']);
    assert.equal(impact.usersOverLimitAfter, 5);
    assert.equal(impact.after.canAddUser, false);

    const hard = (await h.request({ method: 'DELETE', url: '/admin/license/2?dryRun=true' })).json();
    assert.equal(hard.license.hardDelete, true, 'the console warns that this key can never come back');

    // Refused dry runs are reads too: no audit line.
    const missing = await h.request({ method: 'DELETE', url: '/admin/license/9?dryRun=true' });
    assert.deepEqual([missing.statusCode, missing.json().code], [404, 'LICENSE_NOT_FOUND']);
    const badId = await h.request({ method: 'DELETE', url: '/admin/license/x?dryRun=true' });
    assert.deepEqual([badId.statusCode, badId.json().code], [400, 'INVALID_ID']);
    assert.equal(await snapshot(h), before, 'nothing deleted, nothing audited');

    // dryRun=false, and no dryRun, delete.
    assert.equal(
      (await h.request({ method: 'DELETE', url: '/admin/license/1?dryRun=false' })).json().deleted,
      true,
    );
    assert.equal((await h.request({ method: 'DELETE', url: '/admin/license/2' })).json().deleted, true);
    assert.deepEqual(await auditActions(h), [
      'license.delete success',
      'license.delete success',
      ...(
        JSON.parse(before) as [unknown, unknown, { entries: { action: string; outcome: string }[] }]
      )[2].entries.map((e) => `${e.action} ${e.outcome}`),
    ]);
  });

  test('a deleted license is 404 for a dry run as for a delete', async (t) => {
    const h = await buildTestApp(t);
    await h.addKey(h.issuer.issue());
    await h.request({ method: 'DELETE', url: '/admin/license/1' });
    const res = await h.request({ method: 'DELETE', url: '/admin/license/1?dryRun=true' });
    assert.deepEqual([res.statusCode, res.json().code], [404, 'LICENSE_NOT_FOUND']);
  });

  test('a misspelt or malformed dryRun is refused and deletes nothing', async (t) => {
    const h = await buildTestApp(t);
    await h.addKey(h.issuer.issue());
    for (const query of ['dryrun=true', 'dry_run=1', 'dryRun=maybe', 'dryRun=true&force=1']) {
      const res = await h.request({ method: 'DELETE', url: `/admin/license/1?${query}` });
      assert.deepEqual([res.statusCode, res.json().code], [400, 'VALIDATION_FAILED'], query);
    }
    assert.equal((await h.store.listLicenses()).length, 1);
  });
});
