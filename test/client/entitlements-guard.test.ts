import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { EntitlementsGuard, LicensorClient, type InstancePublicKey } from '../../src/client/index.js';
import { signCompactJws } from '../../src/keys/license-jws.js';
import { ADMIN_TOKEN, buildTestApp, type TestApp } from '../helpers/app.js';
import { DAY } from '../helpers/issuer.js';
import { tempDir } from '../helpers/process.js';

/** A server on 127.0.0.1 with a license granting FPE and 5 seats; `kill` closes it for good. */
async function serve(t: TestContext): Promise<{
  h: TestApp;
  url: string;
  key: InstancePublicKey;
  instanceId: string;
  kill: () => Promise<void>;
}> {
  const h = await buildTestApp(t, { now: '2026-06-01T12:00:00.000Z' });
  assert.equal(
    (await h.addKey(h.issuer.issue({ seats: 5, features: { FPE: { enabled: true } } }))).statusCode,
    200,
  );
  const url = await h.app.listen({ host: '127.0.0.1', port: 0 });
  const instance = (await h.request({ method: 'GET', url: '/admin/instance' })).json();
  return { h, url, key: instance.publicKey, instanceId: instance.instanceId, kill: () => h.app.close() };
}

function guardOf(
  url: string,
  key: InstancePublicKey | InstancePublicKey[],
  now: () => number,
  extra: { cacheFile?: string; instanceId?: string; fetch?: typeof fetch } = {},
): { guard: EntitlementsGuard; errors: Error[] } {
  const errors: Error[] = [];
  const client = new LicensorClient({
    baseUrl: url,
    token: ADMIN_TOKEN,
    ...(extra.fetch && { fetch: extra.fetch }),
  });
  const guard = new EntitlementsGuard({
    client,
    instanceKeys: key,
    now,
    cacheFile: extra.cacheFile,
    instanceId: extra.instanceId,
    onError: (e) => errors.push(e),
  });
  return { guard, errors };
}

test('answers fresh, then from its cached copy once the server is killed, and fails closed after exp', async (t) => {
  const { h, url, key, instanceId, kill } = await serve(t);
  let nowMs = h.clock.now().getTime();
  const { guard, errors } = guardOf(url, key, () => nowMs, { instanceId });
  t.after(() => {
    guard.stop();
  });
  await guard.start();
  assert.deepEqual(errors, []);
  assert.deepEqual(guard.isEnabled('FPE'), {
    value: true,
    source: 'fresh',
    expiresAt: new Date(nowMs + DAY),
  });
  assert.equal(guard.isEnabled('nativeSqlTeradata').value, false);
  assert.equal(guard.canAddUser().value, true);
  assert.equal(guard.dataAccessBlocked().value, false);

  await kill();
  nowMs += DAY - 1000;
  assert.equal(await guard.refresh(), false, 'the server is gone');
  assert.equal(errors.length, 1);
  assert.deepEqual(
    [guard.isEnabled('FPE'), guard.canAddUser(), guard.dataAccessBlocked()].map((d) => [d.value, d.source]),
    [
      [true, 'cached'],
      [true, 'cached'],
      [false, 'cached'],
    ],
  );

  nowMs += 1000; // exp itself: the copy is no longer used.
  assert.deepEqual(
    [guard.isEnabled('FPE'), guard.canAddUser(), guard.dataAccessBlocked()].map((d) => [d.value, d.source]),
    [
      [false, 'none'],
      [false, 'none'],
      [true, 'none'],
    ],
  );
});

test('keeps its copy in the file it is given and answers from it after a restart with the server down', async (t) => {
  const { h, url, key, kill } = await serve(t);
  const nowMs = h.clock.now().getTime();
  const cacheFile = join(tempDir(t), 'entitlements.jws');
  const first = guardOf(url, key, () => nowMs, { cacheFile });
  await first.guard.start();
  first.guard.stop();
  assert.match(readFileSync(cacheFile, 'utf8'), /^[\w-]+\.[\w-]+\.[\w-]+$/);
  await kill();
  const second = guardOf(url, key, () => nowMs + 1000, { cacheFile });
  t.after(() => {
    second.guard.stop();
  });
  await second.guard.start();
  assert.deepEqual(
    [second.guard.isEnabled('FPE').value, second.guard.isEnabled('FPE').source],
    [true, 'cached'],
  );

  // An altered file is refused on load: the guard is closed.
  const jws = readFileSync(cacheFile, 'utf8');
  const [header, payload, signature] = jws.split('.') as [string, string, string];
  const altered = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8'));
  altered.features.Other = { enabled: true };
  writeFileSync(
    cacheFile,
    `${header}.${Buffer.from(JSON.stringify(altered)).toString('base64url')}.${signature}`,
  );
  const third = guardOf(url, key, () => nowMs + 1000, { cacheFile });
  t.after(() => {
    third.guard.stop();
  });
  await third.guard.start();
  assert.equal(third.guard.isEnabled('FPE').source, 'none');
  assert.match(third.errors.map((e) => e.message).join('\n'), /signature/);
});

test('refuses a copy signed by another key, a replayed copy with an old nonce, and an altered one', async (t) => {
  const { h, url, key } = await serve(t);
  const nowMs = h.clock.now().getTime();
  const real = (input: string, init: RequestInit) => fetch(input, init);

  // Signed by another key: everything else right, nonce included.
  const other = generateKeyPairSync('ed25519');
  const forged: typeof fetch = async (input, init) => {
    const nonce = new URL(input).searchParams.get('nonce');
    const body = await (await real(input as string, init!)).text();
    const claims = JSON.parse(Buffer.from(body.split('.')[1]!, 'base64url').toString('utf8'));
    const jws = signCompactJws(
      { alg: 'EdDSA', typ: 'entitlements+jws', kid: key.kid },
      { ...claims, nonce },
      other.privateKey,
    );
    return new Response(jws, { headers: { 'content-type': 'application/jose' } });
  };
  // Replayed: the first answer, served again for every later nonce.
  let recorded: string | undefined;
  const replay: typeof fetch = async (input, init) => {
    recorded ??= await (await real(input as string, init!)).text();
    return new Response(recorded, { headers: { 'content-type': 'application/jose' } });
  };
  // Altered: one feature turned on in the payload, the signature kept.
  const altered: typeof fetch = async (input, init) => {
    const [header, payload, signature] = (await (await real(input as string, init!)).text()).split('.') as [
      string,
      string,
      string,
    ];
    const claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8'));
    claims.canAddUser = !claims.canAddUser;
    return new Response(
      `${header}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}.${signature}`,
    );
  };

  const forgedGuard = guardOf(url, key, () => nowMs, { fetch: forged });
  assert.equal(await forgedGuard.guard.refresh(), false);
  assert.match(forgedGuard.errors[0]!.message, /not by a pinned instance key/);
  assert.equal(forgedGuard.guard.isEnabled('FPE').source, 'none');

  const replayGuard = guardOf(url, key, () => nowMs, { fetch: replay });
  assert.equal(await replayGuard.guard.refresh(), true, 'the first answer is genuine');
  assert.equal(await replayGuard.guard.refresh(), false, 'the same answer to a new nonce is a replay');
  assert.match(replayGuard.errors[0]!.message, /nonce/);
  assert.equal(replayGuard.guard.isEnabled('FPE').source, 'cached');

  const alteredGuard = guardOf(url, key, () => nowMs, { fetch: altered });
  assert.equal(await alteredGuard.guard.refresh(), false);
  assert.match(alteredGuard.errors[0]!.message, /signature/);
  assert.equal(alteredGuard.guard.canAddUser().source, 'none');

  for (const g of [forgedGuard, replayGuard, alteredGuard]) g.guard.stop();
});

test('a new key pinned beside the old one is accepted; a copy from another instance is refused', async (t) => {
  const { h, url, key, instanceId } = await serve(t);
  const nowMs = h.clock.now().getTime();
  const other = generateKeyPairSync('ed25519').publicKey.export({ format: 'jwk' }) as InstancePublicKey;
  const rotated = guardOf(url, [other, key], () => nowMs, { instanceId });
  assert.equal(await rotated.guard.refresh(), true, rotated.errors.join());
  const wrongInstance = guardOf(url, key, () => nowMs, {
    instanceId: instanceId.replace(/^./, (c) => (c === '0' ? '1' : '0')),
  });
  assert.equal(await wrongInstance.guard.refresh(), false);
  assert.match(wrongInstance.errors[0]!.message, /another instance/);
});
