import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { test } from 'node:test';
import {
  LicensorApiError,
  LicensorClient,
  LicensorConnectionError,
  type AuditEntry,
  type CreatedToken,
  type Entitlements,
  type Notices,
  type Readiness,
  type Token,
} from '../../src/client/index.js';
import { ADMIN_TOKEN, buildTestApp } from '../helpers/app.js';
import { ROOT } from '../helpers/process.js';

/*
 * These types are restated in src/client/types.ts (their schemas are not exported by the routes).
 * `satisfies` makes each list exactly the type's keys; the tests compare them with what the server
 * really sends, so the client cannot drift from the server unnoticed.
 */
const TOKEN_KEYS = {
  id: true,
  name: true,
  permissions: true,
  createdAt: true,
  revokedAt: true,
  bootstrap: true,
} satisfies Record<keyof Token, true>;
const CREATED_TOKEN_KEYS = { ...TOKEN_KEYS, secret: true } satisfies Record<keyof CreatedToken, true>;
const AUDIT_KEYS = {
  id: true,
  at: true,
  actorTokenId: true,
  actorName: true,
  action: true,
  target: true,
  targetName: true,
  outcome: true,
  code: true,
  clientAddress: true,
} satisfies Record<keyof AuditEntry, true>;
const ENTITLEMENTS_KEYS = {
  features: true,
  handlers: true,
  canAddUser: true,
  dataAccessBlocked: true,
  grace: true,
} satisfies Record<keyof Entitlements, true>;
const NOTICE_KEYS = { kind: true, text: true } satisfies Record<keyof Notices['notices'][number], true>;
const READINESS_KEYS = { status: true, store: true } satisfies Record<keyof Readiness, true>;

function keysOf(value: object): string[] {
  return Object.keys(value).sort();
}

function sameKeys(value: object, expected: object, what: string): void {
  assert.deepEqual(keysOf(value), keysOf(expected), what);
}

async function rejectsWith(
  promise: Promise<unknown>,
  expected: { code: string; status: number },
): Promise<LicensorApiError> {
  try {
    await promise;
  } catch (err) {
    assert.ok(err instanceof LicensorApiError, `a LicensorApiError, not ${String(err)}`);
    assert.equal(err.code, expected.code, err.message);
    assert.equal(err.status, expected.status, err.message);
    assert.equal(typeof err.detail, 'string');
    assert.notEqual(err.detail, '');
    assert.equal(err.message, `${err.code}: ${err.detail}`);
    return err;
  }
  assert.fail(`expected ${expected.code}`);
}

test('LicensorClient against the app on a real port: every route, typed results, coded errors', async (t) => {
  const h = await buildTestApp(t);
  const address = await h.app.listen({ host: '127.0.0.1', port: 0 });
  const client = new LicensorClient({ baseUrl: `${address}/`, token: ADMIN_TOKEN });
  assert.equal(client.baseUrl, address, 'the trailing slash is dropped');

  await t.test('licenses: add, list, get, status, delete', async () => {
    const key = h.issuer.issue({
      seats: 2,
      softSeats: 1,
      features: { FPE: { enabled: true } },
      notice: 'hello',
    });
    const added = await client.addLicense(` ${key}\n`);
    assert.equal(added.id, 1);
    assert.equal(added.licenseKey, key);
    assert.equal(added.state, 'active');
    const list = await client.listLicenses();
    assert.equal(list.length, 1);
    assert.equal((list[0] as Record<string, unknown>).licenseKey, undefined);
    assert.equal((await client.getLicense(1)).uuid, added.uuid);
    const status = await client.licenseStatus();
    assert.deepEqual(
      [status.activeUserCount, status.licenseSeats, status.hardSeats, status.canAddUser],
      [0, 3, 2, true],
    );

    const duplicate = await rejectsWith(client.addLicense(key), {
      code: 'LICENSE_ALREADY_EXISTS',
      status: 409,
    });
    assert.match(duplicate.requestId ?? '', /\S/, 'the request id comes with the problem');
    await rejectsWith(client.addLicense('nope'), { code: 'MALFORMED_LICENSE_KEY', status: 400 });
    await rejectsWith(client.getLicense(99), { code: 'LICENSE_NOT_FOUND', status: 404 });
    await rejectsWith(client.deleteLicense(99), { code: 'LICENSE_NOT_FOUND', status: 404 });
    await rejectsWith(client.getLicense(0), { code: 'INVALID_ID', status: 400 });
    await rejectsWith(client.getLicense(Number.NaN), { code: 'INVALID_ID', status: 400 });
  });

  await t.test('users: create, list, get, update, activity, delete; the seat limit', async () => {
    const ada = await client.createUser({
      userid: 'ada',
      iamid: 'okta',
      name: 'Ada',
      userType: 'policyOwner',
    });
    assert.equal(ada.active, true);
    await client.createUser({ userid: 'bob', iamid: 'okta' });
    await client.createUser({ userid: 'cyd', iamid: 'okta', email: null });
    await rejectsWith(client.createUser({ userid: 'dee', iamid: 'okta' }), {
      code: 'SEAT_LIMIT_REACHED',
      status: 403,
    });
    await rejectsWith(client.createUser({ userid: 'ada', iamid: 'okta' }), {
      code: 'USER_ALREADY_EXISTS',
      status: 409,
    });

    const page = await client.listUsers({ offset: 1, size: 1 });
    assert.deepEqual([page.offset, page.size, page.total, page.users[0]?.userid], [1, 1, 3, 'bob']);
    assert.deepEqual(
      (await client.listUsers({ q: 'cy' })).users.map((u) => u.userid),
      ['cyd'],
    );
    assert.equal((await client.listUsers({ active: false })).total, 0);
    assert.equal((await client.listUsers({ active: undefined, q: undefined })).total, 3);

    assert.equal((await client.getUser(ada.id)).name, 'Ada');
    const disabled = await client.updateUser(ada.id, { disabled: true, name: 'Ada L.' });
    assert.deepEqual([disabled.disabled, disabled.active, disabled.name], [true, false, 'Ada L.']);
    await rejectsWith(client.recordActivity(ada.id), { code: 'USER_DISABLED', status: 409 });
    await client.createUser({ userid: 'dee', iamid: 'okta' });
    await rejectsWith(client.updateUser(ada.id, { disabled: false }), {
      code: 'SEAT_LIMIT_REACHED',
      status: 403,
    });
    assert.equal((await client.recordActivity(2)).userid, 'bob');
    assert.equal((await client.deleteUser(ada.id)).userid, 'ada');
    await rejectsWith(client.getUser(ada.id), { code: 'USER_NOT_FOUND', status: 404 });
  });

  await t.test('usage and its history (JSON and CSV)', async () => {
    const usage = await client.usage({ size: 2 });
    assert.equal(usage.users.length, 2);
    assert.equal(usage.total, 3);
    assert.deepEqual(usage.summary.dataConsumers, { totalCount: 3, activeCount: 3 });
    const history = await client.usageHistory({ from: '2026-05-01', to: '2026-06-01' });
    assert.deepEqual([history.from, history.to], ['2026-05-01', '2026-06-01']);
    assert.deepEqual(history.days.at(-1), {
      day: '2026-06-01',
      peakActiveUsers: 3,
      // Ada was a policy owner before her type changed: each type keeps its own peak of the day.
      peakByType: { dataConsumer: 3, policyOwner: 1 },
      licenseSeats: 3,
      hardSeats: 2,
    });
    const csv = await client.usageHistoryCsv({ to: '2026-06-01' });
    assert.match(
      csv,
      /^day,peakActiveUsers,licenseSeats,hardSeats,peakDataConsumers,peakPolicyOwners\n2026-06-01,3,3,2,3,1\n$/,
    );
    await rejectsWith(client.usageHistory({ from: '2026-13-01' }), {
      code: 'VALIDATION_FAILED',
      status: 400,
    });
    await rejectsWith(client.usage({ size: 0 }), { code: 'INVALID_PAGE', status: 400 });
  });

  await t.test('host product routes: notices (public) and entitlements', async () => {
    const anonymous = new LicensorClient({ baseUrl: address });
    assert.equal(anonymous.hasToken, false);
    const notices = await anonymous.notices();
    assert.deepEqual(notices, { notices: [{ kind: 'notice', text: 'hello' }] });
    sameKeys(notices.notices[0]!, NOTICE_KEYS, 'notice');
    const entitlements = await client.entitlements();
    sameKeys(entitlements, ENTITLEMENTS_KEYS, 'entitlements');
    assert.deepEqual(entitlements.features, { FPE: { enabled: true } });
    assert.equal(entitlements.canAddUser, false);
    await rejectsWith(anonymous.entitlements(), { code: 'UNAUTHORIZED', status: 401 });
    await rejectsWith(anonymous.listLicenses(), { code: 'UNAUTHORIZED', status: 401 });
  });

  await t.test('tokens and audit', async () => {
    const created = await client.createToken({ name: 'host', permissions: ['USER_ADMIN'] });
    sameKeys(created, CREATED_TOKEN_KEYS, 'created token');
    const tokens = await client.listTokens();
    assert.equal(tokens.length, 2);
    for (const token of tokens) sameKeys(token, TOKEN_KEYS, 'token');

    const host = new LicensorClient({ baseUrl: address, token: created.secret });
    assert.equal((await host.listUsers()).total, 3);
    assert.equal((await host.entitlements()).canAddUser, false);
    await rejectsWith(host.licenseStatus(), { code: 'FORBIDDEN', status: 403 });

    const revoked = await client.revokeToken(created.id);
    sameKeys(revoked, TOKEN_KEYS, 'revoked token');
    assert.notEqual(revoked.revokedAt, null);
    await rejectsWith(host.listUsers(), { code: 'UNAUTHORIZED', status: 401 });
    await rejectsWith(client.revokeToken(created.id), { code: 'TOKEN_NOT_FOUND', status: 404 });
    const bad = new LicensorClient({ baseUrl: address, token: 'wrong-token' });
    await rejectsWith(bad.listLicenses(), { code: 'UNAUTHORIZED', status: 401 });

    let audit = await client.audit({ size: 100 });
    for (
      let i = 0;
      i < 50 && !audit.entries.some((e) => e.action === 'token.revoke' && e.outcome === 'refused');
      i++
    ) {
      await new Promise((r) => setTimeout(r, 10));
      audit = await client.audit({ size: 100 });
    }
    assert.ok(audit.total > 0);
    for (const entry of audit.entries) sameKeys(entry, AUDIT_KEYS, 'audit entry');
    assert.ok(audit.entries.some((e) => e.action === 'license.add' && e.outcome === 'success'));
    const one = await client.audit({ offset: 1, size: 1 });
    assert.deepEqual(one.entries[0], audit.entries[1]);
  });

  await t.test('operations: health, readiness, metrics', async () => {
    assert.deepEqual(await client.health(), { status: 'ok' });
    const ready = await client.ready();
    sameKeys(ready, READINESS_KEYS, 'readiness');
    assert.equal(ready.status, 'ready');
    assert.match(await client.metrics(), /^# (HELP|TYPE) /m);
  });

  await t.test('a base URL with a path prefix is kept', async () => {
    const seen: string[] = [];
    const prefixed = new LicensorClient({
      baseUrl: 'https://example.com/licensor/',
      token: 't',
      fetch: async (input) => {
        seen.push(input);
        return new Response(JSON.stringify({ status: 'ok' }), {
          headers: { 'content-type': 'application/json' },
        });
      },
    });
    await prefixed.health();
    await prefixed.usage({ offset: 0, size: 5 });
    await prefixed.listUsers({ active: true, q: 'a b&c' });
    await prefixed.getLicense(7);
    assert.deepEqual(seen, [
      'https://example.com/licensor/healthz',
      'https://example.com/licensor/admin/license/usage?offset=0&size=5',
      'https://example.com/licensor/admin/users?active=true&q=a+b%26c',
      'https://example.com/licensor/admin/license/7',
    ]);
  });
});

test('LicensorClient failures: no server, a proxy error page, a timeout, a bad base URL', async () => {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const { port } = probe.address() as { port: number };
  await new Promise((resolve) => probe.close(resolve));

  const down = new LicensorClient({ baseUrl: `http://127.0.0.1:${port}`, token: 'x' });
  await assert.rejects(down.licenseStatus(), (err: unknown) => {
    assert.ok(err instanceof LicensorConnectionError);
    assert.equal(err.code, 'CONNECTION_FAILED');
    assert.equal(err.reason, 'ECONNREFUSED');
    assert.equal(err.url, `http://127.0.0.1:${port}`);
    assert.equal(err.message, `cannot reach http://127.0.0.1:${port} (ECONNREFUSED)`);
    return true;
  });

  const proxy = new LicensorClient({
    baseUrl: 'http://example.com',
    fetch: async () => new Response('<html>Bad Gateway</html>', { status: 502, statusText: 'Bad Gateway' }),
  });
  await assert.rejects(proxy.listLicenses(), (err: unknown) => {
    assert.ok(err instanceof LicensorApiError);
    assert.equal(err.code, 'UNEXPECTED_RESPONSE');
    assert.equal(err.status, 502);
    assert.match(err.detail, /GET \/admin\/license answered 502 Bad Gateway/);
    return true;
  });
  const garbled = new LicensorClient({
    baseUrl: 'http://example.com',
    fetch: async () => new Response('{"trunc'),
  });
  await assert.rejects(garbled.listLicenses(), { name: 'LicensorApiError', code: 'UNEXPECTED_RESPONSE' });

  const hung = new LicensorClient({
    baseUrl: 'http://example.com',
    timeoutMs: 30,
    fetch: (_input, init) =>
      new Promise((_resolve, reject) =>
        init.signal?.addEventListener('abort', () => reject(init.signal?.reason as Error)),
      ),
  });
  // AbortSignal.timeout's timer does not hold the event loop open; a real request's socket would.
  const keepAlive = setTimeout(() => undefined, 5_000);
  await assert.rejects(hung.health(), (err: unknown) => {
    assert.ok(err instanceof LicensorConnectionError);
    assert.equal(err.reason, 'no answer within 30 ms');
    return true;
  });
  clearTimeout(keepAlive);

  assert.throws(() => new LicensorClient({ baseUrl: 'ftp://example.com' }), TypeError);
  assert.throws(() => new LicensorClient({ baseUrl: 'not a url' }), TypeError);
  assert.throws(() => new LicensorClient({ baseUrl: 'http://example.com/?x=1' }), TypeError);
});

test('the package exports licensor/client (built), and the client uses nothing but fetch', async () => {
  const specifier = 'licensor/client';
  const exported = (await import(specifier)) as Record<string, unknown>;
  for (const name of ['LicensorClient', 'LicensorApiError', 'LicensorConnectionError'])
    assert.equal(typeof exported[name], 'function', name);
  const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
    exports: Record<string, { types: string; default: string }>;
  };
  assert.equal(pkg.exports['./client']?.default, './dist/client/index.js');
  assert.equal(pkg.exports['./client']?.types, './dist/client/index.d.ts');

  // Browser-safe: no Node built-ins, no process, no server modules at run time.
  const dir = join(ROOT, 'dist/client');
  let imports = 0;
  for (const file of readdirSync(dir).filter((f) => f.endsWith('.js'))) {
    const source = readFileSync(join(dir, file), 'utf8');
    assert.doesNotMatch(source, /from ['"]node:|require\(|\bprocess\./, file);
    for (const [, path] of source.matchAll(/^(?:import|export)\s[^;'"]*?\bfrom\s*['"]([^'"]+)['"]/gm)) {
      assert.match(path!, /^\.\/[a-z-]+\.js$/, `${file} imports ${path}`);
      imports++;
    }
  }
  assert.ok(imports >= 3, 'the import scan sees the imports');
});
