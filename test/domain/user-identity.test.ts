import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { LicensorError } from '../../src/domain/errors.js';
import {
  caseFold,
  identityCollisionMessage,
  identityCollisions,
  identityFold,
  identityKey,
  MAX_IDENTITY_KEY_LENGTH,
  migratedIdentity,
  refusedCharacter,
  searchFold,
  searchText,
  storedIdentifiers,
  storedText,
} from '../../src/domain/user-identity.js';

const refusedWith =
  (pattern: RegExp) =>
  (err: unknown): boolean =>
    err instanceof LicensorError && err.code === 'INVALID_IDENTIFIER' && pattern.test(err.detail);

/** Every assigned code point, as a one-character string. */
function* assigned(): Generator<string> {
  for (let cp = 0; cp <= 0x10ffff; cp++) {
    if (cp >= 0xd800 && cp <= 0xdfff) continue;
    const ch = String.fromCodePoint(cp);
    if (!/\p{Cn}/u.test(ch)) yield ch;
  }
}

describe('case folding (Unicode default full folding)', () => {
  it('İ, I, i and ı: dotted capital I folds to i + U+0307, dotless ı stays itself', () => {
    assert.equal(caseFold('I'), 'i');
    assert.equal(caseFold('İ'), 'i\u0307');
    assert.equal(caseFold('ı'), 'ı');
    assert.equal(caseFold('i'), 'i');
    assert.notEqual(identityFold('İstanbul'), identityFold('istanbul'));
    assert.notEqual(identityFold('ıstanbul'), identityFold('istanbul'));
    assert.equal(identityFold('Istanbul'), identityFold('istanbul'));
    assert.equal(identityFold('İstanbul'), identityFold('i\u0307stanbul'));
  });

  it('ß, ẞ and ss are one', () => {
    assert.equal(caseFold('ß'), 'ss');
    assert.equal(caseFold('ẞ'), 'ss');
    assert.equal(identityFold('STRAẞE'), 'strasse');
    assert.equal(identityFold('Straße'), identityFold('STRASSE'));
  });

  it('Σ, σ and ς are one, wherever the sigma stands (no final-sigma context rule)', () => {
    for (const s of ['Σ', 'σ', 'ς']) assert.equal(caseFold(s), 'σ');
    assert.equal(caseFold('ΟΔΟΣ'), 'οδοσ');
    assert.equal(caseFold('οδος'), 'οδοσ');
  });

  it('other full foldings: ligatures, the Kelvin sign, Cherokee, titlecase digraphs', () => {
    assert.equal(identityFold('ﬃ'), 'ffi');
    assert.equal(identityFold('\u212A'), 'k');
    assert.equal(identityFold('ǅ'), identityFold('ǆ'));
    assert.equal(identityFold('\u13A0'), identityFold('\uAB70'), 'Cherokee capital and small a');
    assert.equal(identityFold('ΐ'), identityFold('ΐ'.toUpperCase()));
  });

  it('identityFold is idempotent and canonical-form blind on every assigned code point', () => {
    for (const ch of assigned()) {
      const folded = identityFold(ch);
      assert.equal(identityFold(folded), folded, `U+${ch.codePointAt(0)!.toString(16)}`);
      assert.equal(identityFold(ch.normalize('NFD')), folded, `NFD of U+${ch.codePointAt(0)!.toString(16)}`);
    }
  });

  it('searchFold is idempotent on every assigned code point and never leaves a control character', () => {
    for (const ch of assigned()) {
      const folded = searchFold(ch);
      assert.equal(searchFold(folded), folded, `U+${ch.codePointAt(0)!.toString(16)}`);
      assert.doesNotMatch(folded, /\p{Cc}/u);
    }
  });
});

describe('the identity key', () => {
  it('one key for case, width, canonical form and invisible characters', () => {
    const key = identityKey('okta', 'alice');
    for (const [iamid, userid] of [
      ['okta', 'Alice'],
      ['OKTA', 'ALICE'],
      ['ｏｋｔａ', 'Ａｌｉｃｅ'],
      ['okta', 'Alice\u200b'],
      ['okta', 'Al\u00adice'],
    ])
      assert.equal(identityKey(iamid!, userid!), key, `${iamid} ${userid}`);
    assert.equal(identityKey('okta', 'José'), identityKey('okta', 'Jose\u0301'));
    assert.notEqual(identityKey('okta', 'alice'), identityKey('azure', 'alice'));
  });

  it('keeps iamid and userid apart', () => {
    assert.notEqual(identityKey('a', 'bc'), identityKey('ab', 'c'));
    assert.notEqual(identityKey('a","b', 'c'), identityKey('a', 'b","c'));
    assert.deepEqual(JSON.parse(identityKey('Okta', 'Ａｌｉｃｅ')), ['okta', 'alice']);
  });
});

describe('refused characters', () => {
  it('refuses controls, format characters, private use, unassigned and lone surrogates in identifiers', () => {
    for (const [ch, kind] of [
      ['\u0000', /control/],
      ['\u001f', /control/],
      ['\u0085', /control/],
      ['\u200b', /format/],
      ['\u200d', /format/],
      ['\u202e', /bidi/],
      ['\u2066', /bidi/],
      ['\ufeff', /format/],
      ['\ue000', /private-use/],
      ['\u{10fffd}', /private-use/],
      ['\u0378', /unassigned/],
      ['\ufdd0', /unassigned/],
      ['\ud800', /surrogate/],
      ['\u2028', /separator/],
      ['\u3164', /invisible/],
      ['\ufe0f', /invisible/],
    ] as const) {
      assert.throws(() => storedText('userid', `a${ch}b`), refusedWith(kind), JSON.stringify(ch));
      assert.throws(() => storedText('iamid', `a${ch}b`), refusedWith(/^iamid /));
    }
    assert.throws(() => storedText('userid', 'a\u200bb'), refusedWith(/^userid holds U\+200B, /));
  });

  it('names and emails refuse controls and bidi controls but keep joiners and soft hyphens', () => {
    for (const ch of ['\n', '\u0085', '\u202e', '\u2067', '\u061c', '\ue000', '\u0378', '\u2029'])
      assert.throws(() => storedText('name', `a${ch}b`), refusedWith(/^name /), JSON.stringify(ch));
    for (const ok of ['می\u200cخواهم', '👩\u200d💻', 'Love\u00adlace', 'Ada Lovelace', '日本語'])
      assert.equal(storedText('name', ok), ok);
    assert.equal(refusedCharacter('email', 'ada@example.com'), undefined);
  });

  it('stores NFC; allows ordinary letters, digits, punctuation and spaces', () => {
    assert.equal(storedText('userid', 'Jose\u0301'), 'José');
    assert.equal(storedText('userid', 'Ａｌｉｃｅ'), 'Ａｌｉｃｅ', 'NFC keeps the width as given');
    for (const ok of [
      'ada.lovelace',
      'CORP\\ada',
      'ada@example.com',
      'Ada Lovelace',
      'Ωμέγα',
      '李小龍',
      '🦄',
    ])
      assert.equal(storedText('userid', ok), ok);
  });

  it('refuses an identity too long once normalised', () => {
    assert.doesNotThrow(() => storedIdentifiers({ iamid: 'okta', userid: 'x'.repeat(256) }));
    assert.doesNotThrow(() => storedIdentifiers({ iamid: 'i'.repeat(256), userid: 'x'.repeat(256) }));
    assert.ok(identityKey('okta', '\ufdfa'.repeat(256)).length > MAX_IDENTITY_KEY_LENGTH);
    assert.throws(
      () => storedIdentifiers({ iamid: 'okta', userid: '\ufdfa'.repeat(256) }),
      refusedWith(/too long once normalised/),
    );
  });
});

describe('search text', () => {
  it('folds accents, case and width; İ and ı are i; fields stay apart', () => {
    assert.equal(searchFold('İstanbul'), 'istanbul');
    assert.equal(searchFold('Kırşehir'), 'kirsehir');
    assert.equal(searchFold('Émile'), 'emile');
    assert.equal(searchFold('Jose\u0301'), searchFold('José'));
    assert.equal(searchFold('Straße'), 'strasse');
    assert.equal(searchFold('Ｗｉｄｅ'), 'wide');
    assert.equal(searchFold('a\u200bb\u0007c'), 'abc');
    const text = searchText({ userid: 'ada', name: 'Lovelace', email: null });
    assert.equal(text, 'ada\u001flovelace\u001f');
    assert.ok(!text.includes(searchFold('adalove')));
  });
});

describe('migration 4', () => {
  it('stores legacy userid and iamid in NFC, with their key and search text', () => {
    assert.deepEqual(
      migratedIdentity({ iamid: 'O\u0301kta', userid: 'Jose\u0301', name: 'É', email: null }),
      {
        iamid: 'Ókta',
        userid: 'José',
        identityKey: identityKey('Ókta', 'José'),
        searchText: 'jose\u001fe\u001f',
      },
    );
  });

  it('groups the users that share a key, oldest first, and names them with a way out', () => {
    const users = [
      { id: 9, iamid: 'okta', userid: 'alice' },
      { id: 3, iamid: 'okta', userid: 'Alice' },
      { id: 4, iamid: 'okta', userid: 'bob' },
      { id: 12, iamid: 'OKTA', userid: 'Ａｌｉｃｅ' },
      { id: 5, iamid: 'okta', userid: 'José' },
      { id: 7, iamid: 'okta', userid: 'Jose\u0301' },
      { id: 8, iamid: 'okta', userid: 'bob\u200b' },
    ];
    const groups = identityCollisions(users);
    assert.deepEqual(
      groups.map((g) => g.map((u) => u.id)),
      [
        [3, 9, 12],
        [4, 8],
        [5, 7],
      ],
    );
    const message = identityCollisionMessage(groups);
    assert.match(message, /3 groups of users/);
    assert.match(message, /id 3 \(iamid "okta", userid "Alice"\), id 9 \(iamid "okta", userid "alice"\)/);
    assert.match(message, /userid "bob<U\+200B>"/, 'invisible characters are shown');
    assert.match(message, /WHERE id IN \(9, 12, 8, 7\);/);
    assert.deepEqual(identityCollisions(users.filter((u) => [3, 4, 5].includes(u.id))), []);
  });
});
