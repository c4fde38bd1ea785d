import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import type { Page } from 'playwright-core';
import {
  browserUnavailable,
  checkPage,
  launchBrowser,
  screenshot,
  watch,
  type PageProblems,
} from './browser-helpers.js';
import { createIssuer, DAY, type TestIssuer } from '../helpers/issuer.js';
import { startServerProcess, tempDir, type ServerProcess } from '../helpers/process.js';

/**
 * The administrator console in Debian's Chromium, against a real server process: each scenario of
 * the issue, a screenshot of each under test-output/screenshots/, and on every screen no CSP
 * violation, no error, labelled controls and readable contrast.
 */

const ADMIN = 'browser-admin-token-0123456789abcdef';
const skip = browserUnavailable();

/** A JSON answer of the API; the tests check its fields at run time. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = any;

interface Licensor {
  server: ServerProcess;
  url: string;
  issuer: TestIssuer;
  api(method: string, path: string, body?: unknown, token?: string): Promise<{ status: number; body: Json }>;
}

async function startLicensor(t: TestContext): Promise<Licensor> {
  const dir = tempDir(t);
  const issuer = createIssuer();
  const pub = join(dir, 'issuer.pub');
  writeFileSync(pub, issuer.publicKey.export({ type: 'spki', format: 'pem' }));
  const server = await startServerProcess(t, {
    LICENSOR_DATA_DIR: join(dir, 'data'),
    LICENSOR_TRUSTED_KEYS: pub,
    LICENSOR_ADMIN_TOKEN: ADMIN,
    LICENSOR_LOG_LEVEL: 'warn',
  });
  const api: Licensor['api'] = async (method, path, body, token = ADMIN) => {
    const res = await fetch(`${server.url}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${token}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await res.text();
    return { status: res.status, body: text === '' ? undefined : JSON.parse(text) };
  };
  return { server, url: server.url, issuer, api };
}

/** Opens the console signed in (the token typed into the form, as a person would). */
async function signedIn(
  t: TestContext,
  l: Licensor,
  viewport?: { width: number; height: number },
): Promise<{ page: Page; problems: PageProblems }> {
  const context = await launchBrowser(t, viewport);
  const page = context.pages()[0] ?? (await context.newPage());
  const problems = watch(page);
  await page.goto(`${l.url}/console/`);
  await page.getByLabel('Administrator token').fill(ADMIN);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.locator('h1', { hasText: 'Overview' }).waitFor();
  await page.locator('#seat-count').waitFor();
  return { page, problems };
}

async function go(page: Page, name: 'Overview' | 'Licenses' | 'Usage' | 'Audit'): Promise<void> {
  await page.getByRole('navigation', { name: 'Console sections' }).getByRole('link', { name }).click();
  await page.locator('h1', { hasText: name === 'Audit' ? 'Audit log' : name }).waitFor();
  await page.waitForFunction(() => document.getElementById('view')?.getAttribute('aria-busy') === null);
}

async function createUsers(l: Licensor, from: number, count: number): Promise<number> {
  let created = 0;
  for (let i = from; i < from + count; i++) {
    const res = await l.api('POST', '/admin/users', {
      userid: `user-${String(i).padStart(2, '0')}`,
      iamid: 'okta',
      name: `User ${i}`,
      email: `user${i}@example.com`,
    });
    if (res.status === 403) {
      assert.equal(res.body.code, 'SEAT_LIMIT_REACHED');
      break;
    }
    assert.equal(res.status, 201, JSON.stringify(res.body));
    created++;
  }
  return created;
}

function tamper(key: string): string {
  const [header, payload, signature] = key.split('.') as [string, string, string];
  const i = 20;
  return `${header}.${payload}.${signature.slice(0, i)}${signature[i] === 'A' ? 'B' : 'A'}${signature.slice(i + 1)}`;
}

test('the administrator console in Chromium', { skip: skip ?? false, timeout: 300_000 }, async (t) => {
  const l = await startLicensor(t);
  const now = Date.now();
  const mainKey = l.issuer.issue({
    uuid: 'a1b2c3d4-0000-4000-8000-000000000001',
    seats: 10,
    softSeats: 2,
    features: { FPE: { enabled: true }, nativeSqlTeradata: { enabled: true } },
    handlers: { Snowflake: {}, Databricks: {} },
    notice: 'Licensed to ACME Corp. Support: licensing@example.com',
    licensee: { name: 'Ada Lovelace', company: 'ACME Corp' },
    expires: new Date(now + 400 * DAY).toISOString(),
  });

  await t.test(
    'sign in: a wrong token shows its problem detail; the token stays in this tab only',
    async (t) => {
      const context = await launchBrowser(t);
      const page = context.pages()[0] ?? (await context.newPage());
      const problems = watch(page);
      await page.goto(`${l.url}/console`);
      assert.equal(page.url(), `${l.url}/console/`, '"/console" redirects to the page');
      assert.equal(
        await page.evaluate(() => document.activeElement?.id),
        'token',
        'focus starts in the token field',
      );
      assert.equal(await page.getByRole('button', { name: 'Sign out' }).isVisible(), false);
      assert.equal(await page.getByRole('navigation', { name: 'Console sections' }).isVisible(), false);
      await page.keyboard.type('lsr_not-the-right-token-0123456789');
      await page.keyboard.press('Enter');
      await page.locator('#sign-in-message', { hasText: 'the token is unknown or revoked' }).waitFor();
      await checkPage(page, problems, 'sign-in refused');
      await screenshot(page, 'sign-in-refused');

      // A token without APPLICATION_ADMIN is refused with the server's words.
      const host = await l.api('POST', '/admin/tokens', {
        name: 'host product',
        permissions: ['USER_ADMIN'],
      });
      await page.getByLabel('Administrator token').fill(host.body.secret);
      await page.getByRole('button', { name: 'Sign in' }).click();
      await page
        .locator('#sign-in-message', { hasText: 'this token lacks the APPLICATION_ADMIN permission' })
        .waitFor();

      await page.getByLabel('Administrator token').fill(ADMIN);
      await page.keyboard.press('Enter');
      await page.locator('#license-state', { hasText: 'No license' }).waitFor();
      assert.equal(await page.locator('#seat-count').innerText(), '0 of 0 seats used');
      assert.equal(await page.evaluate(() => document.cookie), '', 'no cookies');
      assert.equal(await page.evaluate(() => sessionStorage.getItem('licensor.console.token')), ADMIN);
      assert.equal(await page.evaluate(() => localStorage.length), 0);
      await checkPage(page, problems, 'overview, no license');
      await screenshot(page, 'overview-empty');

      // A reload keeps the session; signing out forgets the token.
      await page.reload();
      await page.locator('#seat-count').waitFor();
      await page.getByRole('button', { name: 'Sign out' }).click();
      await page.getByLabel('Administrator token').waitFor();
      assert.equal(await page.evaluate(() => sessionStorage.length), 0);
    },
  );

  await t.test('add a license through the dry-run preview, and watch the gauge change', async (t) => {
    const { page, problems } = await signedIn(t, l);
    assert.equal(await page.locator('svg.gauge').getAttribute('data-seats'), '0');
    await go(page, 'Licenses');
    assert.equal(
      await page.evaluate(() => document.activeElement?.tagName),
      'H1',
      'focus moves to the screen',
    );
    await page.getByLabel('License key').fill(mainKey);
    await page.getByRole('button', { name: 'Preview' }).click();
    const preview = page.locator('#preview');
    await preview.locator('#preview-title').waitFor();
    assert.equal(
      await page.evaluate(() => document.activeElement?.id),
      'preview-title',
      'focus moves to the preview',
    );
    const text = await preview.innerText();
    assert.match(
      text,
      /For ACME Corp, Ada Lovelace · 10 seats \+ 2 soft · expires \d{4}-\d{2}-\d{2} \(in 13 months\)/,
    );
    assert.match(text, /Seats \(hard \+ soft\)\s+0 \(0 \+ 0\)\s+12 \(10 \+ 2\)/);
    assert.match(text, /Features gained\s+FPE\s+nativeSqlTeradata/);
    assert.match(text, /Handlers gained\s+Databricks\s+Snowflake/);
    assert.deepEqual((await l.api('GET', '/admin/license')).body, [], 'the preview stored nothing');
    await checkPage(page, problems, 'preview');
    await screenshot(page, 'license-preview');

    // Escape leaves the preview and returns to the key; Preview again, then confirm.
    await page.keyboard.press('Escape');
    assert.equal(await preview.isHidden(), true);
    assert.equal(await page.evaluate(() => document.activeElement?.id), 'license-key');
    await page.getByRole('button', { name: 'Preview' }).click();
    await page.getByRole('button', { name: 'Add license' }).click();
    await page.locator('#flash', { hasText: 'Added license 1 (10 seats + 2 soft).' }).waitFor();
    assert.equal(await page.evaluate(() => document.activeElement?.id), 'flash');
    const row = page.locator('tr[data-license-id="1"]');
    assert.match(await row.innerText(), /a1b2c3d4-0000-4000-8000-000000000001/);
    assert.match(await row.innerText(), /ACME Corp, Ada Lovelace/);
    assert.match(await row.innerText(), /in 13 months/);
    assert.match(await row.innerText(), /active/);
    assert.equal(await page.getByLabel('License key').inputValue(), '');
    await checkPage(page, problems, 'licenses');
    await screenshot(page, 'licenses-added');

    await go(page, 'Overview');
    assert.equal(await page.locator('#seat-count').innerText(), '0 of 12 seats used');
    const instance = (await (await fetch(`${l.url}/.well-known/jwks.json`)).json()) as { keys: unknown[] };
    assert.equal(instance.keys.length, 1);
    assert.match(await page.locator('#instance-id').innerText(), /^Instance [0-9a-f-]{36} /);
    assert.equal(await page.locator('svg.gauge').getAttribute('data-seats'), '12');
    assert.equal(await page.locator('#license-state').innerText(), 'Active');
    const overview = await page.locator('main').innerText();
    assert.match(overview, /Licensed to ACME Corp\. Support: licensing@example\.com/);
    assert.match(overview, /Enabled features\s+FPE\s+nativeSqlTeradata/);
    assert.match(overview, /Data handlers\s+Databricks\s+Snowflake/);
    await checkPage(page, problems, 'overview, licensed');
    await screenshot(page, 'overview-licensed');
  });

  await t.test('register users until the limit, and see the seats full', async (t) => {
    assert.equal(await createUsers(l, 1, 5), 5);
    const { page, problems } = await signedIn(t, l);
    assert.equal(await page.locator('#seat-count').innerText(), '5 of 12 seats used');
    assert.equal(await page.locator('svg.gauge').getAttribute('data-used'), '5');
    assert.equal(await page.locator('#seat-words').innerText(), '7 seats free.');

    assert.equal(await createUsers(l, 6, 20), 7, 'the host product fills the 12 seats');
    await page.reload();
    await page.locator('#seat-count').waitFor();
    assert.equal(await page.locator('#seat-count').innerText(), '12 of 12 seats used');
    assert.equal(
      await page.locator('#seat-words').innerText(),
      'All seats are taken: new users cannot be added.',
    );
    assert.match((await page.locator('svg.gauge .g-used').getAttribute('class')) ?? '', /tone-bad/);
    assert.match(await page.locator('main').innerText(), /Overage \(true-up\)\s+2 users/);
    await checkPage(page, problems, 'overview, full');
    await screenshot(page, 'overview-full');
  });

  await t.test('usage: users with paging and search, daily active users against seats', async (t) => {
    const { page, problems } = await signedIn(t, l);
    await go(page, 'Usage');
    assert.equal(await page.locator('#active-now').innerText(), '12');
    assert.equal(await page.locator('svg.chart').count(), 1);
    assert.ok((await page.locator('svg.chart rect.c-bar').count()) >= 1, 'today has a bar');
    assert.match((await page.locator('svg.chart').getAttribute('aria-label')) ?? '', /12 active of 12 seats/);
    const users = page.locator('#users');
    await users.getByText('Showing 1–10 of 12 users').waitFor();
    assert.equal(await users.locator('tbody tr').count(), 10);
    await checkPage(page, problems, 'usage');
    await screenshot(page, 'usage');

    // The signed report, saved as a file: a compact JWS of a usage report.
    const download = page.waitForEvent('download');
    await page.getByRole('button', { name: 'Export signed report' }).click();
    const saved = await download;
    assert.equal(saved.suggestedFilename(), 'usage-report.jws');
    const jws = readFileSync(await saved.path(), 'utf8').trim();
    const [header] = jws.split('.') as [string];
    assert.equal(JSON.parse(Buffer.from(header, 'base64url').toString('utf8')).typ, 'usage-report+jws');
    await page.locator('#report-status', { hasText: 'Saved usage-report.jws' }).waitFor();

    await users.getByRole('button', { name: 'Next' }).click();
    await users.getByText('Showing 11–12 of 12 users').waitFor();
    assert.equal(await users.locator('tbody tr').count(), 2);
    assert.equal(
      await page.evaluate(() => document.activeElement?.textContent),
      'Previous',
      'focus stays on the pager when Next is no longer possible',
    );
    await page.getByLabel('Search users').fill('user-07');
    await users.getByText('Showing 1–1 of 1 users').waitFor();
    assert.match(await users.locator('tbody').innerText(), /user-07\s+okta\s+User 7\s+user7@example\.com/);
    await page.getByLabel('Search users').fill('nobody-like-this');
    await users.getByText('No user matches “nobody-like-this”.').waitFor();
    await page.getByLabel('Search users').fill('');
    await page.getByLabel('Show').selectOption('false');
    await users.getByText('No users.').waitFor();
    await checkPage(page, problems, 'usage, filtered');
  });

  await t.test('a tampered key is refused with its message, and nothing is offered to add', async (t) => {
    const { page, problems } = await signedIn(t, l);
    await go(page, 'Licenses');
    await page.getByLabel('License key').fill(tamper(l.issuer.issue({ seats: 500 })));
    await page.getByRole('button', { name: 'Preview' }).click();
    const refusal = page.locator('#preview .refusal');
    await refusal.waitFor();
    assert.match(await refusal.innerText(), /Would be refused\s+the signature does not verify/);
    assert.match(await refusal.innerText(), /Code INVALID_SIGNATURE\. Nothing was stored\./);
    assert.equal(await page.getByRole('button', { name: 'Add license' }).count(), 0);
    await checkPage(page, problems, 'refused key');
    await screenshot(page, 'license-refused');

    // The same key twice: the re-add rule, in the server's words.
    await page.getByRole('button', { name: 'Back to the key' }).click();
    await page.getByLabel('License key').fill(mainKey);
    await page.getByRole('button', { name: 'Preview' }).click();
    await refusal.waitFor();
    assert.match(await refusal.innerText(), /is already added \(id 1\)/);
    // Not a key at all, dropped as a file.
    await page.locator('#license-file').setInputFiles({
      name: 'license.txt',
      mimeType: 'text/plain',
      buffer: Buffer.from('not a license key\n'),
    });
    await page.locator('#preview .refusal', { hasText: 'Code MALFORMED_LICENSE_KEY' }).waitFor();
    await checkPage(page, problems, 'malformed key');
  });

  await t.test('a key file dropped on the form is previewed', async (t) => {
    const { page, problems } = await signedIn(t, l);
    await go(page, 'Licenses');
    const key = l.issuer.issue({
      seats: 3,
      hardDelete: true,
      features: { externalCatalog: { enabled: true } },
    });
    // A real drop: a DataTransfer with the file, dispatched on the drop zone.
    const transfer = await page.evaluateHandle((text) => {
      const data = new DataTransfer();
      data.items.add(new File([text], 'customer.jwt', { type: 'text/plain' }));
      return data;
    }, `${key}\n`);
    await page.dispatchEvent('#dropzone', 'dragenter', { dataTransfer: transfer });
    await page.dispatchEvent('#dropzone', 'drop', { dataTransfer: transfer });
    await page.locator('#preview-title').waitFor();
    assert.equal(await page.getByLabel('License key').inputValue(), key);
    assert.match(await page.locator('#preview').innerText(), /Features gained\s+externalCatalog/);
    await page.getByRole('button', { name: 'Add license' }).click();
    await page.locator('#flash', { hasText: 'Added license 2' }).waitFor();
    await checkPage(page, problems, 'dropped key added');
  });

  await t.test(
    'delete: the confirmation states the consequences; Escape cancels; hardDelete warns',
    async (t) => {
      const { page, problems } = await signedIn(t, l);
      await go(page, 'Licenses');
      // Keyboard only: the delete button of license 1, Enter, the dialog with focus on Cancel.
      const deleteOne = page.getByRole('button', { name: 'Delete license 1' });
      await deleteOne.focus();
      await page.keyboard.press('Enter');
      const dialog = page.getByRole('dialog', { name: 'Delete license 1?' });
      await dialog.waitFor();
      assert.equal(await page.evaluate(() => document.activeElement?.textContent), 'Cancel');
      const text = await dialog.innerText();
      assert.match(text, /Seats \(hard \+ soft\)\s+15 \(13 \+ 2\)\s+3 \(3 \+ 0\)/);
      assert.match(text, /9 active users would be over the limit afterwards/);
      assert.match(text, /Features lost\s+FPE\s+nativeSqlTeradata/);
      assert.match(text, /Handlers lost\s+Databricks\s+Snowflake/);
      assert.match(text, /The same key can be added again later\./);
      await checkPage(page, problems, 'delete dialog');
      await screenshot(page, 'delete-dialog', { fullPage: false });
      await page.keyboard.press('Escape');
      await dialog.waitFor({ state: 'detached' });
      assert.equal(
        await page.evaluate(() => document.activeElement?.getAttribute('aria-label')),
        'Delete license 1',
      );
      assert.equal((await l.api('GET', '/admin/license')).body.length, 2, 'cancelled: nothing deleted');

      // License 2 has hardDelete: the dialog says its key can never come back.
      await page.getByRole('button', { name: 'Delete license 2' }).click();
      const hard = page.getByRole('dialog', { name: 'Delete license 2?' });
      await hard.waitFor();
      assert.match(
        await hard.locator('#hard-delete-warning').innerText(),
        /This key can never be added again\. It has hardDelete/,
      );
      assert.match(await hard.innerText(), /Features lost\s+externalCatalog/);
      await screenshot(page, 'delete-dialog-hard-delete', { fullPage: false });
      await hard.getByRole('button', { name: 'Cancel' }).click();
      await hard.waitFor({ state: 'detached' });

      // Delete license 1 for real.
      await deleteOne.click();
      await dialog.getByRole('button', { name: 'Delete license 1' }).click();
      await page.locator('#flash', { hasText: 'Deleted license 1.' }).waitFor();
      assert.equal(await page.locator('tr[data-license-id="1"]').count(), 0);
      assert.equal(await page.locator('tr[data-license-id="2"]').count(), 1);
      await checkPage(page, problems, 'after delete');

      await go(page, 'Overview');
      assert.equal(await page.locator('#seat-count').innerText(), '12 of 3 seats used');
      assert.equal(
        await page.locator('#seat-words').innerText(),
        '9 over the limit: 12 active users for 3 seats.',
      );
      await checkPage(page, problems, 'overview, over the limit');
      await screenshot(page, 'overview-over-limit');
    },
  );

  await t.test('audit: the log newest first, with paging', async (t) => {
    // A host product still trying to register users: refused, and audited (more than a page).
    const count = async () => (await l.api('GET', '/admin/audit?size=1')).body.total as number;
    for (let i = 30; (await count()) <= 25; i++) assert.equal(await createUsers(l, i, 1), 0);
    const { page, problems } = await signedIn(t, l);
    await go(page, 'Audit');
    const audit = page.locator('#audit');
    const first = audit.locator('tbody tr').first();
    assert.match(await first.innerText(), /user\.create[\s\S]*refused\s+SEAT_LIMIT_REACHED/);
    assert.match(await audit.innerText(), /license\.delete\s+license:1 \(Ada Lovelace\)\s+success/);
    const total = (await l.api('GET', '/admin/audit?size=1')).body.total as number;
    assert.ok(total > 20, `${total} entries`);
    await audit.getByText(`Showing 1–20 of ${total} entries`).waitFor();
    assert.match(await audit.innerText(), /refused\s+SEAT_LIMIT_REACHED/);
    await checkPage(page, problems, 'audit');
    await screenshot(page, 'audit');
    await audit.getByRole('button', { name: 'Next' }).click();
    await audit.getByText(`Showing 21–${Math.min(40, total)} of ${total} entries`).waitFor();
    // The oldest entry is the first change: the refused sign-in of the first test is not an entry
    // but a count of failed authentications (docs/audit.md).
    while (await audit.getByRole('button', { name: 'Next' }).isEnabled())
      await audit.getByRole('button', { name: 'Next' }).click();
    await audit.getByText(`of ${total} entries`).waitFor();
    assert.doesNotMatch(await audit.innerText(), /UNAUTHORIZED/);
    const failures = (await l.api('GET', '/admin/audit/auth-failures')).body as { total: number };
    assert.ok(failures.total >= 1, 'the refused sign-in is counted');
    await checkPage(page, problems, 'audit, last page');
  });

  await t.test('at 390 px wide: no sideways scrolling, every screen readable', async (t) => {
    const { page, problems } = await signedIn(t, l, { width: 390, height: 844 });
    const fits = () => page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth);
    assert.ok(await fits(), 'overview fits');
    await checkPage(page, problems, 'narrow overview');
    await screenshot(page, 'narrow-overview');
    for (const [name, shot] of [
      ['Licenses', 'narrow-licenses'],
      ['Usage', 'narrow-usage'],
      ['Audit', 'narrow-audit'],
    ] as const) {
      await go(page, name);
      assert.ok(await fits(), `${name} fits`);
      await checkPage(page, problems, `narrow ${name}`);
      await screenshot(page, shot);
    }
    await go(page, 'Licenses');
    await page.getByLabel('License key').fill(l.issuer.issue({ seats: 7, supersedes: [] }));
    await page.getByRole('button', { name: 'Preview' }).click();
    await page.locator('#preview-title').waitFor();
    assert.ok(await fits(), 'the preview fits');
    await screenshot(page, 'narrow-preview');
    await page.getByRole('button', { name: 'Delete license 2' }).click();
    await page.getByRole('dialog').waitFor();
    assert.ok(await fits(), 'the dialog fits');
    await checkPage(page, problems, 'narrow dialog');
    await screenshot(page, 'narrow-delete-dialog', { fullPage: false });
  });
});

test(
  'license states in words: expires soon, data access blocked, expired',
  { skip: skip ?? false, timeout: 120_000 },
  async (t) => {
    const l = await startLicensor(t);
    const soon = l.issuer.issue({
      seats: 5,
      // Long enough for a sign-in on a loaded machine; the wait below polls, it does not sleep it out.
      expires: new Date(Date.now() + 20_000).toISOString(),
      hardExpiration: true,
      // Text from a key is shown as text: markup in it is not obeyed.
      noticeOnExpire: 'Your license has expired: call ACME licensing. <img src=x onerror="document.title=1">',
    });
    assert.equal((await l.api('POST', '/admin/license', { licenseKey: soon })).status, 200);
    const { page, problems } = await signedIn(t, l);
    assert.equal(await page.locator('#license-state').innerText(), 'Expires in less than a minute');
    assert.match((await page.locator('#license-state .badge').getAttribute('class')) ?? '', /tone-warn/);
    await checkPage(page, problems, 'expires soon');
    await screenshot(page, 'state-expires-soon');

    while (!(await l.api('GET', '/admin/license/licenseStatus')).body.dataAccessBlocked)
      await new Promise((resolve) => setTimeout(resolve, 250));
    await page.reload();
    await page.locator('#seat-count').waitFor();
    assert.equal(await page.locator('#license-state').innerText(), 'Data access blocked');
    assert.match((await page.locator('#license-state .badge').getAttribute('class')) ?? '', /tone-bad/);
    assert.match(
      await page.locator('main').innerText(),
      /Expired: Your license has expired: call ACME licensing\. <img src=x onerror="document\.title=1">/,
    );
    assert.equal(await page.locator('main img').count(), 0);
    await checkPage(page, problems, 'data access blocked');
    await screenshot(page, 'state-data-access-blocked');

    // The same without hardExpiration is merely expired; a later license is "expires in N days".
    assert.equal((await l.api('DELETE', '/admin/license/1')).status, 200);
    const expiring = l.issuer.issue({ seats: 5, expires: new Date(Date.now() + 3000).toISOString() });
    assert.equal((await l.api('POST', '/admin/license', { licenseKey: expiring })).status, 200);
    await new Promise((resolve) => setTimeout(resolve, 3500));
    await page.reload();
    await page.locator('#seat-count').waitFor();
    assert.equal(await page.locator('#license-state').innerText(), 'Expired');
    await screenshot(page, 'state-expired');
    const twelveDays = l.issuer.issue({
      seats: 5,
      expires: new Date(Date.now() + 12 * DAY + 60_000).toISOString(),
    });
    assert.equal((await l.api('POST', '/admin/license', { licenseKey: twelveDays })).status, 200);
    await page.reload();
    await page.locator('#seat-count').waitFor();
    assert.equal(await page.locator('#license-state').innerText(), 'Expires in 12 days');
    await checkPage(page, problems, 'expires in 12 days');
  },
);

test(
  'errors show the problem detail: a token revoked while signed in signs out with its reason',
  { skip: skip ?? false, timeout: 60_000 },
  async (t) => {
    const l = await startLicensor(t);
    const created = await l.api('POST', '/admin/tokens', {
      name: 'console',
      permissions: ['APPLICATION_ADMIN'],
    });
    const context = await launchBrowser(t);
    const page = context.pages()[0] ?? (await context.newPage());
    const problems = watch(page);
    await page.goto(`${l.url}/console/`);
    await page.getByLabel('Administrator token').fill(created.body.secret);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.locator('#seat-count').waitFor();

    // A refusal inside a screen: the banner shows the detail.
    await go(page, 'Licenses');
    await page.getByRole('button', { name: 'Preview' }).click();
    await page
      .locator('#error', { hasText: 'Error: Paste a license key, or drop its file, first.' })
      .waitFor();

    assert.equal((await l.api('DELETE', `/admin/tokens/${created.body.id}`)).status, 200);
    await page
      .getByRole('navigation', { name: 'Console sections' })
      .getByRole('link', { name: 'Usage' })
      .click();
    await page
      .locator('#sign-in-message', { hasText: 'Signed out: the token is unknown or revoked' })
      .waitFor();
    await checkPage(page, problems, 'signed out');
    await screenshot(page, 'signed-out-revoked');

    // The server gone: a sentence, not a stack.
    await page.getByLabel('Administrator token').fill(ADMIN);
    await l.server.stop();
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page
      .locator('#sign-in-message', { hasText: /^The server cannot be reached \(.+\)\. Try again\.$/ })
      .waitFor();
  },
);
