import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DAY } from '../helpers/issuer.js';
import type { CliResult } from '../helpers/process.js';
import {
  ADMIN,
  addKeyDirect,
  apiGet,
  assertUsage,
  okJson,
  startLicensor,
  type Licensor,
} from './cli-helpers.js';

/** One line on stdout, nothing on stderr, and the monitoring-plugins exit code. */
function assertCheck(res: CliResult, code: number, state: string, pattern?: RegExp): string {
  const show = `exit ${res.code}\nstdout: ${res.stdout}\nstderr: ${res.stderr}`;
  assert.equal(res.code, code, show);
  assert.equal(res.stderr, '', show);
  assert.equal(res.stdout.split('\n').length, 2, `one line:\n${show}`);
  assert.match(res.stdout, new RegExp(`^LICENSOR ${state} - `), show);
  if (pattern) assert.match(res.stdout, pattern, show);
  return res.stdout;
}

async function addUsers(l: Licensor, count: number, prefix: string): Promise<void> {
  for (let i = 0; i < count; i++) {
    const res = await fetch(`${l.url}/admin/users`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${ADMIN}` },
      body: JSON.stringify({ userid: `${prefix}${i}`, iamid: 'okta' }),
    });
    assert.equal(res.status, 201, await res.text());
  }
}

test('status --check: OK, WARNING, CRITICAL and UNKNOWN, with exit codes 0 to 3', async (t) => {
  const l = await startLicensor(t);

  await t.test('no active license: WARNING', async () => {
    assertCheck(await l.run(['status', '--check']), 1, 'WARNING', /no active license/);
  });

  const first = await addKeyDirect(l, {
    seats: 5,
    softSeats: 0,
    expires: new Date(Date.now() + 100 * DAY).toISOString(),
  });
  await addKeyDirect(l, { seats: 5, softSeats: 0, expires: null });
  await addUsers(l, 3, 'u');

  await t.test('OK: 3 of 10 seats, the expiry 100 days away; perfdata after |', async () => {
    const line = assertCheck(await l.run(['status', '--check']), 0, 'OK');
    assert.match(
      line,
      /^LICENSOR OK - 3 of 10 seats used, next expiry \d{4}-\d{2}-\d{2}.* \| active_users=3;9;10;0 license_seats=10\n$/,
    );
    // --warn-days moves the threshold: 100 days away is within 120.
    assertCheck(
      await l.run(['status', '--check', '--warn-days', '120']),
      1,
      'WARNING',
      /a license expires .* \(in 100 days\)/,
    );
    assertCheck(await l.run(['status', '--check', '--warn-days', '99']), 0, 'OK');
  });

  await t.test('WARNING: seats at 90 % or more', async () => {
    await addUsers(l, 6, 'v');
    assertCheck(await l.run(['status', '--check']), 1, 'WARNING', /9 of 10 seats used \(90 %\)/);
  });

  await t.test('CRITICAL: more active users than license seats', async () => {
    await addUsers(l, 1, 'w');
    assertCheck(await l.run(['status', '--check']), 1, 'WARNING', /10 of 10 seats used \(100 %\)/);
    assert.equal(okJson(await l.run(['delete', String(first.id), '--json'])).deleted, true);
    assertCheck(await l.run(['status', '--check']), 2, 'CRITICAL', /10 active users over 5 license seats/);
  });

  await t.test('UNKNOWN: the server cannot be reached, or refuses the token; a bad --warn-days', async () => {
    assertCheck(
      await l.run(['status', '--check'], { env: { LICENSOR_URL: 'http://127.0.0.1:9' } }),
      3,
      'UNKNOWN',
      /cannot reach http:\/\/127\.0\.0\.1:9/,
    );
    assertCheck(
      await l.run(['status', '--check'], { env: { LICENSOR_TOKEN: 'not-the-token-0123456789' } }),
      3,
      'UNKNOWN',
      /UNAUTHORIZED/,
    );
    assertCheck(await l.run(['status', '--check', '--warn-days', 'soon']), 3, 'UNKNOWN', /--warn-days/);
    assertUsage(await l.run(['status', '--warn-days', '3']), /--warn-days goes with --check/);
  });
});

test('status --check: CRITICAL when data access is blocked by an expired hardExpiration license', async (t) => {
  const l = await startLicensor(t);
  const expires = new Date(Date.now() + 1500);
  await addKeyDirect(l, { seats: 5, hardExpiration: true, expires: expires.toISOString() });
  // Waits for the key to expire by the server's clock (it reads the status, never compares times).
  for (let i = 0; i < 100 && !(await apiGet(l, '/admin/license/licenseStatus')).dataAccessBlocked; i++)
    await new Promise((resolve) => setTimeout(resolve, 100));
  assertCheck(await l.run(['status', '--check']), 2, 'CRITICAL', /DATA ACCESS BLOCKED/);
});

test('without --url and LICENSOR_URL, the CLI finds the server at LICENSOR_HOST and LICENSOR_PORT', async (t) => {
  const l = await startLicensor(t);
  const { port } = new URL(l.url);
  const env = { LICENSOR_URL: '', LICENSOR_PORT: port };
  assert.deepEqual(
    okJson(await l.run(['status', '--json'], { env })),
    await apiGet(l, '/admin/license/licenseStatus'),
  );
  // A server listening on every address is reached at the loopback address.
  assert.equal(
    okJson(await l.run(['list', '--json'], { env: { ...env, LICENSOR_HOST: '0.0.0.0' } })).length,
    0,
  );
  // LICENSOR_URL and --url still win.
  assert.equal(
    (await l.run(['status'], { env: { LICENSOR_URL: 'http://127.0.0.1:9', LICENSOR_PORT: port } })).code,
    1,
  );
  assertUsage(
    await l.run(['status'], { env: { LICENSOR_URL: '', LICENSOR_PORT: 'eighty' } }),
    /LICENSOR_PORT must be a port/,
  );
});
