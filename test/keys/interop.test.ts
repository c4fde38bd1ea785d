/**
 * Interop with code that is not ours (SPEC §2): keys made with plain node:crypto or jose are
 * accepted, and keys made by signLicenseKey verify with jose.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as crypto from 'node:crypto';
import {
  CompactSign,
  FlattenedSign,
  SignJWT,
  calculateJwkThumbprint,
  compactVerify,
  decodeProtectedHeader,
  exportJWK,
  importJWK,
  importPKCS8,
  importSPKI,
} from 'jose';
import { LicensorError } from '../../src/domain/errors.js';
import { KeyRing, thumbprint } from '../../src/keys/key-ring.js';
import { signLicenseKey, verifyLicenseKey } from '../../src/keys/license-jws.js';
import { createIssuer } from '../helpers/issuer.js';

const NOW = new Date('2026-06-01T12:00:00.000Z');

function payloadFor(uuid: string): Record<string, unknown> {
  return {
    uuid,
    createdAt: '2026-05-01T00:00:00Z',
    expires: '2027-05-01T00:00:00Z',
    seats: 50,
    softSeats: 5,
    features: { masking: { enabled: true } },
    notice: 'Licensed to Acme — ünïcödé ✓',
  };
}

function hasCode(code: string): (err: unknown) => boolean {
  return (err) => err instanceof LicensorError && err.code === code;
}

/** PEM texts of a fresh Ed25519 pair, the form a vendor hands to any JOSE library. */
function pemPair(): { privatePem: string; publicPem: string; publicKey: crypto.KeyObject } {
  const { privateKey, publicKey } = crypto.generateKeyPairSync('ed25519');
  return {
    privatePem: privateKey.export({ format: 'pem', type: 'pkcs8' }).toString(),
    publicPem: publicKey.export({ format: 'pem', type: 'spki' }).toString(),
    publicKey,
  };
}

describe('keys signed with nothing but node:crypto are accepted', () => {
  const { privateKey, publicKey } = crypto.generateKeyPairSync('ed25519');
  const ring = KeyRing.fromPublicKeys([publicKey]);

  /** RFC 7638 by hand: SHA-256 over {"crv","kty","x"} in that order, base64url. */
  function handThumbprint(key: crypto.KeyObject): string {
    const { crv, kty, x } = key.export({ format: 'jwk' });
    const canonical = `{"crv":"${crv}","kty":"${kty}","x":"${x}"}`;
    return crypto.createHash('sha256').update(canonical, 'utf8').digest('base64url');
  }

  function handSign(header: Record<string, unknown>, payload: Record<string, unknown>): string {
    const h = Buffer.from(JSON.stringify(header), 'utf8').toString('base64url');
    const p = Buffer.from(JSON.stringify(payload), 'utf8').toString('base64url');
    const signature = crypto.sign(null, Buffer.from(`${h}.${p}`, 'ascii'), privateKey);
    return `${h}.${p}.${signature.toString('base64url')}`;
  }

  test('with kid = RFC 7638 thumbprint', () => {
    const kid = handThumbprint(publicKey);
    const verified = verifyLicenseKey(
      handSign({ alg: 'EdDSA', typ: 'license+jws', kid }, payloadFor('crypto-kid')),
      ring,
    );
    assert.equal(verified.claims.uuid, 'crypto-kid');
    assert.equal(verified.claims.notice, 'Licensed to Acme — ünïcödé ✓');
    assert.equal(verified.kid, kid);
  });

  test('without kid', () => {
    const verified = verifyLicenseKey(
      handSign({ alg: 'EdDSA', typ: 'license+jws' }, payloadFor('crypto-nokid')),
      ring,
    );
    assert.equal(verified.claims.uuid, 'crypto-nokid');
    assert.equal(verified.kid, handThumbprint(publicKey));
  });

  test('with only alg', () => {
    assert.equal(
      verifyLicenseKey(handSign({ alg: 'EdDSA' }, payloadFor('crypto-alg')), ring).claims.seats,
      50,
    );
  });

  test('the hand-made thumbprint is what KeyRing uses as kid', () => {
    assert.equal(ring.keys[0]?.kid, handThumbprint(publicKey));
  });
});

describe('keys from signLicenseKey verify with jose', () => {
  const { privateKey, publicKey } = crypto.generateKeyPairSync('ed25519');
  const publicPem = publicKey.export({ format: 'pem', type: 'spki' }).toString();
  const payload = payloadFor('ours-to-jose');
  const key = signLicenseKey(payload, privateKey, publicKey);

  test('jose.compactVerify with the SPKI public key accepts it and reads the same payload', async () => {
    const joseKey = await importSPKI(publicPem, 'EdDSA');
    const { payload: bytes, protectedHeader } = await compactVerify(key, joseKey, { algorithms: ['EdDSA'] });
    assert.deepEqual(JSON.parse(new TextDecoder().decode(bytes)), payload);
    assert.equal(protectedHeader.alg, 'EdDSA');
    assert.equal(protectedHeader.typ, 'license+jws');
  });

  test('jose.compactVerify with the public JWK accepts it', async () => {
    const jwk = await exportJWK(publicKey);
    const { payload: bytes } = await compactVerify(key, await importJWK(jwk, 'EdDSA'));
    assert.equal(JSON.parse(new TextDecoder().decode(bytes)).uuid, 'ours-to-jose');
  });

  test('jose refuses it with another public key (the check above is real)', async () => {
    const other = crypto.generateKeyPairSync('ed25519').publicKey;
    const otherKey = await importSPKI(other.export({ format: 'pem', type: 'spki' }).toString(), 'EdDSA');
    await assert.rejects(compactVerify(key, otherKey));
  });

  test('header kid equals jose.calculateJwkThumbprint of the public JWK', async () => {
    const jwk = await exportJWK(publicKey);
    const expected = await calculateJwkThumbprint(jwk, 'sha256');
    assert.equal(decodeProtectedHeader(key).kid, expected);
    assert.equal(thumbprint(publicKey), expected);
  });

  test('thumbprint() agrees with jose for many keys', async () => {
    for (let i = 0; i < 20; i++) {
      const pub = crypto.generateKeyPairSync('ed25519').publicKey;
      assert.equal(thumbprint(pub), await calculateJwkThumbprint(await exportJWK(pub)));
    }
  });
});

describe('keys signed with jose are accepted', () => {
  const { privatePem, publicPem, publicKey } = pemPair();
  const ring = KeyRing.fromPublicKeys([publicKey]);

  async function joseSign(header: Parameters<CompactSign['setProtectedHeader']>[0], uuid: string) {
    const signingKey = await importPKCS8(privatePem, 'EdDSA');
    return new CompactSign(new TextEncoder().encode(JSON.stringify(payloadFor(uuid))))
      .setProtectedHeader(header)
      .sign(signingKey);
  }

  test('CompactSign, alg EdDSA, typ and kid from calculateJwkThumbprint', async () => {
    const kid = await calculateJwkThumbprint(
      await exportJWK(await importSPKI(publicPem, 'EdDSA', { extractable: true })),
    );
    const key = await joseSign({ alg: 'EdDSA', typ: 'license+jws', kid }, 'jose-kid');
    const verified = verifyLicenseKey(key, ring);
    assert.equal(verified.claims.uuid, 'jose-kid');
    assert.equal(verified.kid, kid);
  });

  test('CompactSign, alg EdDSA only', async () => {
    const key = await joseSign({ alg: 'EdDSA' }, 'jose-bare');
    assert.equal(verifyLicenseKey(key, ring).claims.uuid, 'jose-bare');
  });

  test('CompactSign with typ application/license+jws', async () => {
    const key = await joseSign({ alg: 'EdDSA', typ: 'application/license+jws' }, 'jose-typ');
    assert.equal(verifyLicenseKey(key, ring).claims.uuid, 'jose-typ');
  });

  test('SignJWT with the license claims plus registered JWT claims', async () => {
    const key = await new SignJWT(payloadFor('jose-jwt'))
      .setProtectedHeader({ alg: 'EdDSA', typ: 'license+jws' })
      .setIssuedAt(Math.floor(NOW.getTime() / 1000))
      .setIssuer('vendor')
      .sign(await importPKCS8(privatePem, 'EdDSA'));
    const verified = verifyLicenseKey(key, ring);
    assert.equal(verified.claims.uuid, 'jose-jwt');
    assert.equal(verified.payload.iss, 'vendor');
  });

  test('a jose key by a key that is not trusted is refused', async () => {
    const otherRing = KeyRing.fromPublicKeys([createIssuer().publicKey]);
    const key = await joseSign({ alg: 'EdDSA' }, 'jose-untrusted');
    assert.throws(
      () => verifyLicenseKey(key, otherRing),
      (e) => e instanceof LicensorError && e.status === 400,
    );
  });

  test('jose with the fully-specified alg "Ed25519" is refused: the spec names EdDSA only', async () => {
    const signingKey = await importPKCS8(privatePem, 'Ed25519');
    const key = await new CompactSign(new TextEncoder().encode(JSON.stringify(payloadFor('jose-ed25519'))))
      .setProtectedHeader({ alg: 'Ed25519' })
      .sign(signingKey);
    assert.throws(() => verifyLicenseKey(key, ring), hasCode('UNSUPPORTED_ALGORITHM'));
  });

  test('jose with an unencoded payload (b64: false) is refused: UNSUPPORTED_KEY_HEADER', async () => {
    const signingKey = await importPKCS8(privatePem, 'EdDSA');
    const jws = await new FlattenedSign(new TextEncoder().encode('{"uuid":"x"}'))
      .setProtectedHeader({ alg: 'EdDSA', b64: false, crit: ['b64'] })
      .sign(signingKey);
    const key = `${jws.protected ?? ''}.${jws.payload}.${jws.signature}`;
    assert.throws(() => verifyLicenseKey(key, ring), hasCode('UNSUPPORTED_KEY_HEADER'));
  });
});
