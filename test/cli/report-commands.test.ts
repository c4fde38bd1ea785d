import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import Database from 'better-sqlite3';
import { checkReport } from '../../src/domain/usage-reconcile.js';
import { USAGE_REPORT_TYP, verifyInstanceDocument } from '../../src/keys/instance-signer.js';
import { KeyRing } from '../../src/keys/key-ring.js';
import { addKeyDirect, assertOk, assertRefused, okJson, startLicensor, type Json } from './cli-helpers.js';

const DAY_MS = 86_400_000;

function dayBefore(days: number): string {
  // Days relative to the server's today: the data the test seeds, not an assertion about time.
  return new Date(Math.floor(Date.now() / DAY_MS) * DAY_MS - days * DAY_MS).toISOString().slice(0, 10);
}

/** Flips one character of the text to another base64url (or, for a dot, letter) character. */
function flip(text: string, at: number): string {
  const c = text[at]!;
  const other = c === 'A' ? 'B' : 'A';
  return `${text.slice(0, at)}${other}${text.slice(at + 1)}`;
}

test('licensor report: export, verify (any changed byte fails), show, and reconcile naming a rewritten day', async (t) => {
  const l = await startLicensor(t);
  await addKeyDirect(l, { seats: 3, softSeats: 0, createdAt: `${dayBefore(30)}T00:00:00Z` });
  // Ten days of history, as the server would have recorded them; day 5 before today over seats.
  // Days 10 to 5 as a Licensor before peaks by user type (migration 9) recorded them: total only.
  const db = new Database(join(l.dataDir, 'licensor.sqlite'));
  t.after(() => db.close());
  const insert = db.prepare(
    'INSERT OR REPLACE INTO usage_daily (day, peak_active_users, license_seats, hard_seats) VALUES (?, ?, 3, 3)',
  );
  for (let d = 10; d >= 5; d--) insert.run(dayBefore(d), d === 5 ? 5 : 2);
  const insertTyped = db.prepare(
    `INSERT OR REPLACE INTO usage_daily
       (day, peak_active_users, peak_data_consumers, peak_policy_owners, license_seats, hard_seats)
     VALUES (?, 2, 1, 1, 3, 3)`,
  );
  for (let d = 4; d >= 1; d--) insertTyped.run(dayBefore(d));

  const jwks = join(l.dir, 'jwks.json');
  writeFileSync(jwks, await (await fetch(`${l.url}/.well-known/jwks.json`)).text());
  const first = join(l.dir, 'first.jws');
  assertOk(await l.run(['report', 'export', '--from', dayBefore(10), '--to', dayBefore(0), '--out', first]));

  assert.match(
    assertOk(await l.run(['report', 'verify', first, '--instance-key', jwks])),
    /^valid: instance /,
  );
  const shown = assertOk(await l.run(['report', 'show', first, '--instance-key', jwks]));
  assert.match(shown, new RegExp(`${dayBefore(5)}\\s+5\\s+3\\s+3\\s+2\\s+-\\s+-`), shown);
  assert.match(shown, new RegExp(`${dayBefore(2)}\\s+2\\s+3\\s+3\\s+-\\s+1\\s+1`), shown);
  assert.match(shown, /peaks by user type: 1 data consumers, 1 policy owners \(5 days from /, shown);

  const reconciled: Json = okJson(
    await l.run(['report', 'reconcile', first, '--instance-key', jwks, '--json']),
  );
  assert.equal(reconciled.licenses.length, 1);
  assert.deepEqual(reconciled.licenses[0].daysOverSeats, [dayBefore(5)]);
  assert.equal(reconciled.licenses[0].peakOverage, 2);

  // Any changed byte: the CLI for one byte in each part, the same checks in-process for all bytes.
  const jws = readFileSync(first, 'utf8').trim();
  const [header, payload] = jws.split('.') as [string, string, string];
  const tampered = join(l.dir, 'tampered.jws');
  for (const at of [3, header.length + 10, header.length + payload.length + 5, jws.length - 1]) {
    writeFileSync(tampered, flip(jws, at));
    assertRefused(await l.run(['report', 'verify', tampered, '--instance-key', jwks]), 'INVALID_REPORT');
  }
  const ring = KeyRing.fromFiles([jwks]);
  for (let at = 0; at < jws.length; at++) {
    assert.throws(() => {
      const verified = verifyInstanceDocument(flip(jws, at), ring, USAGE_REPORT_TYP);
      if (typeof checkReport(verified.payload) === 'string') throw new Error('not a report');
    }, `byte ${at}`);
  }
  // Another instance's key: refused.
  const otherKey = join(l.dir, 'other.pub');
  writeFileSync(otherKey, l.issuer.publicKey.export({ type: 'spki', format: 'pem' }));
  assertRefused(await l.run(['report', 'verify', first, '--instance-key', otherKey]), 'INVALID_REPORT');

  // Unchanged history: a later report agrees with the first on the days they share.
  const second = join(l.dir, 'second.jws');
  assertOk(await l.run(['report', 'export', '--from', dayBefore(7), '--out', second]));
  const agreed = assertOk(
    await l.run(['report', 'reconcile', second, '--previous', first, '--instance-key', jwks]),
  );
  assert.match(agreed, new RegExp(`the days ${dayBefore(7)} to ${dayBefore(0)} agree`));

  // One stored daily peak rewritten: reconcile names that day and exits 1.
  db.prepare('UPDATE usage_daily SET peak_active_users = 1 WHERE day = ?').run(dayBefore(5));
  const third = join(l.dir, 'third.jws');
  assertOk(await l.run(['report', 'export', '--from', dayBefore(7), '--out', third]));
  assertOk(await l.run(['report', 'verify', third, '--instance-key', jwks]));
  const differs = await l.run([
    'report',
    'reconcile',
    third,
    '--previous',
    first,
    '--instance-key',
    jwks,
    '--json',
  ]);
  assert.equal(differs.code, 1, differs.stderr);
  const result = JSON.parse(differs.stdout);
  assert.equal(result.previous.agrees, false);
  assert.equal(result.previous.firstDifferentDay, dayBefore(5));

  // A day before the period rewritten: the first shared day's chain shows it.
  db.prepare('UPDATE usage_daily SET peak_active_users = 1 WHERE day = ?').run(dayBefore(9));
  const fourth = join(l.dir, 'fourth.jws');
  assertOk(await l.run(['report', 'export', '--from', dayBefore(7), '--out', fourth]));
  const earlier = await l.run(['report', 'reconcile', fourth, '--previous', third, '--instance-key', jwks]);
  assert.equal(earlier.code, 1);
  assert.match(earlier.stdout, new RegExp(`DISAGREES from ${dayBefore(7)}: the history before`));

  // One stored peak of one user type rewritten, the total left alone: reconcile names that day.
  db.prepare('UPDATE usage_daily SET peak_policy_owners = 0 WHERE day = ?').run(dayBefore(3));
  const fifth = join(l.dir, 'fifth.jws');
  assertOk(await l.run(['report', 'export', '--from', dayBefore(7), '--out', fifth]));
  assertOk(await l.run(['report', 'verify', fifth, '--instance-key', jwks]));
  const typed = await l.run([
    'report',
    'reconcile',
    fifth,
    '--previous',
    fourth,
    '--instance-key',
    jwks,
    '--json',
  ]);
  assert.equal(typed.code, 1, typed.stderr);
  const typedResult = JSON.parse(typed.stdout);
  assert.equal(typedResult.previous.firstDifferentDay, dayBefore(3));
  assert.match(typedResult.previous.reason, /counts differ/);
  assert.deepEqual(typedResult.peaksByType.byType, { dataConsumer: 1, policyOwner: 1 });
});
