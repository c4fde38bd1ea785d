import assert from 'node:assert/strict';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { KEY_LIMITS } from '../../src/domain/license-claims.js';
import { createIssuer } from '../helpers/issuer.js';
import { runCli, tempDir } from '../helpers/process.js';
import { assertOk, assertUsage, okJson } from './cli-helpers.js';

test('keygen, issue and inspect still work beside the administrator commands', async (t) => {
  const dir = tempDir(t);
  const out = join(dir, 'issuer');
  assert.match(assertOk(await runCli(['keygen', '--out', out])), /^Wrote .*issuer\.key/);
  const key = assertOk(
    await runCli(['issue', '--key', join(out, 'issuer.key'), '--seats', '7', '--expires', '2099-01-01']),
  ).trim();
  const pub = join(out, 'issuer.pub');

  const human = assertOk(await runCli(['inspect', key, '--trusted', pub]));
  assert.match(human, /^seats: +7 \(\+0 soft\)$/m);
  assert.match(human, /^signature: +valid$/m);
  assert.match(human, /^on expiry: +its seats, features and handlers end; data access goes on$/m);
  assert.match(human, /^on delete: +may be added again$/m);
  const hard = assertOk(
    await runCli([
      'inspect',
      assertOk(
        await runCli([
          'issue',
          '--key',
          join(out, 'issuer.key'),
          '--seats',
          '1',
          '--hard-expiration',
          '--hard-delete',
        ]),
      ).trim(),
    ]),
  );
  assert.match(
    hard,
    /^on expiry: +HARD EXPIRATION: data access is blocked unless another license is active$/m,
  );
  assert.match(hard, /^on delete: +HARD DELETE: once deleted, the key can never be added again$/m);
  // --json after the command name is inspect's own; before it, the program's: both print JSON.
  for (const args of [
    ['inspect', key, '--json'],
    ['--json', 'inspect', key],
    ['inspect', '-', '--json'],
  ]) {
    const report = okJson(await runCli(args, { input: key }));
    assert.equal(report.payload.seats, 7, args.join(' '));
    // A date alone is the end of that day, UTC: the license covers all of 2099-01-01.
    assert.equal(report.expires, '2099-01-01T23:59:59.000Z');
  }
  const scheduled = okJson(
    await runCli([
      'inspect',
      assertOk(
        await runCli([
          'issue',
          '--key',
          join(out, 'issuer.key'),
          '--seats',
          '1',
          '--starts-at',
          '2098-05-06',
        ]),
      ).trim(),
      '--json',
    ]),
  );
  assert.equal(
    scheduled.payload.startsAt,
    '2098-05-06T00:00:00.000Z',
    'a start date is the start of that day',
  );
  assert.match(
    assertOk(await runCli(['issue', '--help'])).replace(/\s+/g, ' '),
    /--expires <time> expiry: RFC 3339, or YYYY-MM-DD for the end of that day \(23:59:59 UTC\)/,
  );
  assertUsage(await runCli(['issue', '--key', join(out, 'issuer.key'), '--seats', 'many']), /--seats/);
});

test('issue --grace-days writes graceDays; without --expires or out of range it is a usage error', async (t) => {
  const out = join(tempDir(t), 'issuer');
  assertOk(await runCli(['keygen', '--out', out]));
  const base = ['issue', '--key', join(out, 'issuer.key'), '--seats', '20'];
  const key = assertOk(await runCli([...base, '--expires', '2099-01-01', '--grace-days', '14'])).trim();
  assert.equal(okJson(await runCli(['inspect', key, '--json'])).payload.graceDays, 14);
  assertUsage(await runCli([...base, '--grace-days', '14']), /--grace-days needs --expires/);
  assertUsage(await runCli([...base, '--expires', '2099-01-01', '--grace-days', '366']), /graceDays/);
  assertUsage(await runCli([...base, '--expires', '2099-01-01', '--grace-days', 'soon']), /--grace-days/);
});

test('inspect: a correctly signed key over the limits has a valid signature and is refused LICENSE_KEY_TOO_LARGE', async (t) => {
  const dir = tempDir(t);
  const issuer = createIssuer();
  const pub = join(dir, 'issuer.pub');
  writeFileSync(pub, issuer.publicKey.export({ type: 'spki', format: 'pem' }));
  const features = Object.fromEntries(
    Array.from({ length: KEY_LIMITS.features + 1 }, (_, i) => [`f${i}`, { enabled: true }]),
  );
  const key = issuer.issue({ features });
  const res = await runCli(['inspect', key, '--trusted', pub]);
  assert.equal(res.code, 1, res.stderr);
  assert.match(res.stdout, /^signature: +valid$/m);
  assert.match(res.stderr, /LICENSE_KEY_TOO_LARGE/);
});

test('help for a name that is no command says so, with the usage error exit code', async () => {
  assertUsage(await runCli(['help', 'nope']), /licensor: help: unknown command 'nope'/);
  assertUsage(await runCli(['--json', 'help', 'nope']), /unknown command 'nope'/);
  assert.match(assertOk(await runCli(['help', 'keygen'])), /--out <dir>/);
});

test('an --out that cannot be written is a usage error naming it, before any work is done', async (t) => {
  const dir = tempDir(t);
  const file = join(dir, 'a-file');
  writeFileSync(file, 'x');
  assertUsage(await runCli(['keygen', '--out', file]), /--out .*a-file: is a file, not a folder/);
  assertUsage(
    await runCli(['keygen', '--out', join(file, 'sub')]),
    /--out .*: cannot be written \(a part of the path is a file/,
  );
  // Checked before the server is asked: none answers at this URL.
  const offline = ['--url', 'http://127.0.0.1:9', '--token', 't'];
  assertUsage(
    await runCli([...offline, 'report', 'export', '--out', dir]),
    /--out .*: is a folder; name a file in it/,
  );
  assertUsage(
    await runCli([...offline, 'report', 'export', '--out', join(dir, 'missing', 'q1.jws')]),
    /--out .*: the folder .*missing does not exist/,
  );
});

test('an option that takes one value given twice is a usage error; a repeatable one collects', async (t) => {
  const dir = tempDir(t);
  const [a, b] = [join(dir, 'a'), join(dir, 'b')];
  // Commander alone keeps the last value without a word: here keygen would write to b.
  assertUsage(await runCli(['keygen', '--out', a, '--out', b]), /option '--out <dir>' given more than once/);
  assert.equal(existsSync(a) || existsSync(b), false, 'nothing is written');
  assertUsage(
    await runCli([
      '--url',
      'http://127.0.0.1:9',
      '--token',
      't',
      'users',
      'add',
      'ada',
      '--email',
      'a@x',
      '--email',
      'b@x',
    ]),
    /option '--email <email>' given more than once/,
  );
  // The program's --url before the command name and the command's after it: one would be dropped.
  assertUsage(
    await runCli(['--url', 'http://127.0.0.1:9', 'status', '--url', 'http://127.0.0.1:8']),
    /option '--url <url>' given more than once/,
  );
  assertOk(await runCli(['keygen', '--out', a]));
  const key = assertOk(
    await runCli([
      'issue',
      '--key',
      join(a, 'issuer.key'),
      '--seats',
      '1',
      '--feature',
      'x',
      '--feature',
      'y',
    ]),
  ).trim();
  assert.deepEqual(Object.keys(okJson(await runCli(['inspect', key, '--json'])).payload.features), [
    'x',
    'y',
  ]);
});
