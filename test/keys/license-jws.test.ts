import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac, generateKeyPairSync, randomUUID, sign, type KeyObject } from 'node:crypto';
import { LicensorError, type ErrorCode } from '../../src/domain/errors.js';
import { KEY_LIMITS } from '../../src/domain/license-claims.js';
import { KeyRing, thumbprint } from '../../src/keys/key-ring.js';
import {
  LICENSE_ALG,
  LICENSE_TYP,
  MAX_JSON_DEPTH,
  MAX_LICENSE_KEY_LENGTH,
  decodeLicenseKeyUnverified,
  signLicenseKey,
  verifyLicenseKey,
  verifyLicenseKeyForAdd,
} from '../../src/keys/license-jws.js';
import { DAY, createIssuer } from '../helpers/issuer.js';

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
const NOW = new Date('2026-06-01T12:00:00.000Z');

/** Every code a refused key may carry; all of them are 400s. */
const KEY_CODES: ErrorCode[] = [
  'MALFORMED_LICENSE_KEY',
  'UNSUPPORTED_ALGORITHM',
  'UNSUPPORTED_KEY_HEADER',
  'UNTRUSTED_ISSUER',
  'INVALID_SIGNATURE',
];

function b64u(data: string | Uint8Array): string {
  return Buffer.from(data).toString('base64url');
}

/** Signs exactly the given segment texts, canonical or not: only the verifier's own rules refuse. */
function signSegments(headerB64: string, payloadB64: string, privateKey: KeyObject): string {
  const signature = sign(null, Buffer.from(`${headerB64}.${payloadB64}`, 'ascii'), privateKey);
  return `${headerB64}.${payloadB64}.${b64u(signature)}`;
}

function signJsonText(headerJson: string, payloadJson: string, privateKey: KeyObject): string {
  return signSegments(b64u(headerJson), b64u(payloadJson), privateKey);
}

function signJson(header: unknown, payload: unknown, privateKey: KeyObject): string {
  return signJsonText(JSON.stringify(header), JSON.stringify(payload), privateKey);
}

function refusedWith(...codes: ErrorCode[]): (err: unknown) => boolean {
  return (err) => {
    assert.ok(err instanceof LicensorError, `not a LicensorError: ${String(err)}`);
    assert.ok(codes.includes(err.code), `code ${err.code}, expected one of ${codes.join(', ')}`);
    assert.equal(err.status, 400);
    return true;
  };
}

function replaceAt(text: string, index: number, char: string): string {
  return text.slice(0, index) + char + text.slice(index + 1);
}

/** Sets unused low bits of the last character: the same bytes, a different string. */
function withTrailingBits(segment: string): string {
  assert.notEqual(segment.length % 4, 0, 'segment has no spare bits');
  const last = ALPHABET.indexOf(segment.at(-1)!);
  return replaceAt(segment, segment.length - 1, ALPHABET[last | 1]!);
}

/** Adds a `pad` member until the base64url form of the JSON satisfies `wanted`. */
function padUntil(
  value: Record<string, unknown>,
  wanted: (b64: string) => boolean,
  padChar = 'x',
): Record<string, unknown> {
  for (let n = 0; n < 64; n++) {
    const padded = n === 0 ? value : { ...value, pad: padChar.repeat(n) };
    if (wanted(b64u(JSON.stringify(padded)))) return padded;
  }
  throw new Error('no padding found');
}

const issuer = createIssuer();
const kid = thumbprint(issuer.publicKey);
const header = { alg: 'EdDSA', typ: 'license+jws', kid };
const goodKey = issuer.issue({ uuid: 'good-key', notice: 'Licensed to Acme' }, NOW);

describe('signLicenseKey and verifyLicenseKey round trip', () => {
  test('constants are the spec values', () => {
    assert.equal(LICENSE_ALG, 'EdDSA');
    assert.equal(LICENSE_TYP, 'license+jws');
  });

  test('a key it signed verifies, with its claims, header and kid', () => {
    const verified = verifyLicenseKey(goodKey, issuer.ring);
    assert.equal(verified.claims.uuid, 'good-key');
    assert.equal(verified.claims.seats, 20);
    assert.equal(verified.claims.notice, 'Licensed to Acme');
    assert.deepEqual(verified.header, { alg: 'EdDSA', typ: 'license+jws', kid });
    assert.equal(verified.kid, kid);
  });

  test('unknown claims are kept in the verified payload', () => {
    const key = issuer.issue({ customerTier: 'gold', extra: { a: [1, 2] } }, NOW);
    const verified = verifyLicenseKey(key, issuer.ring);
    assert.equal(verified.payload.customerTier, 'gold');
    assert.deepEqual(verified.payload.extra, { a: [1, 2] });
  });

  test('the payload segment is exactly the JSON of the payload given', () => {
    const payload = issuer.payload({ uuid: 'exact' }, NOW);
    const key = signLicenseKey(payload, issuer.privateKey, issuer.publicKey);
    const [, payloadB64] = key.split('.');
    assert.deepEqual(JSON.parse(Buffer.from(payloadB64!, 'base64url').toString('utf8')), payload);
  });

  test('a hand-made key with header members reordered and pretty-printed JSON verifies', () => {
    const key = signJsonText(
      JSON.stringify({ kid, typ: 'license+jws', alg: 'EdDSA' }, null, 2),
      JSON.stringify(issuer.payload({ uuid: 'pretty' }, NOW), null, 2),
      issuer.privateKey,
    );
    assert.equal(verifyLicenseKey(key, issuer.ring).claims.uuid, 'pretty');
  });
});

describe('tampered keys are refused', () => {
  const [h, p, s] = goodKey.split('.') as [string, string, string];

  test('the untampered key is accepted (control)', () => {
    assert.doesNotThrow(() => verifyLicenseKey(`${h}.${p}.${s}`, issuer.ring));
  });

  function everyCharReplaced(segment: 0 | 1 | 2, codes: ErrorCode[]): void {
    const parts = [h, p, s];
    const text = parts[segment]!;
    for (let i = 0; i < text.length; i++) {
      const replacement = text[i] === 'A' ? 'B' : 'A';
      const tampered = [...parts];
      tampered[segment] = replaceAt(text, i, replacement);
      assert.throws(
        () => verifyLicenseKey(tampered.join('.'), issuer.ring),
        refusedWith(...codes),
        `at ${i}`,
      );
    }
  }

  function everyBitFlipped(segment: 0 | 1 | 2, codes: ErrorCode[]): void {
    const parts = [h, p, s];
    const bytes = Buffer.from(parts[segment]!, 'base64url');
    for (let i = 0; i < bytes.length; i++) {
      for (const bit of [0x01, 0x80]) {
        const flipped = Buffer.from(bytes);
        flipped[i] = flipped[i]! ^ bit;
        const tampered = [...parts];
        tampered[segment] = b64u(flipped);
        assert.throws(
          () => verifyLicenseKey(tampered.join('.'), issuer.ring),
          refusedWith(...codes),
          `byte ${i} bit ${bit}`,
        );
      }
    }
  }

  test('any character of the header changed', () => everyCharReplaced(0, KEY_CODES));
  test('any bit of the header bytes flipped', () => everyBitFlipped(0, KEY_CODES));

  test('any character of the payload changed', () =>
    everyCharReplaced(1, ['INVALID_SIGNATURE', 'MALFORMED_LICENSE_KEY']));
  test('any bit of the payload bytes flipped', () => everyBitFlipped(1, ['INVALID_SIGNATURE']));

  test('any character of the signature changed', () =>
    everyCharReplaced(2, ['INVALID_SIGNATURE', 'MALFORMED_LICENSE_KEY']));
  test('any bit of the signature bytes flipped', () => everyBitFlipped(2, ['INVALID_SIGNATURE']));

  test('a signature of another key by the same issuer, transplanted', () => {
    const other = issuer.issue({ uuid: 'other' }, NOW).split('.')[2]!;
    assert.throws(
      () => verifyLicenseKey(`${h}.${p}.${other}`, issuer.ring),
      refusedWith('INVALID_SIGNATURE'),
    );
  });

  test('a payload of another key by the same issuer, transplanted', () => {
    const other = issuer.issue({ uuid: 'other', seats: 100000 }, NOW).split('.')[1]!;
    assert.throws(
      () => verifyLicenseKey(`${h}.${other}.${s}`, issuer.ring),
      refusedWith('INVALID_SIGNATURE'),
    );
  });

  test('a malleated signature (S + L) is refused', () => {
    const L = 2n ** 252n + 27742317777372353535851937790883648493n;
    const sig = Buffer.from(s, 'base64url');
    let scalar = 0n;
    for (let i = 63; i >= 32; i--) scalar = (scalar << 8n) | BigInt(sig[i]!);
    scalar += L;
    for (let i = 32; i < 64; i++) {
      sig[i] = Number(scalar & 0xffn);
      scalar >>= 8n;
    }
    assert.throws(
      () => verifyLicenseKey(`${h}.${p}.${b64u(sig)}`, issuer.ring),
      refusedWith('INVALID_SIGNATURE'),
    );
  });

  test('a signature that is too short, too long or empty', () => {
    const sig = Buffer.from(s, 'base64url');
    for (const bad of [sig.subarray(0, 63), Buffer.concat([sig, Buffer.from([0])]), Buffer.alloc(0)]) {
      assert.throws(
        () => verifyLicenseKey(`${h}.${p}.${b64u(bad)}`, issuer.ring),
        refusedWith('INVALID_SIGNATURE', 'MALFORMED_LICENSE_KEY'),
      );
    }
  });

  test('an all-zero signature', () => {
    assert.throws(
      () => verifyLicenseKey(`${h}.${p}.${b64u(Buffer.alloc(64))}`, issuer.ring),
      refusedWith('INVALID_SIGNATURE'),
    );
  });
});

describe('algorithms other than EdDSA are refused before any key is used', () => {
  const payload = issuer.payload({ uuid: 'alg' }, NOW);
  const payloadB64 = b64u(JSON.stringify(payload));

  test('alg none with an empty signature: UNSUPPORTED_ALGORITHM', () => {
    const key = `${b64u(JSON.stringify({ alg: 'none', typ: 'license+jws' }))}.${payloadB64}.`;
    assert.throws(() => verifyLicenseKey(key, issuer.ring), refusedWith('UNSUPPORTED_ALGORITHM'));
  });

  test('alg none is refused even with a trusted kid and a valid Ed25519 signature', () => {
    const key = signJson({ alg: 'none', kid }, payload, issuer.privateKey);
    assert.throws(() => verifyLicenseKey(key, issuer.ring), refusedWith('UNSUPPORTED_ALGORITHM'));
  });

  test('alg none against an empty ring: still UNSUPPORTED_ALGORITHM', () => {
    const key = `${b64u(JSON.stringify({ alg: 'none' }))}.${payloadB64}.`;
    assert.throws(() => verifyLicenseKey(key, new KeyRing([])), refusedWith('UNSUPPORTED_ALGORITHM'));
  });

  function hs256(secret: Buffer | string, withKid: boolean): string {
    const headerB64 = b64u(JSON.stringify({ alg: 'HS256', typ: 'license+jws', ...(withKid && { kid }) }));
    const mac = createHmac('sha256', secret).update(`${headerB64}.${payloadB64}`).digest();
    return `${headerB64}.${payloadB64}.${b64u(mac)}`;
  }

  test('HS256 keyed with the public key PEM: UNSUPPORTED_ALGORITHM', () => {
    const pem = issuer.publicKey.export({ format: 'pem', type: 'spki' });
    for (const withKid of [true, false])
      assert.throws(
        () => verifyLicenseKey(hs256(pem, withKid), issuer.ring),
        refusedWith('UNSUPPORTED_ALGORITHM'),
      );
  });

  test('HS256 keyed with the raw public key bytes or its DER: UNSUPPORTED_ALGORITHM', () => {
    const raw = Buffer.from(issuer.publicKey.export({ format: 'jwk' }).x!, 'base64url');
    const der = issuer.publicKey.export({ format: 'der', type: 'spki' });
    for (const secret of [raw, der])
      assert.throws(
        () => verifyLicenseKey(hs256(secret, true), issuer.ring),
        refusedWith('UNSUPPORTED_ALGORITHM'),
      );
  });

  test('RS256 and PS256 signed with an RSA key: UNSUPPORTED_ALGORITHM', () => {
    const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
    for (const alg of ['RS256', 'PS256']) {
      const headerB64 = b64u(JSON.stringify({ alg, typ: 'license+jws' }));
      const sig = sign('sha256', Buffer.from(`${headerB64}.${payloadB64}`), rsa.privateKey);
      const key = `${headerB64}.${payloadB64}.${b64u(sig)}`;
      assert.throws(() => verifyLicenseKey(key, issuer.ring), refusedWith('UNSUPPORTED_ALGORITHM'));
    }
  });

  test('ES256 signed with a P-256 key: UNSUPPORTED_ALGORITHM', () => {
    const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const headerB64 = b64u(JSON.stringify({ alg: 'ES256', typ: 'license+jws' }));
    const sig = sign('sha256', Buffer.from(`${headerB64}.${payloadB64}`), {
      key: ec.privateKey,
      dsaEncoding: 'ieee-p1363',
    });
    const key = `${headerB64}.${payloadB64}.${b64u(sig)}`;
    assert.throws(() => verifyLicenseKey(key, issuer.ring), refusedWith('UNSUPPORTED_ALGORITHM'));
  });

  const variants: unknown[] = [
    'eddsa',
    'EDDSA',
    'EdDsa',
    ' EdDSA',
    'EdDSA ',
    'EdDSA\u0000',
    'Ed25519',
    'ED25519',
    '',
  ];
  for (const alg of variants) {
    test(`alg ${JSON.stringify(alg)} with a valid Ed25519 signature: UNSUPPORTED_ALGORITHM`, () => {
      const key = signJson({ alg, typ: 'license+jws', kid }, payload, issuer.privateKey);
      assert.throws(() => verifyLicenseKey(key, issuer.ring), refusedWith('UNSUPPORTED_ALGORITHM'));
    });
  }

  for (const [name, alg] of [
    ['missing', undefined],
    ['null', null],
    ['an array', ['EdDSA']],
    ['an object', { name: 'EdDSA' }],
    ['a number', 1],
  ] as const) {
    test(`alg ${name}: UNSUPPORTED_ALGORITHM`, () => {
      const key = signJson({ alg, typ: 'license+jws', kid }, payload, issuer.privateKey);
      assert.throws(() => verifyLicenseKey(key, issuer.ring), refusedWith('UNSUPPORTED_ALGORITHM'));
    });
  }
});

describe('header members', () => {
  const payload = issuer.payload({ uuid: 'hdr' }, NOW);

  test('crit: UNSUPPORTED_KEY_HEADER', () => {
    const key = signJson({ ...header, crit: ['exp'], exp: 1 }, payload, issuer.privateKey);
    assert.throws(() => verifyLicenseKey(key, issuer.ring), refusedWith('UNSUPPORTED_KEY_HEADER'));
  });

  test('an empty crit list: UNSUPPORTED_KEY_HEADER', () => {
    const key = signJson({ ...header, crit: [] }, payload, issuer.privateKey);
    assert.throws(() => verifyLicenseKey(key, issuer.ring), refusedWith('UNSUPPORTED_KEY_HEADER'));
  });

  test('b64: false (unencoded payload): UNSUPPORTED_KEY_HEADER', () => {
    const key = signJson({ ...header, b64: false, crit: ['b64'] }, payload, issuer.privateKey);
    assert.throws(() => verifyLicenseKey(key, issuer.ring), refusedWith('UNSUPPORTED_KEY_HEADER'));
  });

  for (const typ of ['JWT', 'jose', 'license+jwt', 'application/jose', '', 42, null, ['license+jws']]) {
    test(`typ ${JSON.stringify(typ)}: UNSUPPORTED_KEY_HEADER`, () => {
      const key = signJson({ ...header, typ }, payload, issuer.privateKey);
      assert.throws(() => verifyLicenseKey(key, issuer.ring), refusedWith('UNSUPPORTED_KEY_HEADER'));
    });
  }

  for (const typ of [undefined, 'license+jws', 'application/license+jws', 'License+JWS']) {
    test(`typ ${String(typ)} is accepted`, () => {
      const key = signJson(
        { alg: 'EdDSA', kid, ...(typ !== undefined && { typ }) },
        payload,
        issuer.privateKey,
      );
      assert.equal(verifyLicenseKey(key, issuer.ring).claims.uuid, 'hdr');
    });
  }

  for (const badKid of [42, null, true, [kid], { kid }]) {
    test(`kid ${JSON.stringify(badKid)} (not a string): UNSUPPORTED_KEY_HEADER`, () => {
      const key = signJson({ ...header, kid: badKid }, payload, issuer.privateKey);
      assert.throws(() => verifyLicenseKey(key, issuer.ring), refusedWith('UNSUPPORTED_KEY_HEADER'));
    });
  }

  test('unknown header members are ignored', () => {
    const key = signJson(
      { ...header, 'x-issued-by': 'licensor-tests', cty: 'json' },
      payload,
      issuer.privateKey,
    );
    assert.equal(verifyLicenseKey(key, issuer.ring).claims.uuid, 'hdr');
  });
});

describe('trust and key rotation', () => {
  const attacker = createIssuer();
  const attackerKid = thumbprint(attacker.publicKey);
  const payload = issuer.payload({ uuid: 'trust' }, NOW);

  test('a valid signature by an untrusted key with its kid: UNTRUSTED_ISSUER', () => {
    const key = attacker.issue({}, NOW);
    assert.throws(() => verifyLicenseKey(key, issuer.ring), refusedWith('UNTRUSTED_ISSUER'));
  });

  test('a valid signature by an untrusted key without kid is refused', () => {
    const key = signJson({ alg: 'EdDSA', typ: 'license+jws' }, payload, attacker.privateKey);
    assert.throws(
      () => verifyLicenseKey(key, issuer.ring),
      refusedWith('INVALID_SIGNATURE', 'UNTRUSTED_ISSUER'),
    );
  });

  test('an untrusted key naming a trusted kid: INVALID_SIGNATURE', () => {
    const key = signJson(header, payload, attacker.privateKey);
    assert.throws(() => verifyLicenseKey(key, issuer.ring), refusedWith('INVALID_SIGNATURE'));
  });

  test('an embedded jwk of the signer is not trusted', () => {
    const jwk = attacker.publicKey.export({ format: 'jwk' });
    const noKid = signJson({ alg: 'EdDSA', jwk }, payload, attacker.privateKey);
    assert.throws(
      () => verifyLicenseKey(noKid, issuer.ring),
      refusedWith('INVALID_SIGNATURE', 'UNTRUSTED_ISSUER'),
    );
    const withKid = signJson({ alg: 'EdDSA', jwk, kid: attackerKid }, payload, attacker.privateKey);
    assert.throws(() => verifyLicenseKey(withKid, issuer.ring), refusedWith('UNTRUSTED_ISSUER'));
  });

  test('an empty ring: UNTRUSTED_ISSUER with or without kid', () => {
    const empty = new KeyRing([]);
    assert.throws(() => verifyLicenseKey(goodKey, empty), refusedWith('UNTRUSTED_ISSUER'));
    const noKid = signJson({ alg: 'EdDSA' }, payload, issuer.privateKey);
    assert.throws(() => verifyLicenseKey(noKid, empty), refusedWith('UNTRUSTED_ISSUER'));
  });

  test('a kid naming the other trusted key of a two-key ring: INVALID_SIGNATURE', () => {
    const ring = KeyRing.fromPublicKeys([issuer.publicKey, attacker.publicKey]);
    const key = signJson({ ...header, kid: attackerKid }, payload, issuer.privateKey);
    assert.throws(() => verifyLicenseKey(key, ring), refusedWith('INVALID_SIGNATURE'));
  });

  test('a ring of two keys accepts keys from both, and reports which one signed', () => {
    const ring = KeyRing.fromPublicKeys([issuer.publicKey, attacker.publicKey]);
    assert.equal(verifyLicenseKey(issuer.issue({}, NOW), ring).kid, kid);
    assert.equal(verifyLicenseKey(attacker.issue({}, NOW), ring).kid, attackerKid);
  });

  test('a key without kid is tried against every trusted key', () => {
    const third = createIssuer();
    const ring = KeyRing.fromPublicKeys([issuer.publicKey, attacker.publicKey, third.publicKey]);
    for (const signer of [issuer, attacker, third]) {
      const key = signJson({ alg: 'EdDSA', typ: 'license+jws' }, signer.payload({}, NOW), signer.privateKey);
      assert.equal(verifyLicenseKey(key, ring).kid, thumbprint(signer.publicKey));
    }
  });

  test('claims are not looked at before the signature: bad claims by an untrusted key', () => {
    const bad = { ...payload, seats: -1 };
    const withKid = signJson({ alg: 'EdDSA', kid: attackerKid }, bad, attacker.privateKey);
    assert.throws(() => verifyLicenseKey(withKid, issuer.ring), refusedWith('UNTRUSTED_ISSUER'));
    const noKid = signJson({ alg: 'EdDSA' }, bad, attacker.privateKey);
    assert.throws(
      () => verifyLicenseKey(noKid, issuer.ring),
      refusedWith('INVALID_SIGNATURE', 'UNTRUSTED_ISSUER'),
    );
  });
});

describe('structure and encoding', () => {
  const [h, p, s] = goodKey.split('.') as [string, string, string];
  const payload = issuer.payload({ uuid: 'enc' }, NOW);

  for (const [name, key] of [
    ['empty', ''],
    ['one segment', h],
    ['two segments', `${h}.${p}`],
    ['four segments', `${h}.${p}.${s}.${s}`],
    ['five segments (JWE-shaped)', `${h}.${p}.${s}.${s}.${s}`],
    ['only dots', '..'],
    ['empty header', `.${p}.${s}`],
    ['a trailing dot', `${h}.${p}.${s}.`],
  ] as const) {
    test(`${name}: MALFORMED_LICENSE_KEY`, () => {
      assert.throws(() => verifyLicenseKey(key, issuer.ring), refusedWith('MALFORMED_LICENSE_KEY'));
    });
  }

  test('an empty payload segment, validly signed: MALFORMED_LICENSE_KEY', () => {
    const key = signSegments(h, '', issuer.privateKey);
    assert.throws(() => verifyLicenseKey(key, issuer.ring), refusedWith('MALFORMED_LICENSE_KEY'));
  });

  test('"=" padding on any segment: MALFORMED_LICENSE_KEY', () => {
    // Pick header and payload whose unpadded length needs padding.
    const hdr = padUntil(header, (b) => b.length % 4 !== 0);
    const pl = padUntil(payload, (b) => b.length % 4 !== 0);
    const hB64 = b64u(JSON.stringify(hdr));
    const pB64 = b64u(JSON.stringify(pl));
    const pad = (b: string): string => b + '='.repeat((4 - (b.length % 4)) % 4);
    // control: unpadded is fine
    assert.doesNotThrow(() => verifyLicenseKey(signSegments(hB64, pB64, issuer.privateKey), issuer.ring));
    for (const key of [
      signSegments(pad(hB64), pB64, issuer.privateKey),
      signSegments(hB64, pad(pB64), issuer.privateKey),
    ])
      assert.throws(() => verifyLicenseKey(key, issuer.ring), refusedWith('MALFORMED_LICENSE_KEY'));
    const [kh, kp, ks] = signSegments(hB64, pB64, issuer.privateKey).split('.') as [string, string, string];
    assert.throws(
      () => verifyLicenseKey(`${kh}.${kp}.${pad(ks)}`, issuer.ring),
      refusedWith('MALFORMED_LICENSE_KEY'),
    );
  });

  test('standard base64 alphabet ("+" and "/") in any segment: MALFORMED_LICENSE_KEY', () => {
    const toStd = (b: string): string => b.replaceAll('-', '+').replaceAll('_', '/');
    const hasUrlChars = (b: string): boolean => /[-_]/.test(b);
    const hdr = padUntil(header, hasUrlChars, '?');
    const pl = padUntil(payload, hasUrlChars, '?');
    const hB64 = b64u(JSON.stringify(hdr));
    const pB64 = b64u(JSON.stringify(pl));
    assert.doesNotThrow(() => verifyLicenseKey(signSegments(hB64, pB64, issuer.privateKey), issuer.ring));
    for (const key of [
      signSegments(toStd(hB64), pB64, issuer.privateKey),
      signSegments(hB64, toStd(pB64), issuer.privateKey),
    ])
      assert.throws(() => verifyLicenseKey(key, issuer.ring), refusedWith('MALFORMED_LICENSE_KEY'));

    let signed = '';
    for (let i = 0; i < 200 && !hasUrlChars(signed.split('.')[2] ?? ''); i++)
      signed = issuer.issue({ uuid: randomUUID() }, NOW);
    const [sh, sp, ss] = signed.split('.') as [string, string, string];
    assert.ok(hasUrlChars(ss));
    assert.throws(
      () => verifyLicenseKey(`${sh}.${sp}.${toStd(ss)}`, issuer.ring),
      refusedWith('MALFORMED_LICENSE_KEY'),
    );
  });

  test('non-zero trailing bits in any segment: MALFORMED_LICENSE_KEY', () => {
    const hB64 = b64u(JSON.stringify(padUntil(header, (b) => b.length % 4 !== 0)));
    const pB64 = b64u(JSON.stringify(padUntil(payload, (b) => b.length % 4 !== 0)));
    assert.deepEqual(Buffer.from(withTrailingBits(pB64), 'base64url'), Buffer.from(pB64, 'base64url'));
    for (const key of [
      signSegments(withTrailingBits(hB64), pB64, issuer.privateKey),
      signSegments(hB64, withTrailingBits(pB64), issuer.privateKey),
    ])
      assert.throws(() => verifyLicenseKey(key, issuer.ring), refusedWith('MALFORMED_LICENSE_KEY'));
    const [kh, kp, ks] = signSegments(hB64, pB64, issuer.privateKey).split('.') as [string, string, string];
    assert.doesNotThrow(() => verifyLicenseKey(`${kh}.${kp}.${ks}`, issuer.ring));
    assert.throws(
      () => verifyLicenseKey(`${kh}.${kp}.${withTrailingBits(ks)}`, issuer.ring),
      refusedWith('MALFORMED_LICENSE_KEY'),
    );
  });

  test('a segment whose length leaves one spare character: MALFORMED_LICENSE_KEY', () => {
    assert.equal((s.length + 3) % 4, 1);
    assert.throws(
      () => verifyLicenseKey(`${h}.${p}.${s}AAA`, issuer.ring),
      refusedWith('MALFORMED_LICENSE_KEY'),
    );
  });

  test('whitespace inside the key: MALFORMED_LICENSE_KEY', () => {
    for (const key of [`${h}.${p}.${s}\n`, `${h}. ${p}.${s}`, `${h}.${p.slice(0, 10)}\n${p.slice(10)}.${s}`])
      assert.throws(
        () => verifyLicenseKey(key, issuer.ring),
        refusedWith('MALFORMED_LICENSE_KEY', 'INVALID_SIGNATURE'),
      );
  });

  test('duplicate members in the payload, validly signed: MALFORMED_LICENSE_KEY', () => {
    const json = JSON.stringify(payload).replace(/^\{/, '{"seats":1000000,');
    assert.equal(JSON.parse(json).seats, 20);
    const key = signJsonText(JSON.stringify(header), json, issuer.privateKey);
    assert.throws(() => verifyLicenseKey(key, issuer.ring), refusedWith('MALFORMED_LICENSE_KEY'));
  });

  test('duplicate members in a nested payload object, validly signed: MALFORMED_LICENSE_KEY', () => {
    const json = JSON.stringify({ ...payload, features: { masking: { enabled: false } } }).replace(
      '{"masking":{"enabled":false}}',
      '{"masking":{"enabled":true,"enabled":false}}',
    );
    assert.ok(json.includes('"enabled":true,"enabled":false'));
    const key = signJsonText(JSON.stringify(header), json, issuer.privateKey);
    assert.throws(() => verifyLicenseKey(key, issuer.ring), refusedWith('MALFORMED_LICENSE_KEY'));
  });

  test('a duplicate alg in the header, whichever comes last: MALFORMED_LICENSE_KEY', () => {
    for (const headerJson of [
      `{"alg":"none","alg":"EdDSA","kid":"${kid}"}`,
      `{"alg":"EdDSA","alg":"EdDSA","kid":"${kid}"}`,
    ]) {
      const key = signJsonText(headerJson, JSON.stringify(payload), issuer.privateKey);
      assert.throws(() => verifyLicenseKey(key, issuer.ring), refusedWith('MALFORMED_LICENSE_KEY'));
    }
  });

  for (const [name, json] of [
    ['an array', JSON.stringify([payload])],
    ['a number', '42'],
    ['a string', JSON.stringify(JSON.stringify(payload))],
    ['null', 'null'],
    ['true', 'true'],
    ['not JSON', '{uuid: lic}'],
    ['truncated JSON', JSON.stringify(payload).slice(0, -1)],
    ['JSON with a byte order mark', `\ufeff${JSON.stringify(payload)}`],
  ] as const) {
    test(`a payload that is ${name}, validly signed: MALFORMED_LICENSE_KEY`, () => {
      const key = signJsonText(JSON.stringify(header), json, issuer.privateKey);
      assert.throws(() => verifyLicenseKey(key, issuer.ring), refusedWith('MALFORMED_LICENSE_KEY'));
    });
  }

  test('a payload that is not UTF-8, validly signed: MALFORMED_LICENSE_KEY', () => {
    const bytes = Buffer.concat([
      Buffer.from(JSON.stringify(payload).slice(0, -1) + ',"notice":"'),
      Buffer.from([0xff, 0xfe, 0xc3]),
      Buffer.from('"}'),
    ]);
    const key = signSegments(b64u(JSON.stringify(header)), b64u(bytes), issuer.privateKey);
    assert.throws(() => verifyLicenseKey(key, issuer.ring), refusedWith('MALFORMED_LICENSE_KEY'));
  });

  for (const [name, json] of [
    ['an array', '["EdDSA"]'],
    ['not JSON', 'alg=EdDSA'],
    ['null', 'null'],
  ] as const) {
    test(`a header that is ${name}: MALFORMED_LICENSE_KEY`, () => {
      const key = signJsonText(json, JSON.stringify(payload), issuer.privateKey);
      assert.throws(() => verifyLicenseKey(key, issuer.ring), refusedWith('MALFORMED_LICENSE_KEY'));
    });
  }

  test('the longest key within MAX_LICENSE_KEY_LENGTH is accepted; one character more is refused', () => {
    const keyOfPad = (n: number): string => issuer.issue({ uuid: 'long', filler: 'f'.repeat(n) }, NOW);
    let lo = 0;
    let hi = MAX_LICENSE_KEY_LENGTH;
    while (lo < hi) {
      const mid = Math.ceil((lo + hi) / 2);
      if (keyOfPad(mid).length <= MAX_LICENSE_KEY_LENGTH) lo = mid;
      else hi = mid - 1;
    }
    const longest = keyOfPad(lo);
    assert.ok(longest.length <= MAX_LICENSE_KEY_LENGTH && longest.length > MAX_LICENSE_KEY_LENGTH - 4);
    assert.equal(verifyLicenseKey(longest, issuer.ring).claims.uuid, 'long');
    const tooLong = keyOfPad(lo + 1);
    assert.ok(tooLong.length > MAX_LICENSE_KEY_LENGTH);
    assert.throws(() => verifyLicenseKey(tooLong, issuer.ring), refusedWith('MALFORMED_LICENSE_KEY'));
  });

  test('a deeply nested payload, validly signed: MALFORMED_LICENSE_KEY, not a stack overflow later', () => {
    const nested = (levels: number): string => '['.repeat(levels) + ']'.repeat(levels);
    const withDeep = (levels: number): string =>
      `${JSON.stringify(payload).slice(0, -1)},"deep":${nested(levels)}}`;
    // The payload object is one level; MAX_JSON_DEPTH - 1 arrays inside it reach the limit exactly.
    const atLimit = signJsonText(JSON.stringify(header), withDeep(MAX_JSON_DEPTH - 1), issuer.privateKey);
    const verified = verifyLicenseKey(atLimit, issuer.ring);
    assert.doesNotThrow(() => JSON.stringify(verified.payload));
    for (const levels of [MAX_JSON_DEPTH, 20_000]) {
      const key = signJsonText(JSON.stringify(header), withDeep(levels), issuer.privateKey);
      assert.ok(key.length <= MAX_LICENSE_KEY_LENGTH);
      assert.throws(() => verifyLicenseKey(key, issuer.ring), refusedWith('MALFORMED_LICENSE_KEY'));
    }
  });

  test('a deeply nested header: MALFORMED_LICENSE_KEY', () => {
    const headerJson = `${JSON.stringify(header).slice(0, -1)},"x":${'['.repeat(20_000)}${']'.repeat(20_000)}}`;
    const key = signJsonText(headerJson, JSON.stringify(payload), issuer.privateKey);
    assert.throws(() => verifyLicenseKey(key, issuer.ring), refusedWith('MALFORMED_LICENSE_KEY'));
  });

  test('a huge key is refused as MALFORMED_LICENSE_KEY', () => {
    const key = issuer.issue({ filler: 'f'.repeat(1024 * 1024) }, NOW);
    assert.throws(() => verifyLicenseKey(key, issuer.ring), refusedWith('MALFORMED_LICENSE_KEY'));
  });
});

describe('validly signed keys with bad claims', () => {
  for (const [name, claims] of [
    ['negative seats', { seats: -1 }],
    ['seats as a string', { seats: '20' }],
    ['missing uuid', { uuid: undefined }],
    ['expires before createdAt', { createdAt: '2026-01-02T00:00:00Z', expires: '2026-01-01T00:00:00Z' }],
    ['createdAt not RFC 3339', { createdAt: '2026/01/01' }],
    ['features not an object', { features: ['masking'] }],
    ['licensee name a number', { licensee: { name: 1 } }],
  ] as const) {
    test(`${name}: INVALID_CLAIMS`, () => {
      const key = issuer.issue(claims, NOW);
      assert.throws(() => verifyLicenseKey(key, issuer.ring), refusedWith('INVALID_CLAIMS'));
    });
  }
});

describe('size limits of a validly signed key (KEY_LIMITS)', () => {
  const feature = { enabled: true };
  /** `count` entries whose names are `nameLength` characters long. */
  const entries = (count: number, value: unknown, nameLength = 8): Record<string, unknown> =>
    Object.fromEntries(Array.from({ length: count }, (_, i) => [`n${i}`.padEnd(nameLength, 'x'), value]));
  /** An object whose compact JSON is exactly `bytes` bytes, with `enabled` when it is a feature. */
  const entryOfBytes = (bytes: number, enabled?: boolean): Record<string, unknown> => {
    const base = enabled === undefined ? { x: '' } : { x: '', enabled };
    const value = { ...base, x: 'x'.repeat(bytes - Buffer.byteLength(JSON.stringify(base))) };
    assert.equal(Buffer.byteLength(JSON.stringify(value)), bytes);
    return value;
  };

  /** Issues a key with `claims`: the one at the limit verifies, the one over is refused. */
  function assertLimit(atLimit: Record<string, unknown>, over: Record<string, unknown>): void {
    const accepted = issuer.issue(atLimit, NOW);
    assert.ok(accepted.length <= MAX_LICENSE_KEY_LENGTH, 'the key at the limit fits the key length');
    assert.doesNotThrow(() => verifyLicenseKeyForAdd(accepted, issuer.ring, NOW));
    const refused = issuer.issue(over, NOW);
    assert.ok(refused.length <= MAX_LICENSE_KEY_LENGTH, 'refused for the limit, not the key length');
    assert.throws(() => verifyLicenseKey(refused, issuer.ring), refusedWith('LICENSE_KEY_TOO_LARGE'));
    assert.throws(
      () => verifyLicenseKeyForAdd(refused, issuer.ring, NOW),
      refusedWith('LICENSE_KEY_TOO_LARGE'),
    );
  }

  test('the key length and nesting limits are the ones of KEY_LIMITS', () => {
    assert.equal(MAX_LICENSE_KEY_LENGTH, KEY_LIMITS.keyLength);
    assert.equal(MAX_JSON_DEPTH, KEY_LIMITS.jsonDepth);
  });

  test(`${KEY_LIMITS.features} features verify; one more is LICENSE_KEY_TOO_LARGE`, () => {
    assertLimit(
      { features: entries(KEY_LIMITS.features, feature) },
      { features: entries(KEY_LIMITS.features + 1, feature) },
    );
  });

  test(`${KEY_LIMITS.handlers} handlers verify; one more is LICENSE_KEY_TOO_LARGE`, () => {
    assertLimit(
      { handlers: entries(KEY_LIMITS.handlers, {}) },
      { handlers: entries(KEY_LIMITS.handlers + 1, {}) },
    );
  });

  test(`feature names of ${KEY_LIMITS.nameLength} characters verify; one more is LICENSE_KEY_TOO_LARGE`, () => {
    assertLimit(
      { features: entries(3, feature, KEY_LIMITS.nameLength) },
      { features: { ...entries(2, feature), ['f'.repeat(KEY_LIMITS.nameLength + 1)]: feature } },
    );
  });

  test(`handler names of ${KEY_LIMITS.nameLength} characters verify; one more is LICENSE_KEY_TOO_LARGE`, () => {
    assertLimit(
      { handlers: entries(3, {}, KEY_LIMITS.nameLength) },
      { handlers: { ...entries(2, {}), ['h'.repeat(KEY_LIMITS.nameLength + 1)]: {} } },
    );
  });

  test(`a handler of ${KEY_LIMITS.entryBytes} bytes verifies; one byte more is LICENSE_KEY_TOO_LARGE`, () => {
    assertLimit(
      { handlers: { snowflake: entryOfBytes(KEY_LIMITS.entryBytes) } },
      { handlers: { snowflake: entryOfBytes(KEY_LIMITS.entryBytes + 1) } },
    );
  });

  test(`a feature of ${KEY_LIMITS.entryBytes} bytes verifies; one byte more is LICENSE_KEY_TOO_LARGE`, () => {
    assertLimit(
      { features: { masking: entryOfBytes(KEY_LIMITS.entryBytes, true) } },
      { features: { masking: entryOfBytes(KEY_LIMITS.entryBytes + 1, true) } },
    );
  });

  test('every count at its limit at once, with 64-character names, fits in one key', () => {
    const key = issuer.issue(
      {
        features: entries(KEY_LIMITS.features, feature, 64),
        handlers: entries(KEY_LIMITS.handlers, {}, 64),
      },
      NOW,
    );
    assert.ok(key.length <= MAX_LICENSE_KEY_LENGTH, `${key.length} characters`);
    const { claims } = verifyLicenseKey(key, issuer.ring);
    assert.equal(Object.keys(claims.features).length, KEY_LIMITS.features);
    assert.equal(Object.keys(claims.handlers).length, KEY_LIMITS.handlers);
  });

  test('the limits are checked before the claims: a key over them with bad claims too', () => {
    const key = issuer.issue(
      { seats: -1, features: { ...entries(KEY_LIMITS.features, feature), bad: 'yes' } },
      NOW,
    );
    assert.throws(() => verifyLicenseKey(key, issuer.ring), refusedWith('LICENSE_KEY_TOO_LARGE'));
  });

  test('the limits are checked after the signature: an oversized key by an untrusted issuer', () => {
    const attacker = createIssuer();
    const claims = { features: entries(KEY_LIMITS.features + 1, feature) };
    assert.throws(
      () => verifyLicenseKey(attacker.issue(claims, NOW), issuer.ring),
      refusedWith('UNTRUSTED_ISSUER'),
    );
    const [h, p, s] = issuer.issue(claims, NOW).split('.') as [string, string, string];
    const otherSignature = attacker.issue(claims, NOW).split('.')[2]!;
    assert.notEqual(otherSignature, s);
    assert.throws(
      () => verifyLicenseKey(`${h}.${p}.${otherSignature}`, issuer.ring),
      refusedWith('INVALID_SIGNATURE'),
    );
  });
});

describe('verifyLicenseKeyForAdd', () => {
  test('a current key is accepted', () => {
    assert.equal(verifyLicenseKeyForAdd(goodKey, issuer.ring, NOW).claims.uuid, 'good-key');
  });

  test('LICENSE_EXPIRED at expires, accepted 1 ms before', () => {
    const expires = new Date('2026-07-01T00:00:00.000Z');
    const key = issuer.issue({ expires: expires.toISOString() }, NOW);
    assert.doesNotThrow(() => verifyLicenseKeyForAdd(key, issuer.ring, new Date(expires.getTime() - 1)));
    assert.throws(() => verifyLicenseKeyForAdd(key, issuer.ring, expires), refusedWith('LICENSE_EXPIRED'));
  });

  test('LICENSE_NOT_YET_VALID when createdAt is more than 5 minutes ahead', () => {
    const ahead = issuer.issue({ createdAt: new Date(NOW.getTime() + 10 * 60 * 1000).toISOString() }, NOW);
    assert.throws(
      () => verifyLicenseKeyForAdd(ahead, issuer.ring, NOW),
      refusedWith('LICENSE_NOT_YET_VALID'),
    );
    const slightly = issuer.issue({ createdAt: new Date(NOW.getTime() + 60 * 1000).toISOString() }, NOW);
    assert.doesNotThrow(() => verifyLicenseKeyForAdd(slightly, issuer.ring, NOW));
  });

  test('a future startsAt is accepted', () => {
    const key = issuer.issue({ startsAt: new Date(NOW.getTime() + 30 * DAY).toISOString() }, NOW);
    assert.doesNotThrow(() => verifyLicenseKeyForAdd(key, issuer.ring, NOW));
  });

  test('the signature is checked before the time: an expired key by an untrusted issuer', () => {
    const attacker = createIssuer();
    const key = attacker.issue({
      expires: '2026-02-01T00:00:00.000Z',
      createdAt: '2026-01-01T00:00:00.000Z',
    });
    assert.throws(() => verifyLicenseKeyForAdd(key, issuer.ring, NOW), refusedWith('UNTRUSTED_ISSUER'));
  });
});

describe('decodeLicenseKeyUnverified', () => {
  test('decodes header and payload of a key signed by anyone', () => {
    const stranger = createIssuer();
    const key = stranger.issue({ uuid: 'inspect-me' }, NOW);
    const { header: h, payload } = decodeLicenseKeyUnverified(key);
    assert.equal(h.kid, thumbprint(stranger.publicKey));
    assert.equal(payload.uuid, 'inspect-me');
  });

  test('a key that is not 3 segments or not JSON: MALFORMED_LICENSE_KEY', () => {
    for (const key of ['abc', 'a.b', 'a.b.c', `${b64u('{}')}.${b64u('[]')}.x`])
      assert.throws(() => decodeLicenseKeyUnverified(key), refusedWith('MALFORMED_LICENSE_KEY'));
  });
});
