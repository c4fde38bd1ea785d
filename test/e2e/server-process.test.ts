import assert from 'node:assert/strict';
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import Database from 'better-sqlite3';
import { jwtVerifyLike } from './jose-check.js';
import { runCli, startServerProcess, tempDir } from '../helpers/process.js';

const ADMIN = 'e2e-admin-token-0123456789abcdef';

async function issuerFiles(dir: string): Promise<{ key: string; pub: string }> {
  const res = await runCli(['keygen', '--out', join(dir, 'issuer')]);
  assert.equal(res.code, 0, res.stderr);
  return { key: join(dir, 'issuer/issuer.key'), pub: join(dir, 'issuer/issuer.pub') };
}

describe('a real server process', () => {
  test('the seed requests work end to end with a key from `licensor issue`', async (t) => {
    const dir = tempDir(t);
    const { key, pub } = await issuerFiles(dir);
    const issued = await runCli([
      'issue',
      '--key',
      key,
      '--seats',
      '20',
      '--feature',
      'FPE',
      '--feature',
      'nativeSqlTeradata',
      '--expires',
      '2099-09-09',
    ]);
    assert.equal(issued.code, 0, issued.stderr);
    const licenseKey = issued.stdout.trim();
    await jwtVerifyLike(licenseKey, readFileSync(pub, 'utf8'));

    const server = await startServerProcess(t, {
      LICENSOR_DATA_DIR: join(dir, 'data'),
      LICENSOR_TRUSTED_KEYS: pub,
      LICENSOR_ADMIN_TOKEN: ADMIN,
    });
    const headers = { 'content-type': 'application/json', authorization: `Bearer ${ADMIN}` };

    // curl --request POST --data @example-payload.json, with the seed's own spelling
    const added = await fetch(`${server.url}/admin/license`, {
      method: 'POST',
      headers,
      body: JSON.stringify({ licensekey: licenseKey }),
    });
    const license = (await added.json()) as Record<string, unknown>;
    assert.equal(added.status, 200, JSON.stringify(license));
    assert.equal(license.id, 1);
    assert.equal(license.seats, 20);
    // `licensor issue --expires 2099-09-09` means the end of that day in UTC (its --help says so).
    assert.equal(license.expires, '2099-09-09T23:59:59.000Z');
    assert.deepEqual(license.features, { FPE: { enabled: true }, nativeSqlTeradata: { enabled: true } });

    const list = (await (await fetch(`${server.url}/admin/license`, { headers })).json()) as Record<
      string,
      unknown
    >[];
    assert.equal(list.length, 1);
    assert.equal(list[0]!.licenseKey, undefined);

    const status = (await (
      await fetch(`${server.url}/admin/license/licenseStatus`, { headers })
    ).json()) as Record<string, unknown>;
    assert.deepEqual(
      [status.activeUserCount, status.licenseSeats, status.canAddUser, status.hardSeats],
      [0, 20, true, 20],
    );

    const deleted = await fetch(`${server.url}/admin/license/1`, { method: 'DELETE', headers });
    assert.equal(deleted.status, 200);
    assert.equal(((await deleted.json()) as Record<string, unknown>).deleted, true);

    // The key never appears in the logs.
    assert.ok(!server.stdout().includes(licenseKey.split('.')[2]!), 'license key in the log');
    assert.ok(!server.stdout().includes(ADMIN), 'token in the log');
    assert.equal(await server.stop(), 0, 'SIGTERM is a clean exit');
  });

  test('`npm start` serves; a fresh data directory gets a generated admin token, shown once, mode 0600', async (t) => {
    const dir = tempDir(t);
    const env = { LICENSOR_DATA_DIR: join(dir, 'data') };
    const first = await startServerProcess(t, env, ['npm', 'start', '--silent']);
    const tokenFile = join(dir, 'data/admin-token');
    assert.ok(existsSync(tokenFile));
    assert.equal(statSync(tokenFile).mode & 0o777, 0o600);
    const token = readFileSync(tokenFile, 'utf8').trim();
    assert.match(first.stderr(), new RegExp(token));
    const res = await fetch(`${first.url}/admin/license/licenseStatus`, {
      headers: { authorization: `Bearer ${token}` },
    });
    assert.equal(res.status, 200);
    await first.stop();

    const second = await startServerProcess(t, env);
    assert.ok(!second.stderr().includes(token), 'the token is printed only once');
    assert.equal(readFileSync(tokenFile, 'utf8').trim(), token);
    await second.stop();
  });

  test('bad configuration stops the process with one line naming the variable', async (t) => {
    const dir = tempDir(t);
    const cases: [Record<string, string>, string][] = [
      [{ LICENSOR_PORT: 'eighty' }, 'LICENSOR_PORT'],
      [{ LICENSOR_ACTIVITY_WINDOW_DAYS: '0' }, 'LICENSOR_ACTIVITY_WINDOW_DAYS'],
      [{ DATABASE_URL: 'mysql://x' }, 'DATABASE_URL'],
      [{ LICENSOR_TRUSTED_KEYS: join(dir, 'missing.pub') }, 'LICENSOR_TRUSTED_KEYS'],
      [{ LICENSOR_ADMIN_TOKEN: 'short' }, 'LICENSOR_ADMIN_TOKEN'],
      [{ LICENSOR_BODY_LIMIT_BYTES: '12' }, 'LICENSOR_BODY_LIMIT_BYTES'],
      [{ LICENSOR_LOG_LEVEL: 'loud' }, 'LICENSOR_LOG_LEVEL'],
      [{ LICENSOR_AUTH_FAILURE_LIMIT: 'lots' }, 'LICENSOR_AUTH_FAILURE_LIMIT'],
      [{ LICENSOR_TRUST_PROXY: 'everyone' }, 'LICENSOR_TRUST_PROXY'],
      [{ LICENSOR_TRUST_PROXY: '10.0.0.0/33' }, 'LICENSOR_TRUST_PROXY'],
    ];
    writeFileSync(join(dir, 'private.pem'), '-----BEGIN PRIVATE KEY-----\nxx\n-----END PRIVATE KEY-----\n');
    cases.push([{ LICENSOR_TRUSTED_KEYS: join(dir, 'private.pem') }, 'LICENSOR_TRUSTED_KEYS']);
    for (const [env, variable] of cases) {
      const res = await runCli(['serve'], { env: { LICENSOR_DATA_DIR: join(dir, 'data'), ...env } });
      assert.equal(res.code, 1, JSON.stringify(env));
      const lines = res.stderr.trim().split('\n');
      assert.equal(lines.length, 1, res.stderr);
      assert.match(lines[0]!, new RegExp(variable));
    }
  });

  test('a refusal found while starting (a revoked LICENSOR_ADMIN_TOKEN) is one line and exit 1 too', async (t) => {
    const dir = tempDir(t);
    const env = { LICENSOR_DATA_DIR: join(dir, 'data'), LICENSOR_ADMIN_TOKEN: ADMIN };
    const server = await startServerProcess(t, env);
    const created = await fetch(`${server.url}/admin/tokens`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${ADMIN}` },
      body: JSON.stringify({ name: 'ops', permissions: ['APPLICATION_ADMIN'] }),
    });
    const { secret } = (await created.json()) as { secret: string };
    const revoked = await fetch(`${server.url}/admin/tokens/1`, {
      method: 'DELETE',
      headers: { authorization: `Bearer ${secret}` },
    });
    assert.equal(revoked.status, 200);
    assert.equal(await server.stop(), 0);
    const res = await runCli(['serve'], { env });
    assert.equal(res.code, 1, res.stderr);
    const lines = res.stderr.trim().split('\n');
    assert.equal(lines.length, 1, res.stderr);
    assert.match(lines[0]!, /^licensor: LICENSOR_ADMIN_TOKEN /);
  });

  test('a database written by a newer Licensor, or one that cannot be reached, is one line and exit 1', async (t) => {
    const dir = tempDir(t);
    const env = { LICENSOR_DATA_DIR: join(dir, 'data'), LICENSOR_ADMIN_TOKEN: ADMIN };
    const server = await startServerProcess(t, env);
    assert.equal(await server.stop(), 0);
    const db = new Database(join(dir, 'data', 'licensor.sqlite'));
    db.prepare(
      "INSERT INTO schema_migrations (version, name, applied_at) VALUES (999, 'future', '2030-01-01')",
    ).run();
    db.close();
    for (const [extra, pattern] of [
      [{}, /^licensor: the store: the database schema is version 999, newer than this Licensor knows/],
      [
        { DATABASE_URL: 'postgres://nobody@127.0.0.1:1/none' },
        /^licensor: DATABASE_URL: the database cannot be reached/,
      ],
    ] as const) {
      const res = await runCli(['serve'], { env: { ...env, ...extra } });
      assert.equal(res.code, 1, res.stderr);
      const lines = res.stderr.trim().split('\n');
      assert.equal(lines.length, 1, res.stderr);
      assert.match(lines[0]!, pattern);
    }
  });

  test('SIGTERM finishes in-flight requests, exits 0, and loses no acknowledged write', async (t) => {
    const dir = tempDir(t);
    const { key, pub } = await issuerFiles(dir);
    const env = {
      LICENSOR_DATA_DIR: join(dir, 'data'),
      LICENSOR_TRUSTED_KEYS: pub,
      LICENSOR_ADMIN_TOKEN: ADMIN,
    };
    const server = await startServerProcess(t, env);
    const headers = { 'content-type': 'application/json', authorization: `Bearer ${ADMIN}` };
    const issued = await runCli(['issue', '--key', key, '--seats', '1000']);
    await fetch(`${server.url}/admin/license`, {
      method: 'POST',
      headers,
      body: JSON.stringify({ licenseKey: issued.stdout.trim() }),
    });

    const attempts = Array.from({ length: 60 }, (_, i) =>
      fetch(`${server.url}/admin/users`, {
        method: 'POST',
        headers,
        body: JSON.stringify({ userid: `u${i}`, iamid: 'idp' }),
      }).then(
        (res) => ({ status: res.status, error: null as string | null }),
        (err: Error & { cause?: { code?: string } }) => ({
          status: 0,
          error: err.cause?.code ?? err.message,
        }),
      ),
    );
    // SIGTERM once the writes are arriving: on a loaded machine the 60 fetches can take longer than
    // the drain's quiet period to leave this process, and a server that has seen nothing for that
    // long may rightly close before they connect (that is ECONNREFUSED, not the race under test).
    for (let i = 0; i < 400 && !/"url":"\/admin\/users"/.test(server.stdout()); i++)
      await new Promise((r) => setTimeout(r, 5));
    await new Promise((r) => setTimeout(r, 5));
    const exit = server.stop('SIGTERM');
    // The signal takes a moment to arrive on a busy machine: poll (bounded) until the server says it
    // is draining, which it must do before it stops answering.
    let readiness: { status: number; code?: string } = { status: 0 };
    for (let i = 0; i < 40 && readiness.status !== 503; i++) {
      const res = await fetch(`${server.url}/readyz`);
      readiness = { status: res.status, ...((await res.json()) as { code?: string }) };
      if (readiness.status !== 503) await new Promise((r) => setTimeout(r, 10));
    }
    assert.equal(readiness.status, 503, 'draining: not ready');
    assert.equal(readiness.code, 'SHUTTING_DOWN');
    const results = await Promise.all(attempts);
    assert.equal(await exit, 0, 'a clean exit');
    const acknowledged = results.filter((r) => r.status === 201).length;
    const dropped = results.filter((r) => r.error !== null && r.error !== 'ECONNREFUSED');
    t.diagnostic(
      `60 creates around SIGTERM: ${acknowledged} acknowledged, ${results.filter((r) => r.status === 503).length} answered 503 while closing, ${results.filter((r) => r.error === 'ECONNREFUSED').length} refused at connect`,
    );
    assert.deepEqual(dropped, [], 'no accepted request was cut off');
    for (const r of results) assert.ok([0, 201, 503].includes(r.status), `unexpected status ${r.status}`);

    const again = await startServerProcess(t, env);
    const list = (await (await fetch(`${again.url}/admin/users?size=100`, { headers })).json()) as {
      total: number;
    };
    assert.equal(list.total, acknowledged, 'every acknowledged user is there after a restart, and no other');
    await again.stop();
  });
});
