import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { DAY } from '../helpers/issuer.js';
import {
  ADMIN,
  addKeyDirect,
  apiGet,
  assertOk,
  assertRefused,
  assertUsage,
  okJson,
  startLicensor,
} from './cli-helpers.js';

const LICENSE_LIST_FIELDS = [
  'createdAt',
  'deleted',
  'expired',
  'expires',
  'features',
  'graceDays',
  'graceUntil',
  'handlers',
  'hardDelete',
  'hardExpiration',
  'id',
  'invalidated',
  'licensee',
  'noticeOnExpire',
  'notice',
  'seats',
  'softSeats',
  'startsAt',
  'state',
  'supersedes',
  'updatedAt',
  'uuid',
].sort();
const LICENSE_FIELDS = [
  ...LICENSE_LIST_FIELDS,
  'claims',
  'classifyToken',
  'classifyUsername',
  'licenseKey',
  'renewalToken',
].sort();

test('license commands against a real server: add, list, status, delete, usage, history, notices', async (t) => {
  const l = await startLicensor(t);
  const expires = '2099-12-31T00:00:00.000Z';

  await t.test('add KEY: a sentence with id, uuid, seats and expiry', async () => {
    const key = l.issuer.issue({ seats: 20, softSeats: 5, expires, features: { FPE: { enabled: true } } });
    const out = assertOk(await l.run(['add', key]));
    assert.match(out, /^Added license 1 \(uuid [0-9a-f-]{36}\): 20 seats \+ 5 soft, expires 2099-12-31\.\n/);
    assert.match(out, /Features: FPE\./);
  });

  await t.test('add --file F --json: the API response, key included', async () => {
    const key = l.issuer.issue({ seats: 3, expires: null, notice: 'Licensed to ACME' });
    const file = join(l.dir, 'key.jwt');
    writeFileSync(file, `\n${key}\n\n`);
    const license = okJson(await l.run(['add', '--file', file, '--json']));
    assert.deepEqual(Object.keys(license).sort(), LICENSE_FIELDS);
    assert.equal(license.id, 2);
    assert.equal(license.licenseKey, key);
    assert.equal(license.expires, null);
    assert.equal(license.state, 'active');
  });

  await t.test('add - reads the key from stdin; a perpetual key "never expires"', async () => {
    const key = l.issuer.issue({
      seats: 1,
      expires: null,
      notice: 'Evaluation copy',
      licensee: { name: 'Ada', company: 'ACME' },
    });
    const out = assertOk(await l.run(['add', '-'], { input: `${key}\n` }));
    assert.match(out, /^Added license 3 .*: 1 seat \+ 0 soft, never expires\./);
    assert.match(out, /^Licensed to Ada, ACME\.$/m);
  });

  await t.test('add: a key not yet in force says when it starts', async () => {
    const startsAt = new Date(Date.now() + 30 * DAY).toISOString();
    const out = assertOk(await l.run(['add', l.issuer.issue({ seats: 2, startsAt })]));
    assert.match(out, /^Added license 4 /);
    assert.match(out, new RegExp(`not in force before ${startsAt.slice(0, 10)}`));
  });

  await t.test('add refusals: exit 1 with the problem code; nothing on stdout', async () => {
    const key = l.issuer.issue({ seats: 1 });
    assertOk(await l.run(['add', key]));
    assertRefused(await l.run(['add', key]), 'LICENSE_ALREADY_EXISTS');
    assertRefused(await l.run(['add', key, '--json']), 'LICENSE_ALREADY_EXISTS');
    assertRefused(await l.run(['add', 'not-a-key']), 'MALFORMED_LICENSE_KEY');
    const expired = l.issuer.issue(
      { expires: new Date(Date.now() - DAY).toISOString() },
      new Date(Date.now() - 10 * DAY),
    );
    const res = await l.run(['add', expired]);
    assertRefused(res, 'LICENSE_EXPIRED');
    assert.match(res.stderr, /expired/);
  });

  await t.test('add usage errors: exit 2 and no request', async () => {
    assertUsage(await l.run(['add'], { input: '' }), /empty/);
    assertUsage(await l.run(['add', 'x', '--file', 'y']), /not both/);
    assertUsage(await l.run(['add', '--file', join(l.dir, 'missing.jwt')]), /cannot be read/);
    assertUsage(await l.run(['add', '--bogus']), /unknown option/);
  });

  await t.test('list: an aligned table; --json is GET /admin/license', async () => {
    const out = assertOk(await l.run(['list']));
    const lines = out.trimEnd().split('\n');
    assert.match(
      lines[0]!,
      /^ID\s+UUID\s+LICENSEE\s+STATE\s+SEATS\s+SOFT\s+STARTS\s+EXPIRES\s+HARD\s+FEATURES$/,
    );
    assert.equal(lines.length, 1 + 5);
    // Aligned: every row's STATE starts in the header's STATE column.
    const stateAt = lines[0]!.indexOf('STATE');
    for (const line of lines.slice(1)) assert.match(line.slice(stateAt), /^(active|scheduled)\b/, line);
    assert.match(lines[1]!, /^ 1 .* active +20 +5 +- +2099-12-31 +- +FPE$/);
    assert.match(lines[4]!, /scheduled/);
    const json = okJson(await l.run(['list', '--json']));
    assert.deepEqual(json, await apiGet(l, '/admin/license'));
    assert.equal(json.length, 5);
    for (const item of json) assert.deepEqual(Object.keys(item).sort(), LICENSE_LIST_FIELDS);
  });

  await t.test('status: seats used/total, state, next expiry; --json is licenseStatus', async () => {
    const out = assertOk(await l.run(['status']));
    // 20+5, 3, 1, 1: the scheduled license does not count yet.
    assert.match(out, /^Seats: +0 used of 30 \(25 licensed \+ 5 soft\)$/m);
    assert.match(out, /^New users: +can be added$/m);
    assert.match(out, /^State: +4 active licenses$/m);
    assert.match(out, /^Next expiry: +\d{4}-\d{2}-\d{2}/m);
    assert.match(out, /^Features: +FPE$/m);
    const json = okJson(await l.run(['status', '--json']));
    assert.deepEqual(json, await apiGet(l, '/admin/license/licenseStatus'));
    assert.equal(json.licenseSeats, 30);
    assert.equal(json.hardSeats, 25);
  });

  await t.test('--json, --url and --token work before and after the command name', async () => {
    const env = { LICENSOR_URL: 'http://127.0.0.1:9', LICENSOR_TOKEN: 'wrong-token-wrong-token' };
    for (const args of [
      ['status', '--json', '--url', l.url, '--token', ADMIN],
      ['--json', '--url', l.url, '--token', ADMIN, 'status'],
      ['--url', l.url, 'status', '--json', '--token', ADMIN],
    ]) {
      const json = okJson(await l.run(args, { env }));
      assert.equal(json.licenseSeats, 30, args.join(' '));
    }
  });

  await t.test('usage: users with a summary; --offset/--size page; --json is the API page', async () => {
    for (const [userid, userType] of [
      ['ada', 'dataConsumer'],
      ['bob', 'policyOwner'],
      ['cyd', 'dataConsumer'],
    ] as const) {
      const res = await fetch(`${l.url}/admin/users`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${ADMIN}` },
        body: JSON.stringify({ userid, iamid: 'okta', userType, name: `User ${userid}` }),
      });
      assert.equal(res.status, 201);
    }
    const out = assertOk(await l.run(['usage']));
    assert.match(out, /^ID\s+USERID\s+IAMID\s+TYPE\s+NAME\s+EMAIL\s+ACTIVE$/m);
    assert.match(out, /ada +okta +dataConsumer +User ada +- +yes/);
    assert.match(out, /Data consumers: 2 active of 2\. Policy owners: 1 active of 1\./);
    assert.match(out, /Active users: 3; peak 3 since \d{4}-\d{2}-\d{2}\./);
    assert.match(out, /Showing 1-3 of 3 users\./);

    const page = assertOk(await l.run(['usage', '--offset', '1', '--size', '1']));
    assert.match(page, /bob/);
    assert.doesNotMatch(page, /ada|cyd/);
    assert.match(page, /Showing 2-2 of 3 users\./);

    const json = okJson(await l.run(['usage', '--json', '--size', '2']));
    assert.deepEqual(json, await apiGet(l, '/admin/license/usage?size=2'));
    assert.equal(json.users.length, 2);
    assert.deepEqual(json.summary, {
      dataConsumers: { totalCount: 2, activeCount: 2 },
      policyOwners: { totalCount: 1, activeCount: 1 },
    });

    assertUsage(await l.run(['usage', '--size', '0']), /--size/);
    assertUsage(await l.run(['usage', '--size', '1001']), /--size/);
    assertUsage(await l.run(['usage', '--offset', '-1']), /--offset/);
    assertUsage(await l.run(['usage', '--offset', 'x']), /--offset/);
  });

  await t.test('history: the daily peak table, --json and --csv', async () => {
    const today = new Date().toISOString().slice(0, 10);
    const out = assertOk(await l.run(['history']));
    assert.match(out, /^DAY\s+PEAK ACTIVE\s+SEATS\s+HARD SEATS$/m);
    assert.match(out, new RegExp(`^${today} +3 +30 +25$`, 'm'));
    const json = okJson(await l.run(['history', '--json', '--to', today]));
    assert.equal(json.to, today);
    assert.deepEqual(Object.keys(json).sort(), ['days', 'from', 'to']);
    assert.deepEqual(json.days.at(-1), {
      day: today,
      peakActiveUsers: 3,
      peakByType: { dataConsumer: 2, policyOwner: 1 },
      licenseSeats: 30,
      hardSeats: 25,
    });
    const csv = assertOk(await l.run(['history', '--csv', '--from', today]));
    assert.equal(
      csv,
      `day,peakActiveUsers,licenseSeats,hardSeats,peakDataConsumers,peakPolicyOwners\n${today},3,30,25,2,1\n`,
    );
    assert.match(
      assertOk(await l.run(['history', '--from', '2001-01-01', '--to', '2001-01-31'])),
      /^No usage recorded from 2001-01-01 to 2001-01-31\.$/m,
    );
    assertUsage(await l.run(['history', '--from', '2026-02-30']), /--from/);
    assertUsage(await l.run(['history', '--csv', '--json']), /not both/);
    assertRefused(
      await l.run(['history', '--from', '2026-02-01', '--to', '2026-01-01']),
      'VALIDATION_FAILED',
    );
  });

  await t.test('notices: public, no token needed; --json is the API body', async () => {
    const out = assertOk(await l.run(['notices'], { env: { LICENSOR_TOKEN: '' } }));
    assert.match(out, /^notice: Licensed to ACME$/m);
    assert.match(out, /^notice: Evaluation copy$/m);
    const json = okJson(await l.run(['notices', '--json'], { env: { LICENSOR_TOKEN: '' } }));
    assert.deepEqual(json, await apiGet(l, '/license/notices'));
    assert.deepEqual(json.notices[0], { kind: 'notice', text: 'Licensed to ACME' });
  });

  await t.test('add --dry-run and delete --dry-run: what would change; nothing is stored', async () => {
    const before = await apiGet(l, '/admin/license');
    const key = l.issuer.issue({ seats: 7, softSeats: 1, features: { newFeature: { enabled: true } } });
    const out = assertOk(await l.run(['add', '--dry-run', key]));
    assert.match(out, /^Dry run: adding license uuid [0-9a-f-]{36} \(7 seats \+ 1 soft, expires /m);
    assert.match(out, /^Seats: +(\d+) \(\d+ \+ \d+ soft\) -> (\d+) \(\d+ \+ \d+ soft\)$/m);
    assert.match(out, /^Features gained: +newFeature$/m);
    assert.match(out, /^Nothing was changed\.$/m);
    const json = okJson(await l.run(['add', '--dry-run', '--json', key]));
    assert.equal(json.refusal, null);
    assert.equal(json.license.id, null);
    assert.equal(json.after.licenseSeats - json.before.licenseSeats, 8);

    // A key that would be refused: the answer on stdout, its code on stderr, exit 1 as add would.
    const [header, payload, signature] = key.split('.') as [string, string, string];
    const tampered = `${header}.${payload}.${signature[0] === 'A' ? 'B' : 'A'}${signature.slice(1)}`;
    const refused = await l.run(['add', '--dry-run', tampered]);
    assert.equal(refused.code, 1, refused.stderr);
    assert.match(refused.stdout, /^Dry run: the key cannot be read\.$/m);
    assert.match(refused.stdout, /^Nothing was changed; adding would be refused\.$/m);
    assert.match(refused.stderr, /^licensor: INVALID_SIGNATURE: the signature does not verify\n$/);

    const id = String(before[0].id);
    const deletion = assertOk(await l.run(['delete', id, '--dry-run']));
    assert.match(deletion, new RegExp(`^Dry run: deleting license ${id} \\(uuid [0-9a-f-]{36}\\)\\.`, 'm'));
    assert.match(deletion, /^Seats: +\d+ .* -> \d+ /m);
    assert.equal(okJson(await l.run(['delete', id, '--dry-run', '--json'])).license.id, Number(id));
    assertRefused(await l.run(['delete', '999', '--dry-run']), 'LICENSE_NOT_FOUND');
    assert.deepEqual(await apiGet(l, '/admin/license'), before, 'nothing added or deleted');
  });

  await t.test('delete ID: a sentence; --json is the deleted license; unknown ids exit 1', async () => {
    const out = assertOk(await l.run(['delete', '3']));
    assert.match(out, /^Deleted license 3 \(uuid [0-9a-f-]{36}\)\. The same key may be added again\.$/m);
    const hard = await addKeyDirect(l, { seats: 1, hardDelete: true });
    // Not a terminal: a hardDelete license needs --yes, and without it nothing is deleted.
    for (const json of [[], ['--json']])
      assertUsage(
        await l.run(['delete', String(hard.id), ...json]),
        new RegExp(
          `^licensor: license ${hard.id} \\(.+\\) has hardDelete: once deleted, its key can never be added again; pass --yes to delete it\n$`,
        ),
      );
    assert.equal((await apiGet(l, `/admin/license/${hard.id}`)).deleted, false);
    const deleted = okJson(await l.run(['delete', String(hard.id), '--json', '--yes']));
    assert.deepEqual(Object.keys(deleted).sort(), LICENSE_FIELDS);
    assert.equal(deleted.deleted, true);
    assert.equal(deleted.id, hard.id);
    const again = assertOk(await l.run(['delete', '2']));
    assert.match(again, /Deleted license 2/);
    assertRefused(await l.run(['delete', '3']), 'LICENSE_NOT_FOUND');
    assertRefused(await l.run(['delete', '999']), 'LICENSE_NOT_FOUND');
    assertRefused(await l.run(['delete', '999', '--json']), 'LICENSE_NOT_FOUND');
    assert.match(assertOk(await l.run(['notices'])), /^No notices\.$/m);
  });

  await t.test('delete usage errors: a bad or missing id exits 2', async () => {
    assertUsage(await l.run(['delete', 'abc']), /positive integer/);
    assertUsage(await l.run(['delete', '0']), /positive integer/);
    assertUsage(await l.run(['delete', '-1']));
    assertUsage(await l.run(['delete']), /missing required argument/);
  });

  await t.test('list with no licenses says so', async () => {
    for (const item of await apiGet(l, '/admin/license')) assertOk(await l.run(['delete', String(item.id)]));
    assert.equal(assertOk(await l.run(['list'])), 'No licenses.\n');
    assert.deepEqual(okJson(await l.run(['list', '--json'])), []);
    const status = assertOk(await l.run(['status']));
    assert.match(status, /^State: +no active license$/m);
    assert.match(status, /^Next expiry: +-$/m);
  });
});
