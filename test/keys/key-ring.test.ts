import { describe, test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { calculateJwkThumbprint, exportJWK } from 'jose';
import { KeyFileError, KeyRing, thumbprint } from '../../src/keys/key-ring.js';
import { signLicenseKey, verifyLicenseKey } from '../../src/keys/license-jws.js';

/** A fresh directory for one test, removed when the test ends. */
function tempDir(t: TestContext): string {
  const dir = mkdtempSync(join(tmpdir(), 'licensor-keyring-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

function write(dir: string, name: string, content: string): string {
  const path = join(dir, name);
  writeFileSync(path, content);
  return path;
}

function ed25519(): { privateKey: KeyObject; publicKey: KeyObject } {
  return generateKeyPairSync('ed25519');
}

function spkiPem(key: KeyObject): string {
  return key.export({ format: 'pem', type: 'spki' }).toString();
}

function publicJwk(key: KeyObject): Record<string, unknown> {
  return { ...key.export({ format: 'jwk' }) };
}

function isKeyFileError(err: unknown): boolean {
  return err instanceof KeyFileError;
}

const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });

function licenseBy(pair: { privateKey: KeyObject; publicKey: KeyObject }, uuid: string): string {
  return signLicenseKey(
    { uuid, createdAt: '2026-05-01T00:00:00Z', seats: 1, expires: '2027-01-01T00:00:00Z' },
    pair.privateKey,
    pair.publicKey,
  );
}

describe('KeyRing.fromFiles: PEM SPKI', () => {
  test('a PEM SPKI file loads; kid is the RFC 7638 thumbprint; it verifies keys', async (t) => {
    const pair = ed25519();
    const path = write(tempDir(t), 'issuer.pub', spkiPem(pair.publicKey));
    const ring = KeyRing.fromFiles([path]);
    assert.equal(ring.keys.length, 1);
    const expected = await calculateJwkThumbprint(await exportJWK(pair.publicKey));
    assert.equal(ring.keys[0]!.kid, expected);
    assert.equal(thumbprint(pair.publicKey), expected);
    assert.equal(ring.get(expected)?.kid, expected);
    assert.equal(ring.keys[0]!.source, path);
    assert.equal(verifyLicenseKey(licenseBy(pair, 'pem'), ring).claims.uuid, 'pem');
  });

  test('a PEM with surrounding text and CRLF line ends loads', (t) => {
    const pair = ed25519();
    const pem = `# issuer key, rotated 2026\r\n${spkiPem(pair.publicKey).replaceAll('\n', '\r\n')}`;
    const ring = KeyRing.fromFiles([write(tempDir(t), 'issuer.pub', pem)]);
    assert.equal(ring.keys[0]?.kid, thumbprint(pair.publicKey));
  });

  test('a PKCS#8 private key PEM: KeyFileError', (t) => {
    const pem = ed25519().privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();
    const path = write(tempDir(t), 'issuer.key', pem);
    assert.throws(() => KeyRing.fromFiles([path]), isKeyFileError);
  });

  test('an encrypted private key PEM: KeyFileError', (t) => {
    const pem = ed25519()
      .privateKey.export({
        format: 'pem',
        type: 'pkcs8',
        cipher: 'aes-256-cbc',
        passphrase: 'secret',
      })
      .toString();
    assert.throws(() => KeyRing.fromFiles([write(tempDir(t), 'issuer.key', pem)]), isKeyFileError);
  });

  test('an EC P-256 public key PEM: KeyFileError', (t) => {
    const pem = spkiPem(generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey);
    assert.throws(() => KeyRing.fromFiles([write(tempDir(t), 'ec.pub', pem)]), isKeyFileError);
  });

  test('an RSA public key PEM: KeyFileError', (t) => {
    assert.throws(
      () => KeyRing.fromFiles([write(tempDir(t), 'rsa.pub', spkiPem(rsa.publicKey))]),
      isKeyFileError,
    );
  });

  test('an X25519 public key PEM (same family, wrong curve): KeyFileError', (t) => {
    const pem = spkiPem(generateKeyPairSync('x25519').publicKey);
    assert.throws(() => KeyRing.fromFiles([write(tempDir(t), 'x.pub', pem)]), isKeyFileError);
  });

  test('a PEM block with garbage inside: KeyFileError', (t) => {
    const pem = '-----BEGIN PUBLIC KEY-----\nbm90IGEga2V5\n-----END PUBLIC KEY-----\n';
    assert.throws(() => KeyRing.fromFiles([write(tempDir(t), 'bad.pub', pem)]), isKeyFileError);
  });

  test('a missing file: KeyFileError', (t) => {
    assert.throws(() => KeyRing.fromFiles([join(tempDir(t), 'does-not-exist.pub')]), isKeyFileError);
  });

  test('a directory instead of a file: KeyFileError', (t) => {
    assert.throws(() => KeyRing.fromFiles([tempDir(t)]), isKeyFileError);
  });

  test('an empty file: KeyFileError', (t) => {
    assert.throws(() => KeyRing.fromFiles([write(tempDir(t), 'empty.pub', '')]), isKeyFileError);
  });
});

describe('KeyRing.fromFiles: JWKS', () => {
  test('an Ed25519 key beside an RSA key: only the Ed25519 key is loaded', (t) => {
    const pair = ed25519();
    const jwks = { keys: [publicJwk(rsa.publicKey), publicJwk(pair.publicKey)] };
    const ring = KeyRing.fromFiles([write(tempDir(t), 'jwks.json', JSON.stringify(jwks))]);
    assert.equal(ring.keys.length, 1);
    assert.equal(ring.keys[0]!.kid, thumbprint(pair.publicKey));
    assert.equal(ring.keys[0]!.key.asymmetricKeyType, 'ed25519');
    assert.equal(verifyLicenseKey(licenseBy(pair, 'jwks'), ring).claims.uuid, 'jwks');
  });

  test('a JWKS exported by jose, with kid/alg/use members, loads', async (t) => {
    const pair = ed25519();
    const jwk = await exportJWK(pair.publicKey);
    const kid = await calculateJwkThumbprint(jwk);
    const jwks = { keys: [{ ...jwk, kid, alg: 'EdDSA', use: 'sig' }] };
    const ring = KeyRing.fromFiles([write(tempDir(t), 'jwks.json', JSON.stringify(jwks, null, 2))]);
    assert.equal(ring.get(kid)?.kid, kid);
  });

  test('several Ed25519 keys in one JWKS all load (rotation)', (t) => {
    const a = ed25519();
    const b = ed25519();
    const jwks = { keys: [publicJwk(a.publicKey), publicJwk(b.publicKey)] };
    const ring = KeyRing.fromFiles([write(tempDir(t), 'jwks.json', JSON.stringify(jwks))]);
    assert.deepEqual(
      ring.keys.map((k) => k.kid).sort(),
      [thumbprint(a.publicKey), thumbprint(b.publicKey)].sort(),
    );
    assert.equal(verifyLicenseKey(licenseBy(a, 'a'), ring).claims.uuid, 'a');
    assert.equal(verifyLicenseKey(licenseBy(b, 'b'), ring).claims.uuid, 'b');
  });

  test('a JWKS holding a private Ed25519 key ("d"): KeyFileError', (t) => {
    const jwks = { keys: [{ ...ed25519().privateKey.export({ format: 'jwk' }) }] };
    assert.ok('d' in jwks.keys[0]!);
    assert.throws(
      () => KeyRing.fromFiles([write(tempDir(t), 'jwks.json', JSON.stringify(jwks))]),
      isKeyFileError,
    );
  });

  test('a private key beside a good public key still fails the whole file', (t) => {
    const jwks = {
      keys: [publicJwk(ed25519().publicKey), { ...ed25519().privateKey.export({ format: 'jwk' }) }],
    };
    assert.throws(
      () => KeyRing.fromFiles([write(tempDir(t), 'jwks.json', JSON.stringify(jwks))]),
      isKeyFileError,
    );
  });

  test('a JWKS with only an RSA key: KeyFileError (nothing would be trusted)', (t) => {
    const jwks = { keys: [publicJwk(rsa.publicKey)] };
    assert.throws(
      () => KeyRing.fromFiles([write(tempDir(t), 'jwks.json', JSON.stringify(jwks))]),
      isKeyFileError,
    );
  });

  test('a JWKS with only an X25519 key: KeyFileError', (t) => {
    const jwks = { keys: [publicJwk(generateKeyPairSync('x25519').publicKey)] };
    assert.throws(
      () => KeyRing.fromFiles([write(tempDir(t), 'jwks.json', JSON.stringify(jwks))]),
      isKeyFileError,
    );
  });

  test('an Ed25519 JWK with a broken "x": KeyFileError', (t) => {
    const jwks = { keys: [{ kty: 'OKP', crv: 'Ed25519', x: 'too-short' }] };
    assert.throws(
      () => KeyRing.fromFiles([write(tempDir(t), 'jwks.json', JSON.stringify(jwks))]),
      isKeyFileError,
    );
  });

  for (const [name, text] of [
    ['not JSON', 'this is not a key'],
    ['a JSON array', '[]'],
    ['keys not an array', '{"keys":{}}'],
    ['no keys member', '{}'],
    ['an empty keys array', '{"keys":[]}'],
    ['a bare JWK instead of a set', JSON.stringify({ kty: 'OKP', crv: 'Ed25519', x: 'AAAA' })],
    ['null', 'null'],
  ] as const) {
    test(`a JWKS file that is ${name}: KeyFileError`, (t) => {
      assert.throws(() => KeyRing.fromFiles([write(tempDir(t), 'jwks.json', text)]), isKeyFileError);
    });
  }
});

describe('KeyRing.fromFiles: several files', () => {
  test('a PEM file and a JWKS file are both trusted', (t) => {
    const dir = tempDir(t);
    const a = ed25519();
    const b = ed25519();
    const ring = KeyRing.fromFiles([
      write(dir, 'a.pub', spkiPem(a.publicKey)),
      write(dir, 'b.json', JSON.stringify({ keys: [publicJwk(b.publicKey)] })),
    ]);
    assert.equal(ring.keys.length, 2);
    assert.ok(ring.get(thumbprint(a.publicKey)));
    assert.ok(ring.get(thumbprint(b.publicKey)));
  });

  test('the same key in two files is trusted once', (t) => {
    const dir = tempDir(t);
    const a = ed25519();
    const ring = KeyRing.fromFiles([
      write(dir, 'a.pub', spkiPem(a.publicKey)),
      write(dir, 'a.json', JSON.stringify({ keys: [publicJwk(a.publicKey)] })),
    ]);
    assert.equal(ring.keys.length, 1);
  });

  test('one bad file among good ones fails the whole ring', (t) => {
    const dir = tempDir(t);
    const good = write(dir, 'a.pub', spkiPem(ed25519().publicKey));
    assert.throws(() => KeyRing.fromFiles([good, join(dir, 'missing.pub')]), isKeyFileError);
  });

  test('no files: an empty ring', () => {
    assert.equal(KeyRing.fromFiles([]).keys.length, 0);
  });
});

describe('KeyRing in memory', () => {
  test('fromPublicKeys indexes keys by thumbprint; get() of an unknown kid is undefined', () => {
    const a = ed25519().publicKey;
    const ring = KeyRing.fromPublicKeys([a]);
    assert.equal(ring.get(thumbprint(a))?.key, a);
    assert.equal(ring.get(thumbprint(ed25519().publicKey)), undefined);
    assert.equal(ring.get('__proto__'), undefined);
    assert.equal(ring.get(''), undefined);
  });

  test('thumbprint is 43 base64url characters and differs between keys', () => {
    const a = thumbprint(ed25519().publicKey);
    const b = thumbprint(ed25519().publicKey);
    assert.match(a, /^[A-Za-z0-9_-]{43}$/);
    assert.notEqual(a, b);
  });

  test('thumbprint of a known key (RFC 8037 Appendix A.3)', () => {
    // RFC 8037 A.3: the thumbprint of the example Ed25519 key.
    const jwk = { kty: 'OKP', crv: 'Ed25519', x: '11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo' };
    const key = createPublicKey({ key: jwk, format: 'jwk' });
    assert.equal(thumbprint(key), 'kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k');
    assert.equal(KeyRing.fromPublicKeys([key]).keys[0]?.kid, 'kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k');
  });
});
