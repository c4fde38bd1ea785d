import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  ADMIN_COMMANDS,
  apiGet,
  assertOk,
  assertRefused,
  assertUsage,
  okJson,
  startLicensor,
} from './cli-helpers.js';
import { AUDIT_FIELDS, TOKEN_FIELDS } from '../helpers/fields.js';

test('tokens, audit and authentication against a real server', async (t) => {
  const l = await startLicensor(t);
  let hostSecret = '';

  await t.test('tokens create: the secret once, on its own line; --json is the API response', async () => {
    const out = assertOk(await l.run(['tokens', 'create', 'host product', '--permission', 'USER_ADMIN']));
    const [sentence, secret, ...rest] = out.split('\n');
    assert.equal(sentence, 'Created token 2 "host product" with USER_ADMIN. Its secret is shown only now:');
    assert.match(secret!, /^lsr_[A-Za-z0-9_-]{43}$/);
    assert.deepEqual(rest, ['']);
    hostSecret = secret!;

    const created = okJson(
      await l.run([
        'tokens',
        'create',
        'ops',
        '--permission',
        'APPLICATION_ADMIN',
        '--permission',
        'user_admin',
        '--json',
      ]),
    );
    assert.deepEqual(Object.keys(created).sort(), [...TOKEN_FIELDS, 'secret'].sort());
    assert.deepEqual(created.permissions, ['APPLICATION_ADMIN', 'USER_ADMIN']);
    assert.equal(created.id, 3);

    assertUsage(await l.run(['tokens', 'create', 'x']), /--permission/);
    assertUsage(
      await l.run(['tokens', 'create', 'x', '--permission', 'ROOT']),
      /APPLICATION_ADMIN, USER_ADMIN/,
    );
    assertUsage(await l.run(['tokens', 'create', '--permission', 'USER_ADMIN']), /missing required argument/);
    assertRefused(
      await l.run(['tokens', 'create', 'bad\u0007name', '--permission', 'USER_ADMIN']),
      'VALIDATION_FAILED',
    );
  });

  await t.test('tokens list: a table without secrets; --json is GET /admin/tokens', async () => {
    const out = assertOk(await l.run(['tokens', 'list']));
    assert.match(out, /^ID\s+NAME\s+PERMISSIONS\s+CREATED\s+NOTE$/m);
    assert.match(out, /^ 1 +\S.* +APPLICATION_ADMIN +\d{4}-\d{2}-\d{2} .*bootstrap/m);
    assert.match(out, /^ 2 +host product +USER_ADMIN +/m);
    assert.doesNotMatch(out, /lsr_/);
    const json = okJson(await l.run(['tokens', 'list', '--json']));
    assert.deepEqual(json, await apiGet(l, '/admin/tokens'));
    assert.equal(json.length, 3);
    for (const token of json) assert.deepEqual(Object.keys(token).sort(), TOKEN_FIELDS);
  });

  await t.test('a token without APPLICATION_ADMIN is refused license commands (FORBIDDEN)', async () => {
    const env = { LICENSOR_TOKEN: hostSecret };
    assertRefused(await l.run(['status'], { env }), 'FORBIDDEN');
    assertRefused(await l.run(['tokens', 'list'], { env }), 'FORBIDDEN');
    assertOk(await l.run(['users', 'list'], { env }));
    assertOk(
      await l.run(['users', 'list', '--token', hostSecret], { env: { LICENSOR_TOKEN: 'wrong-wrong-wrong' } }),
    );
  });

  await t.test('tokens revoke: the token is refused from then on; unknown ids exit 1', async () => {
    assert.equal(
      assertOk(await l.run(['tokens', 'revoke', '2'])),
      'Revoked token 2 "host product"; it is refused from now on.\n',
    );
    const res = await l.run(['users', 'list'], { env: { LICENSOR_TOKEN: hostSecret } });
    assertRefused(res, 'UNAUTHORIZED');
    assert.match(res.stderr, /check LICENSOR_TOKEN/);
    const revoked = okJson(await l.run(['tokens', 'revoke', '3', '--json']));
    assert.deepEqual(Object.keys(revoked).sort(), TOKEN_FIELDS);
    assert.match(revoked.revokedAt, /^\d{4}-/);
    assertRefused(await l.run(['tokens', 'revoke', '2']), 'TOKEN_NOT_FOUND');
    assertRefused(await l.run(['tokens', 'revoke', '99']), 'TOKEN_NOT_FOUND');
    assertUsage(await l.run(['tokens', 'revoke', 'two']), /positive integer/);
    assertUsage(await l.run(['tokens', 'revoke']), /missing required argument/);
    assertUsage(await l.run(['tokens']));
  });

  await t.test(
    'audit: newest first with actor, action, outcome; --offset/--size; --json is the API page',
    async () => {
      // The audit line is written after the response; wait (boundedly) for the last revocation.
      for (
        let i = 0;
        i < 50 && (await apiGet(l, '/admin/audit?size=1')).entries[0]?.target !== 'token:2';
        i++
      )
        await new Promise((r) => setTimeout(r, 20));
      const out = assertOk(await l.run(['audit', '--size', '100']));
      const lines = out.trimEnd().split('\n');
      assert.match(lines[0]!, /^ *ID\s+AT \(UTC\)\s+ACTOR\s+ACTION\s+TARGET\s+OUTCOME\s+FROM$/);
      assert.match(out, /token\.revoke +token:2 +refused TOKEN_NOT_FOUND/);
      assert.match(out, /token\.create +token:2 +success +127\.0\.0\.1/);
      assert.match(lines.at(-1)!, /^Showing 1-\d+ of \d+ entries\.$/);

      const json = okJson(await l.run(['audit', '--json', '--size', '2']));
      assert.deepEqual(Object.keys(json).sort(), ['entries', 'offset', 'size', 'total']);
      assert.equal(json.entries.length, 2);
      for (const e of json.entries) assert.deepEqual(Object.keys(e).sort(), AUDIT_FIELDS);
      assert.ok(json.entries[0].id > json.entries[1].id, 'newest first');
      const second = okJson(await l.run(['audit', '--json', '--offset', '1', '--size', '1']));
      assert.deepEqual(second.entries[0], json.entries[1]);
      assertUsage(await l.run(['audit', '--size', '-3']), /--size/);
    },
  );

  await t.test(
    'a bad token: every administrator command exits 1 with UNAUTHORIZED, in both modes',
    async () => {
      for (const args of ADMIN_COMMANDS)
        for (const json of [[], ['--json']]) {
          const res = await l.run([...args, ...json], { env: { LICENSOR_TOKEN: 'not-a-real-token-at-all' } });
          assertRefused(res, 'UNAUTHORIZED');
        }
      const flag = await l.run(['status', '--token', 'not-a-real-token-at-all']);
      assertRefused(flag, 'UNAUTHORIZED');
      assert.match(flag.stderr, /check --token/);
    },
  );

  await t.test('no token at all: UNAUTHORIZED with a hint on how to give one', async () => {
    const res = await l.run(['list'], { env: { LICENSOR_TOKEN: '', LICENSOR_DATA_DIR: l.dir } });
    assertRefused(res, 'UNAUTHORIZED');
    assert.match(res.stderr, /no token was given: pass --token or set LICENSOR_TOKEN/);
    assertUsage(await l.run(['list', '--token', ' ']), /--token is empty/);
  });

  await t.test('--url that is not an http URL is a usage error', async () => {
    assertUsage(await l.run(['list', '--url', 'not a url']), /--url/);
    assertUsage(await l.run(['list'], { env: { LICENSOR_URL: 'ftp://example.com' } }), /http/);
  });
});
