import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
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
  // --json after the command name is inspect's own; before it, the program's: both print JSON.
  for (const args of [
    ['inspect', key, '--json'],
    ['--json', 'inspect', key],
    ['inspect', '-', '--json'],
  ]) {
    const report = okJson(await runCli(args, { input: key }));
    assert.equal(report.payload.seats, 7, args.join(' '));
    assert.equal(report.expires, '2099-01-01T00:00:00.000Z');
  }
  assertUsage(await runCli(['issue', '--key', join(out, 'issuer.key'), '--seats', 'many']), /--seats/);
});
