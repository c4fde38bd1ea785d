import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { browserUnavailable, checkPage, launchBrowser, screenshot, watch } from './browser-helpers.js';
import { startServerProcess, tempDir } from '../helpers/process.js';
import { eventually, Receiver } from '../helpers/receiver.js';

/** The console's Webhooks screen in Chromium against a real server and a real receiver. */

const ADMIN = 'browser-admin-token-0123456789abcdef';
const skip = browserUnavailable();

test('Webhooks screen: endpoints, last deliveries, send test, pause and re-enable', { skip }, async (t) => {
  const server = await startServerProcess(t, {
    LICENSOR_DATA_DIR: join(tempDir(t), 'data'),
    LICENSOR_ADMIN_TOKEN: ADMIN,
    LICENSOR_LOG_LEVEL: 'warn',
    LICENSOR_EVENTS_POLL_MS: '50',
  });
  const receiver = await Receiver.start(t);
  const created = await fetch(`${server.url}/admin/webhooks`, {
    method: 'POST',
    headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' },
    body: JSON.stringify({ url: receiver.url, events: ['*'] }),
  });
  assert.equal(created.status, 201);

  const context = await launchBrowser(t);
  const page = context.pages()[0] ?? (await context.newPage());
  const problems = watch(page);
  await page.goto(`${server.url}/console/`);
  await page.getByLabel('Administrator token').fill(ADMIN);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.locator('h1', { hasText: 'Overview' }).waitFor();
  await page
    .getByRole('navigation', { name: 'Console sections' })
    .getByRole('link', { name: 'Webhooks' })
    .click();
  await page.locator('h1', { hasText: 'Webhooks' }).waitFor();
  await page.locator('#webhook-1').waitFor();
  assert.match(await page.locator('#webhooks').innerText(), /No delivery attempts yet/);

  await page.getByRole('button', { name: 'Send test' }).click();
  await page.locator('#flash', { hasText: 'Queued a ping' }).waitFor();
  await eventually('the ping at the receiver', () => receiver.received.length === 1);
  assert.equal(receiver.received[0]?.event.type, 'ping');
  // The screen shows the attempt once it is logged (reloading the screen).
  for (let i = 0; i < 50; i++) {
    await page.reload();
    await page.locator('#webhooks').waitFor();
    if (/delivered 200/.test(await page.locator('#webhooks').innerText())) break;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  const text = await page.locator('#webhooks').innerText();
  assert.match(text, /delivered 200/);
  assert.match(text, /ping/);

  await page.getByRole('button', { name: 'Pause' }).click();
  await page.locator('#flash', { hasText: 'Endpoint 1 paused.' }).waitFor();
  await page.getByRole('button', { name: 'Re-enable' }).waitFor();
  await screenshot(page, 'webhooks-paused');
  await checkPage(page, problems, 'webhooks');
  await page.getByRole('button', { name: 'Re-enable' }).click();
  await page.locator('#flash', { hasText: 'Endpoint 1 re-enabled.' }).waitFor();
  await page.getByRole('button', { name: 'Pause' }).waitFor();
});
