import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import type { Page } from 'playwright-core';
import { verifyLicenseKey } from '../../src/keys/license-jws.js';
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.js';
import type { ChangeContext } from '../../src/store/store.js';
import {
  browserUnavailable,
  checkPage,
  launchBrowser,
  screenshot,
  SCREENSHOTS,
  watch,
  type PageProblems,
} from './browser-helpers.js';
import { createIssuer, DAY, type TestIssuer } from '../helpers/issuer.js';
import { startServerProcess, tempDir } from '../helpers/process.js';

/**
 * The console's administration screens in Debian's Chromium, against a real server process:
 * users (disable, bulk-disable with its preview, export), tokens (create with the secret shown
 * once, revoke), the audit log (filters, names next to ids, export), and no sideways scrolling at
 * 390 px on every screen and on /docs. Screenshots go to test-output/screenshots/.
 */

const ADMIN = 'browser-admin-token-0123456789abcdef';
const skip = browserUnavailable();

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = any;

interface Licensor {
  url: string;
  issuer: TestIssuer;
  api(method: string, path: string, body?: unknown, token?: string): Promise<{ status: number; body: Json }>;
}

/**
 * A server whose database already holds users last active long ago: written through the store with
 * a clock in the past (the server has no such clock), before the server starts on the same file.
 */
async function startLicensor(t: TestContext): Promise<Licensor> {
  const dir = tempDir(t);
  const issuer = createIssuer();
  const pub = join(dir, 'issuer.pub');
  writeFileSync(pub, issuer.publicKey.export({ type: 'spki', format: 'pem' }));
  const dataDir = join(dir, 'data');
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const store = SqliteStore.open({ filename: join(dataDir, 'licensor.sqlite'), activityWindowDays: 365 });
  const actor = { tokenId: null, tokenName: null, clientAddress: 'local' };
  const at = (daysAgo: number): ChangeContext => ({
    clock: { now: () => new Date(Date.now() - daysAgo * DAY) },
    actor,
  });
  const licenseKey = issuer.issue(
    {
      seats: 10,
      licensee: { name: 'ACME Corp' },
      expires: new Date(Date.now() + 400 * DAY).toISOString(),
    },
    new Date(Date.now() - 200 * DAY),
  );
  const verified = verifyLicenseKey(licenseKey, issuer.ring);
  await store.addLicense({ licenseKey, payload: verified.payload, claims: verified.claims }, at(200));
  for (const [userid, name, daysAgo] of [
    ['stale-ada', 'Ada Lovelace', 120],
    ['stale-bob', 'Bob', 60],
    ['grace', 'Grace Hopper', 0],
    ['linus', null, 0],
  ] as const)
    await store.createUser(
      { userid, iamid: 'okta', name, email: `${userid}@example.com`, userType: 'dataConsumer' },
      at(daysAgo),
    );
  await store.close();

  const server = await startServerProcess(t, {
    LICENSOR_DATA_DIR: dataDir,
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
  return { url: server.url, issuer, api };
}

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

const SCREENS = {
  Overview: 'Overview',
  Licenses: 'Licenses',
  Usage: 'Usage',
  Users: 'Users',
  Tokens: 'Tokens',
  Audit: 'Audit log',
} as const;

async function go(page: Page, name: keyof typeof SCREENS): Promise<void> {
  await page
    .getByRole('navigation', { name: 'Console sections' })
    .getByRole('link', { name, exact: true })
    .click();
  await page.locator('h1', { hasText: SCREENS[name] }).waitFor();
  await idle(page);
}

async function idle(page: Page): Promise<void> {
  await page.waitForFunction(() => document.getElementById('view')?.getAttribute('aria-busy') === null);
}

/** Rows of the table in `box`, each as its cells' text joined by " | ". */
async function rows(page: Page, box: string): Promise<string[]> {
  return page.locator(`${box} tbody tr`).evaluateAll((trs) =>
    trs.map((tr) =>
      Array.from(tr.querySelectorAll('td'))
        .map((td) => (td.textContent ?? '').trim())
        .join(' | '),
    ),
  );
}

async function downloaded(page: Page, click: () => Promise<void>): Promise<{ name: string; text: string }> {
  const [download] = await Promise.all([page.waitForEvent('download'), click()]);
  const path = await download.path();
  return { name: download.suggestedFilename(), text: readFileSync(path, 'utf8') };
}

/**
 * Whether the page fits `width`: the document scrolls no wider, and no visible element reaches
 * past either edge (elements the page hides on purpose, off-screen or clipped to nothing, aside).
 */
async function overflow(page: Page, width: number): Promise<{ scrollWidth: number; wide: string[] }> {
  return page.evaluate((limit) => {
    const wide: string[] = [];
    for (const el of Array.from(document.querySelectorAll<HTMLElement>('body *'))) {
      if (
        el.closest('.visually-hidden, .skip-link, [hidden], head, script, style, option, datalist') !== null
      )
        continue;
      const style = getComputedStyle(el);
      if (style.display === 'none' || style.visibility === 'hidden') continue;
      // Inside something clipped to nothing on purpose (a table head kept for screen readers).
      let clipped = false;
      for (let node: HTMLElement | null = el; node !== null; node = node.parentElement) {
        const s = getComputedStyle(node);
        if (s.position === 'absolute' && s.clip !== 'auto') clipped = true;
      }
      if (clipped) continue;
      const rect = el.getBoundingClientRect();
      if (rect.width === 0 || rect.height === 0) continue;
      if (rect.right > limit + 0.5 || rect.left < -0.5 || rect.width > limit + 0.5) {
        const name = `${el.tagName.toLowerCase()}${el.id === '' ? '' : `#${el.id}`}${el.className === '' || typeof el.className !== 'string' ? '' : `.${el.className.split(' ').join('.')}`}`;
        wide.push(
          `${name} [${Math.round(rect.left)}, ${Math.round(rect.right)}]: ${(el.textContent ?? '').trim().slice(0, 40)}`,
        );
      }
    }
    return { scrollWidth: document.documentElement.scrollWidth, wide: wide.slice(0, 10) };
  }, width);
}

async function assertFits(page: Page, where: string): Promise<void> {
  const { scrollWidth, wide } = await overflow(page, 390);
  assert.ok(scrollWidth <= 390, `${where}: the page is ${scrollWidth} px wide`);
  assert.deepEqual(wide, [], `${where}: elements wider than the screen`);
}

test(
  'the console administers users, tokens and the audit log',
  { skip: skip ?? false, timeout: 300_000 },
  async (t) => {
    const l = await startLicensor(t);

    await t.test('users: search, filter, disable one after a confirmation, export CSV', async (t) => {
      const { page, problems } = await signedIn(t, l);
      await go(page, 'Users');
      assert.deepEqual(
        (await rows(page, '#users-table')).map((r) => r.split(' | ')[1]),
        ['stale-ada', 'stale-bob', 'grace', 'linus'],
      );
      await page.getByLabel('Search by user ID, name or email').fill('hopper');
      await page.waitForFunction(() => document.querySelectorAll('#users-table tbody tr').length === 1);
      assert.match((await rows(page, '#users-table'))[0]!, /grace \| Grace Hopper/);
      await page.getByLabel('Search by user ID, name or email').fill('');
      await page.waitForFunction(() => document.querySelectorAll('#users-table tbody tr').length === 4);
      await checkPage(page, problems, 'users');
      await screenshot(page, 'admin-users');

      // Disable grace: a confirmation first; Cancel changes nothing.
      await page.getByRole('button', { name: 'Disable grace' }).click();
      const dialog = page.getByRole('dialog', { name: 'Disable grace?' });
      await dialog.waitFor();
      assert.match(await dialog.innerText(), /holds a seat now; disabling frees it/);
      await checkPage(page, problems, 'disable dialog');
      await screenshot(page, 'admin-users-disable-dialog', { fullPage: false });
      await dialog.getByRole('button', { name: 'Cancel' }).click();
      assert.equal((await l.api('GET', '/admin/users?disabled=true')).body.total, 0);
      await page.getByRole('button', { name: 'Disable grace' }).click();
      await dialog.getByRole('button', { name: 'Disable' }).click();
      await page.locator('#flash', { hasText: 'grace is disabled.' }).waitFor();
      const disabled = (await l.api('GET', '/admin/users?disabled=true')).body;
      assert.deepEqual(
        disabled.users.map((u: Json) => u.userid),
        ['grace'],
      );
      assert.match((await rows(page, '#users-table'))[2]!, /grace .*\| disabled \| Enable/);

      // The filter shows the disabled user alone; the export holds what the filter shows.
      await page.getByLabel('Show').selectOption('disabled');
      await page.waitForFunction(() => document.querySelectorAll('#users-table tbody tr').length === 1);
      const csv = await downloaded(page, () => page.getByRole('button', { name: 'Export CSV' }).click());
      assert.match(csv.name, /^licensor-users-\d{4}-\d{2}-\d{2}\.csv$/);
      const lines = csv.text.trimEnd().split('\r\n');
      assert.equal(
        lines[0],
        '"id","userid","iamid","name","email","userType","status","lastActivityAt","createdAt"',
      );
      assert.equal(lines.length, 2);
      assert.match(
        lines[1]!,
        /^"3","grace","okta","Grace Hopper","grace@example.com","dataConsumer","disabled",/,
      );

      // Enable it again (a confirmation too), so the next scenario starts from a known state.
      await page.getByRole('button', { name: 'Enable grace' }).click();
      await page
        .getByRole('dialog', { name: 'Enable grace?' })
        .getByRole('button', { name: 'Enable' })
        .click();
      await page.locator('#flash', { hasText: 'grace is enabled.' }).waitFor();
      assert.equal((await l.api('GET', '/admin/users?disabled=true')).body.total, 0);
      await checkPage(page, problems, 'users after enable');
    });

    await t.test('users: bulk-disable the inactive, after a preview of the seats it frees', async (t) => {
      const { page, problems } = await signedIn(t, l);
      const before = (await l.api('GET', '/admin/license/licenseStatus')).body.activeUserCount;
      assert.equal(before, 4);
      await go(page, 'Users');
      await page.getByLabel('Inactive for more than (days)').fill('0');
      await page.getByRole('button', { name: 'Preview' }).click();
      await page.locator('#inactive-days-error', { hasText: 'from 1 to 3650' }).waitFor();
      await page.getByLabel('Inactive for more than (days)').fill('30');
      await page.getByRole('button', { name: 'Preview' }).click();
      const summary = page.locator('#bulk-summary');
      await summary.waitFor();
      assert.equal(
        await summary.innerText(),
        '2 users inactive for more than 30 days would be disabled, freeing 2 seats.',
      );
      assert.deepEqual(
        (await rows(page, '#bulk-preview')).map((r) => r.split(' | ')[0]),
        ['stale-ada', 'stale-bob'],
      );
      // The preview changed nothing.
      assert.equal((await l.api('GET', '/admin/license/licenseStatus')).body.activeUserCount, 4);
      await checkPage(page, problems, 'bulk preview');
      await screenshot(page, 'admin-users-bulk-preview');

      await page.getByRole('button', { name: 'Disable 2 users' }).click();
      const dialog = page.getByRole('dialog', { name: 'Disable 2 users?' });
      await dialog.getByRole('button', { name: 'Disable' }).click();
      await page.locator('#flash', { hasText: 'Disabled 2 users, freeing 2 seats.' }).waitFor();
      assert.equal((await l.api('GET', '/admin/license/licenseStatus')).body.activeUserCount, 2);
      const audit = (await l.api('GET', '/admin/audit?action=user.disable-inactive')).body;
      assert.deepEqual(
        audit.entries.map((e: Json) => e.targetName),
        ['stale-bob', 'stale-ada'],
      );
      await screenshot(page, 'admin-users-bulk-done');
    });

    await t.test('tokens: create one (its secret shown once, with copy), revoke one', async (t) => {
      const { page, problems } = await signedIn(t, l);
      await go(page, 'Tokens');
      assert.equal((await rows(page, '#tokens-table')).length, 1, 'the administrator token alone');
      await page.getByRole('button', { name: 'Create token' }).click();
      await page.locator('#token-name-error', { hasText: 'Say what the token is for' }).waitFor();
      await page.getByLabel('What it is for').fill('host product');
      await page.getByLabel('Permission').selectOption('USER_ADMIN');
      await page.getByRole('button', { name: 'Create token' }).click();
      const secretField = page.getByLabel('Secret');
      await secretField.waitFor();
      const secret = await secretField.inputValue();
      assert.match(secret, /^lsr_/);
      // The secret works: the new token may list users, and only that.
      assert.equal((await l.api('GET', '/admin/users', undefined, secret)).status, 200);
      assert.equal((await l.api('GET', '/admin/tokens', undefined, secret)).status, 403);
      await page.context().grantPermissions(['clipboard-read', 'clipboard-write'], { origin: l.url });
      await page.getByRole('button', { name: 'Copy' }).click();
      await page.locator('#token-created [role="status"]', { hasText: 'Copied.' }).waitFor();
      assert.equal(await page.evaluate(() => navigator.clipboard.readText()), secret);
      assert.match((await rows(page, '#tokens-table'))[1]!, /host product \| USER_ADMIN/);
      await checkPage(page, problems, 'token created');
      await screenshot(page, 'admin-tokens-created');
      await page.getByRole('button', { name: 'Done' }).click();
      assert.equal(await page.locator('#token-secret').count(), 0, 'the secret is gone from the page');
      await page.reload();
      await idle(page);
      assert.doesNotMatch(await page.locator('body').innerText(), new RegExp(secret));

      const id = (await l.api('GET', '/admin/tokens')).body.find((tk: Json) => tk.name === 'host product').id;
      await page.getByRole('button', { name: `Revoke token ${id} (host product)` }).click();
      const dialog = page.getByRole('dialog', { name: `Revoke token ${id} (host product)?` });
      await dialog.waitFor();
      await screenshot(page, 'admin-tokens-revoke-dialog', { fullPage: false });
      await dialog.getByRole('button', { name: 'Revoke' }).click();
      await page.locator('#flash', { hasText: `Token ${id} (host product) is revoked.` }).waitFor();
      assert.equal((await rows(page, '#tokens-table')).length, 1);
      assert.equal((await l.api('GET', '/admin/users', undefined, secret)).status, 401);
      await checkPage(page, problems, 'token revoked');
    });

    await t.test('audit: names next to ids, filter by action, outcome and day, export CSV', async (t) => {
      // A refusal to filter for: the USER_ADMIN token may not read licenses.
      const token = (await l.api('POST', '/admin/tokens', { name: 'reader', permissions: ['USER_ADMIN'] }))
        .body;
      assert.equal((await l.api('GET', '/admin/license', undefined, token.secret)).status, 403);
      const { page, problems } = await signedIn(t, l);
      await go(page, 'Audit');
      await page.getByLabel('Action').fill('user.update');
      await page.getByRole('button', { name: 'Filter' }).click();
      await idle(page);
      await page.waitForFunction(() =>
        Array.from(document.querySelectorAll('#audit tbody tr')).every((tr) =>
          tr.textContent?.includes('user.update'),
        ),
      );
      const updates = await rows(page, '#audit');
      assert.equal(updates.length, 2, updates.join('\n'));
      assert.match(updates[0]!, /user\.update \| user:3 \(grace\) \| success/);
      await checkPage(page, problems, 'audit by action');
      await screenshot(page, 'admin-audit-filtered');

      await page.getByRole('button', { name: 'Clear' }).click();
      await page.getByLabel('Actor (token name)').fill('reader');
      await page.getByLabel('Outcome').selectOption('refused');
      await page.waitForFunction(() => document.querySelectorAll('#audit tbody tr').length === 1);
      assert.match(
        (await rows(page, '#audit'))[0]!,
        /reader \| GET \/admin\/license \| — \| refused FORBIDDEN/,
      );

      // A day with no entries: nothing; today: the refusal again.
      const today = new Date().toISOString().slice(0, 10);
      await page.getByLabel('From (UTC day)').fill('2020-01-01');
      await page.getByLabel('To (UTC day, included)').fill('2020-01-02');
      await page.getByRole('button', { name: 'Filter' }).click();
      await page.locator('#audit', { hasText: 'No entry matches these filters.' }).waitFor();
      await page.getByLabel('From (UTC day)').fill(today);
      await page.getByLabel('To (UTC day, included)').fill(today);
      await page.getByRole('button', { name: 'Filter' }).click();
      await page.waitForFunction(() => document.querySelectorAll('#audit tbody tr').length === 1);

      const csv = await downloaded(page, () => page.getByRole('button', { name: 'Export CSV' }).click());
      assert.match(csv.name, /^licensor-audit-\d{4}-\d{2}-\d{2}\.csv$/);
      const lines = csv.text.trimEnd().split('\r\n');
      assert.equal(
        lines[0],
        '"id","at","actorTokenId","actorName","action","target","targetName","outcome","code","clientAddress"',
      );
      assert.equal(lines.length, 2, 'the filtered entries only');
      assert.match(lines[1]!, /"reader","GET \/admin\/license","","","refused","FORBIDDEN",/);
      await checkPage(page, problems, 'audit export');
    });

    await t.test('at 390 px: no screen, dialog or /docs is wider than the phone', async (t) => {
      const { page, problems } = await signedIn(t, l, { width: 390, height: 844 });
      await assertFits(page, 'overview');
      await screenshot(page, 'phone-overview');
      for (const name of ['Licenses', 'Usage', 'Users', 'Tokens', 'Audit'] as const) {
        await go(page, name);
        await assertFits(page, name);
        await checkPage(page, problems, `phone ${name}`);
        await screenshot(page, `phone-${name.toLowerCase()}`);
      }
      // Usage with its numbers shown.
      await go(page, 'Usage');
      await page.getByText('Show the numbers').click();
      await assertFits(page, 'usage numbers');
      await screenshot(page, 'phone-usage-numbers');
      // Users with the bulk preview, tokens with a new secret.
      await go(page, 'Users');
      await page.getByLabel('Inactive for more than (days)').fill('1');
      await page.getByRole('button', { name: 'Preview' }).click();
      await page.locator('#bulk-summary').waitFor();
      await assertFits(page, 'users preview');
      await page.getByRole('button', { name: 'Remove linus' }).click();
      await page.getByRole('dialog').waitFor();
      await assertFits(page, 'remove dialog');
      await page.getByRole('dialog').getByRole('button', { name: 'Cancel' }).click();
      await go(page, 'Tokens');
      await page.getByLabel('What it is for').fill('a phone-made token with a rather long name to wrap');
      await page.getByRole('button', { name: 'Create token' }).click();
      await page.getByLabel('Secret').waitFor();
      await assertFits(page, 'token secret');
      await screenshot(page, 'phone-tokens-secret');
      // The delete dialog: its title stays in view while its body scrolls.
      await go(page, 'Licenses');
      await page
        .getByRole('button', { name: /^Delete license/ })
        .first()
        .click();
      const dialog = page.getByRole('dialog');
      await dialog.waitFor();
      await assertFits(page, 'delete dialog');
      await dialog.locator('.dialog-body').evaluate((body) => body.scrollTo(0, body.scrollHeight));
      const title = await dialog.locator('h2').boundingBox();
      const box = await dialog.boundingBox();
      assert.ok(title !== null && box !== null && title.y >= box.y, 'the dialog title is still in view');
      await checkPage(page, problems, 'phone delete dialog');
      await screenshot(page, 'phone-delete-dialog', { fullPage: false });
      await dialog.getByRole('button', { name: 'Cancel' }).click();
      // The API documentation page.
      await page.goto(`${l.url}/docs`);
      await page.locator('h1').first().waitFor();
      await assertFits(page, '/docs');
      await screenshot(page, 'phone-docs');
      assert.ok(SCREENSHOTS.length > 0);
    });
  },
);
