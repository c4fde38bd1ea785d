import assert from 'node:assert/strict';
import { createPrivateKey, createPublicKey } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { runCli, tempDir } from '../helpers/process.js';

test('keygen writes issuer.key (PKCS#8, mode 0600) and issuer.pub (SPKI), and never overwrites without --force', async (t) => {
  const dir = join(tempDir(t), 'issuer');
  const first = await runCli(['keygen', '--out', dir]);
  assert.equal(first.code, 0, first.stderr);
  const keyFile = join(dir, 'issuer.key');
  assert.equal(statSync(keyFile).mode & 0o777, 0o600);
  const privatePem = readFileSync(keyFile, 'utf8');
  assert.match(privatePem, /^-----BEGIN PRIVATE KEY-----/);
  assert.equal(createPrivateKey(privatePem).asymmetricKeyType, 'ed25519');
  const publicPem = readFileSync(join(dir, 'issuer.pub'), 'utf8');
  assert.match(publicPem, /^-----BEGIN PUBLIC KEY-----/);
  assert.equal(createPublicKey(publicPem).asymmetricKeyType, 'ed25519');

  const again = await runCli(['keygen', '--out', dir]);
  assert.equal(again.code, 1, 'a refused operation');
  assert.equal(readFileSync(keyFile, 'utf8'), privatePem, 'the old key is untouched');
  const forced = await runCli(['keygen', '--out', dir, '--force']);
  assert.equal(forced.code, 0);
  assert.notEqual(readFileSync(keyFile, 'utf8'), privatePem);
  assert.equal(statSync(keyFile).mode & 0o777, 0o600);

  const usage = await runCli(['keygen']);
  assert.equal(usage.code, 2, 'missing --out is a usage error');
});
