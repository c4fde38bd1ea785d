import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { base64urlDecode, base64urlEncode } from '../../src/keys/base64url.js';

describe('base64urlEncode', () => {
  test('RFC 4648 test vectors, unpadded, URL alphabet', () => {
    const vectors: [string, string][] = [
      ['', ''],
      ['f', 'Zg'],
      ['fo', 'Zm8'],
      ['foo', 'Zm9v'],
      ['foob', 'Zm9vYg'],
      ['fooba', 'Zm9vYmE'],
      ['foobar', 'Zm9vYmFy'],
    ];
    for (const [plain, encoded] of vectors) assert.equal(base64urlEncode(plain), encoded);
    assert.equal(base64urlEncode(Uint8Array.from([0xfb, 0xff])), '-_8');
  });
});

describe('base64urlDecode', () => {
  test('decodes canonical text', () => {
    assert.deepEqual(base64urlDecode('Zm9vYmFy'), Buffer.from('foobar'));
    assert.deepEqual(base64urlDecode('Zm9vYg'), Buffer.from('foob'));
    assert.deepEqual(base64urlDecode('-_8'), Buffer.from([0xfb, 0xff]));
  });

  test('the empty string is zero bytes', () => {
    assert.equal(base64urlDecode('')?.length, 0);
  });

  test('round-trips every length from 0 to 100 and every byte value', () => {
    for (let n = 0; n <= 100; n++) {
      const bytes = randomBytes(n);
      assert.deepEqual(base64urlDecode(base64urlEncode(bytes)), bytes, `length ${n}`);
    }
    const all = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
    assert.deepEqual(base64urlDecode(base64urlEncode(all)), all);
  });

  const refused: [string, string][] = [
    ['padding', 'Zm9vYg=='],
    ['single padding', 'Zm9vYmE='],
    ['padding on a full group', 'Zm9v='],
    ['standard alphabet "+"', '+_8'],
    ['standard alphabet "/"', '-/8'],
    ['non-zero trailing bits (2 chars)', 'Zh'],
    ['non-zero trailing bits (3 chars)', 'Zm9'],
    ['length 1 mod 4', 'Zm9vY'],
    ['a single character', 'Z'],
    ['whitespace inside', 'Zm9v Yg'],
    ['a newline at the end', 'Zm9vYg\n'],
    ['a leading space', ' Zm9v'],
    ['a dot', 'Zm9v.Yg'],
    ['non-ASCII', 'Zm9vYé'],
    ['a NUL character', 'Zm9v\u0000'],
  ];
  for (const [name, text] of refused) {
    test(`refuses ${name}`, () => assert.equal(base64urlDecode(text), undefined));
  }

  test('refuses every non-canonical last character of a 2-character group', () => {
    // "QQ" is the only canonical encoding of "A"; "QR".."QZ" etc. decode to the same byte in Node.
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
    let accepted = 0;
    for (const c of alphabet) if (base64urlDecode(`Q${c}`) !== undefined) accepted++;
    // 4 spare bits: only the 4 characters whose low 4 bits are zero are canonical.
    assert.equal(accepted, 4);
  });
});
