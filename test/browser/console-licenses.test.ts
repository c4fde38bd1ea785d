import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
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
import { startServerProcess, tempDir } from '../helpers/process.js';

/**
 * The consequences of licenses in the console, in Chromium against a real server: the hard
 * expiration and hard delete badges, the overview's warnings naming the license, the date and what
 * is lost, a scheduled key's preview of its start date, and the license page with every claim and
 * the history. Screenshots under test-output/screenshots/.
 */

const ADMIN = 'browser-licenses-token-0123456789abcdef';
const skip = browserUnavailable();

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = any;

interface Licensor {
  url: string;
  issuer: TestIssuer;
  api(method: string, path: string, body?: unknown): Promise<{ status: number; body: Json }>;
  add(claims: Record<string, unknown>): Promise<Json>;
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
  const api: Licensor['api'] = async (method, path, body) => {
    const res = await fetch(`${server.url}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${ADMIN}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await res.text();
    return { status: res.status, body: text === '' ? undefined : JSON.parse(text) };
  };
  const add = async (claims: Record<string, unknown>): Promise<Json> => {
    const res = await api('POST', '/admin/license', { licenseKey: issuer.issue(claims) });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    return res.body;
  };
  return { url: server.url, issuer, api, add };
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
  await page.locator('#seat-count').waitFor();
  return { page, problems };
}

async function settled(page: Page): Promise<void> {
  await page.waitForFunction(() => document.getElementById('view')?.getAttribute('aria-busy') === null);
}

const day = (ms: number): string => new Date(ms).toISOString().slice(0, 10);

test(
  'licenses in the console: consequences before they happen',
  { skip: skip ?? false, timeout: 300_000 },
  async (t) => {
    const l = await startLicensor(t);
    const now = Date.now();
    // Acme's license ends data access when it expires: the other one expires before it.
    const acme = await l.add({
      uuid: 'acme-0000-4000-8000-000000000001',
      seats: 10,
      softSeats: 0,
      features: { FPE: { enabled: true } },
      handlers: { Snowflake: {} },
      expires: new Date(now + 10 * DAY).toISOString(),
      hardExpiration: true,
      licensee: { company: 'Acme Corp' },
    });
    const pilot = await l.add({
      uuid: 'pilot-000-4000-8000-000000000002',
      seats: 5,
      softSeats: 0,
      expires: new Date(now + 5 * DAY).toISOString(),
      hardDelete: true,
      licensee: { name: 'Pilot Team' },
    });

    await t.test(
      'the overview names the license, the date and what is lost; hard expiration is "data access blocked"',
      async () => {
        const { page, problems } = await signedIn(t, l);
        const items = page.locator('#ahead li');
        await items.first().waitFor();
        assert.equal(await items.count(), 2);
        const first = await items.nth(0).innerText();
        assert.match(
          first,
          new RegExp(`License ${pilot.id} \\(Pilot Team\\) expires ${day(now + 5 * DAY)} \\(in 5 days\\)`),
        );
        assert.match(first, /seats 15 → 10/);
        const second = await items.nth(1).innerText();
        assert.match(second, /^Critical/);
        assert.match(
          second,
          new RegExp(`License ${acme.id} \\(Acme Corp\\) expires ${day(now + 10 * DAY)} \\(in 10 days\\)`),
        );
        assert.match(second, /data access blocked \(hard expiration, no other license active\)/);
        assert.match(second, /seats 10 → 0; features lost: FPE; handlers lost: Snowflake/);
        // The state card names the license that expires next, and what goes with it.
        assert.match(
          await page.locator('#card-license-state').locator('..').innerText(),
          new RegExp(
            `License ${pilot.id} \\(Pilot Team\\) expires .*: seats 15 → 10\\. Renew before then\\.`,
          ),
        );
        await checkPage(page, problems, 'overview warnings');
        await screenshot(page, 'licenses-overview-warnings');
      },
    );

    await t.test('the license table shows hard expiration and hard delete as badges', async () => {
      const { page, problems } = await signedIn(t, l);
      await page.goto(`${l.url}/console/#/licenses`);
      await settled(page);
      const acmeRow = page.locator(`tr[data-license-id="${acme.id}"]`);
      const pilotRow = page.locator(`tr[data-license-id="${pilot.id}"]`);
      await acmeRow.waitFor();
      assert.deepEqual(await acmeRow.locator('.hard-badge').allInnerTexts(), ['Hard expiration']);
      assert.deepEqual(await pilotRow.locator('.hard-badge').allInnerTexts(), ['Hard delete']);
      assert.match(
        String(await acmeRow.locator('.hard-badge').getAttribute('title')),
        /data access is blocked unless another license is active/,
      );
      await checkPage(page, problems, 'license table badges');
      await screenshot(page, 'licenses-hard-badges');

      // The delete dialog of a hard-delete license shows the badge with the warning.
      await pilotRow.getByRole('button', { name: `Delete license ${pilot.id}` }).click();
      const dialog = page.getByRole('dialog');
      await dialog.waitFor();
      assert.deepEqual(await dialog.locator('.hard-badge').allInnerTexts(), ['Hard delete']);
      assert.match(await dialog.innerText(), /This key can never be added again/);
      await screenshot(page, 'licenses-delete-hard', { fullPage: false });
      await dialog.getByRole('button', { name: 'Cancel' }).click();
      assert.equal((await l.api('GET', `/admin/license/${pilot.id}`)).body.deleted, false);
    });

    await t.test('a scheduled key previews its start date: seats, features and handlers then', async () => {
      const { page, problems } = await signedIn(t, l);
      await page.goto(`${l.url}/console/#/licenses`);
      await settled(page);
      const startsAt = now + 2 * DAY;
      const key = l.issuer.issue({
        seats: 5,
        softSeats: 0,
        features: { Masking: { enabled: true } },
        handlers: { Databricks: {} },
        startsAt: new Date(startsAt).toISOString(),
        expires: new Date(now + 300 * DAY).toISOString(),
        hardExpiration: true,
      });
      await page.getByLabel('License key').fill(key);
      await page.getByRole('button', { name: 'Preview' }).click();
      const atStart = page.locator('#at-start');
      await atStart.waitFor();
      const text = await atStart.innerText();
      assert.match(text, new RegExp(`On its start date, ${day(startsAt)} \\(in 2 days\\)`));
      assert.match(text, /Nothing changes now\. When it comes into force: seats 15 → 20\./);
      assert.deepEqual(await atStart.locator('.chip').allInnerTexts(), ['Masking', 'Databricks']);
      const preview = page.locator('#preview');
      assert.deepEqual(await preview.locator('.summary .hard-badge').allInnerTexts(), ['Hard expiration']);
      assert.match(
        await preview.locator('[data-consequence="hard-expiration"]').innerText(),
        /On \d{4}-\d{2}-\d{2}, once it expires, data access is blocked unless another license is active\./,
      );
      await checkPage(page, problems, 'scheduled preview');
      await screenshot(page, 'licenses-scheduled-preview');
    });

    await t.test(
      'the license page: every claim, and the history with deleted and superseded licenses',
      async () => {
        const first = await l.add({
          uuid: 'renewed-00-4000-8000-000000000003',
          seats: 1,
          renewalToken: 'rt-1',
        });
        assert.equal((await l.api('DELETE', `/admin/license/${first.id}`)).status, 200);
        const again = await l.add({ uuid: 'renewed-00-4000-8000-000000000003', seats: 2, notice: 'Renewed' });
        const successor = await l.add({ seats: 3, supersedes: ['renewed-00-4000-8000-000000000003'] });

        const { page, problems } = await signedIn(t, l, { width: 390, height: 844 });
        await page.goto(`${l.url}/console/#/licenses`);
        await settled(page);
        // Deleted licenses are listed only when asked for.
        await page.locator(`tr[data-license-id="${again.id}"]`).waitFor();
        assert.equal(await page.locator(`tr[data-license-id="${first.id}"]`).count(), 0);
        await page.getByLabel('Show deleted licenses too').check();
        await page.locator(`tr[data-license-id="${first.id}"]`).waitFor();

        await page.getByRole('link', { name: `License ${again.id}: details and history` }).click();
        await page.locator('h1', { hasText: `License ${again.id}` }).waitFor();
        await settled(page);
        const claims = await page.locator('#license-claims').innerText();
        for (const expected of [
          /UUID\s+renewed-00-4000-8000-000000000003/,
          /State\s+invalidated/,
          /Seats\s+2/,
          /Notice\s+Renewed/,
          /Hard expiration\s+no/,
          /Hard delete\s+no/,
          new RegExp(`Invalidated\\s+yes`),
        ])
          assert.match(claims, expected);
        const rows = page.locator('#license-history tbody tr');
        const history = await rows.evaluateAll((trs) =>
          trs.map((tr) => [
            tr.getAttribute('data-license-id'),
            ...Array.from(tr.children)
              .slice(1, 3)
              .map((td) => td.textContent),
          ]),
        );
        assert.deepEqual(history, [
          [String(first.id), 'earlier add of the same key', 'deleted'],
          [String(again.id), 'this license', 'invalidated'],
          [String(successor.id), 'supersedes this license', 'active'],
        ]);
        assert.match(await page.locator('pre.payload').innerText(), /"notice": "Renewed"/);
        // Nothing on the page is wider than the phone.
        const width = await page.evaluate(() => document.documentElement.scrollWidth);
        assert.ok(width <= 390, `the license page is ${width} px wide at 390 px`);
        await checkPage(page, problems, 'license page');
        await screenshot(page, 'licenses-detail-390');

        // The earlier add, deleted, opens from the history.
        await page.locator(`#license-history a[href="#/license/${first.id}"]`).click();
        await page.locator('h1', { hasText: `License ${first.id}` }).waitFor();
        await settled(page);
        assert.match(await page.locator('#license-claims').innerText(), /Deleted\s+yes[\s\S]*/);
        assert.match(await page.locator('#license-claims').innerText(), /Renewal token\s+rt-1/);
      },
    );
  },
);
