import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { LicensorError, type ErrorCode } from '../../src/domain/errors.js';
import { verifyLicenseKey } from '../../src/keys/license-jws.js';
import type { NewUser, Store } from '../../src/store/store.js';
import { createIssuer } from '../helpers/issuer.js';
import { fixed } from './store-contract.js';

const T0 = new Date('2026-06-01T12:00:00.000Z');
const SINCE = new Date('2026-05-01T12:00:00.000Z');

async function rejectsWithCode(promise: Promise<unknown>, code: ErrorCode, what: string): Promise<void> {
  await assert.rejects(promise, (err: unknown) => {
    assert.ok(err instanceof LicensorError, `${what}: expected a LicensorError ${code}, got ${String(err)}`);
    assert.equal(err.code, code, what);
    return true;
  });
}

/** Spellings that are one identity: the first registered, every other one refused. */
export const SAME_IDENTITY: readonly [what: string, first: string, others: readonly string[]][] = [
  ['case', 'Alice', ['alice', 'ALICE', 'aLiCe']],
  ['width (fullwidth forms, NFKC)', 'Ｂｏｂ', ['Bob', 'ｂｏｂ', 'BOB']],
  ['canonical form (NFC and NFD)', 'José', ['Jose\u0301', 'JOSE\u0301', 'JOSÉ']],
  ['ß folds to ss', 'straße', ['STRASSE', 'strasse', 'STRAẞE']],
  ['the three sigmas', 'ΟΔΟΣ', ['οδοσ', 'οδος', 'Οδος']],
  ['the Kelvin sign and ligatures (NFKC)', 'kﬁt', ['\u212Afit', 'KFIT']],
  ['dotted capital I folds to i with a dot above', 'İzmir', ['i\u0307zmir', 'I\u0307ZMIR']],
];

/** Spellings that are other users: default case folding keeps the Turkish i's apart. */
export const OTHER_IDENTITIES: readonly [what: string, spellings: readonly string[]][] = [
  ['İ, I and ı are three letters', ['İstanbul', 'Istanbul', 'ıstanbul']],
  ['an accent is part of a name', ['Jose', 'José']],
  ['ss is not s', ['strase', 'strasse']],
];

/** Users and searches that must give the same answers on every store (docs/users.md#search). */
export const SEARCH_USERS: readonly { userid: string; name: string | null; email: string | null }[] = [
  { userid: 'u-office', name: 'İstanbul Office', email: null },
  { userid: 'u-nfc', name: 'José Silva', email: 'jose@example.com' },
  { userid: 'u-nfd', name: 'Jose\u0301 Souza', email: null },
  { userid: 'u-writer', name: 'Émile Zola', email: 'EMILE@EXAMPLE.ORG' },
  { userid: 'u-street', name: 'Hauptstraße', email: null },
  { userid: 'u-surname', name: 'Strasser', email: null },
  { userid: 'Ｗｉｄｅ', name: null, email: null },
  { userid: 'u-anatolia', name: 'Kırşehir', email: null },
  { userid: 'u-greek', name: 'ΟΔΟΣ', email: null },
];

export const SEARCHES: readonly [q: string, userids: readonly string[]][] = [
  ['istanbul', ['u-office']],
  ['İSTANBUL', ['u-office']],
  ['İstanbul', ['u-office']],
  ['josé', ['u-nfc', 'u-nfd']],
  ['Jose\u0301', ['u-nfc', 'u-nfd']],
  ['jose', ['u-nfc', 'u-nfd']],
  ['JOSE S', ['u-nfc', 'u-nfd']],
  ['emile', ['u-writer']],
  ['Émile', ['u-writer']],
  ['ÉMILE@', ['u-writer']],
  ['straße', ['u-street', 'u-surname']],
  ['STRASS', ['u-street', 'u-surname']],
  ['ß', ['u-street', 'u-surname']],
  ['wide', ['Ｗｉｄｅ']],
  ['ＷＩＤＥ', ['Ｗｉｄｅ']],
  ['kirsehir', ['u-anatolia']],
  ['οδος', ['u-greek']],
  ['σ', ['u-greek']],
  // A field ends where it ends: no match across userid and name.
  ['nfcjosé', []],
  ['%', []],
  ['_', []],
];

/**
 * One identity per user and one search on every store (docs/users.md): the store contract's cases
 * for what domain/user-identity.ts decides and both stores store.
 */
export function userIdentityContract(
  name: string,
  open: () => Promise<Store>,
  cleanup?: (store: Store) => Promise<void>,
): void {
  const issuer = createIssuer();

  describe(`${name}: one identity per user`, () => {
    let store: Store;
    let sequence = 0;

    beforeEach(async () => {
      store = await open();
      const licenseKey = issuer.issue({ seats: 100 }, T0);
      const { payload, claims } = verifyLicenseKey(licenseKey, issuer.ring);
      await store.addLicense({ licenseKey, payload, claims }, fixed(T0));
    });

    afterEach(async () => {
      await store.close();
      await cleanup?.(store);
    });

    function user(userid: string, more: Partial<NewUser> = {}): NewUser {
      return { userid, iamid: 'okta', name: null, email: null, userType: 'dataConsumer', ...more };
    }

    const at = (): ReturnType<typeof fixed> => fixed(new Date(T0.getTime() + ++sequence));

    it('spellings of one identity are one user: the second is USER_ALREADY_EXISTS', async () => {
      for (const [what, first, others] of SAME_IDENTITY) {
        const created = await store.createUser(user(first), at());
        assert.equal(created.userid, first.normalize('NFC'), `${what}: kept as first registered, in NFC`);
        for (const other of others)
          await rejectsWithCode(
            store.createUser(user(other), at()),
            'USER_ALREADY_EXISTS',
            `${what}: ${other}`,
          );
      }
      // The identity provider's name folds the same way.
      await rejectsWithCode(
        store.createUser(user('alice', { iamid: 'OKTA' }), at()),
        'USER_ALREADY_EXISTS',
        'iamid',
      );
      const { users, total } = await store.listUsers({ offset: 0, size: 100, activeSince: SINCE });
      assert.equal(total, SAME_IDENTITY.length, users.map((u) => u.userid).join(', '));
      assert.equal((await store.readView(T0)).activeUserCount, SAME_IDENTITY.length, 'no seat taken twice');
    });

    it('another spelling of a user is USER_ALREADY_EXISTS even when no seat is free (checked first)', async () => {
      for (const license of await store.listLicenses()) await store.deleteLicense(license.id, at());
      const licenseKey = issuer.issue({ seats: 1 }, T0);
      const { payload, claims } = verifyLicenseKey(licenseKey, issuer.ring);
      await store.addLicense({ licenseKey, payload, claims }, at());
      await store.createUser(user('Alice'), at());
      for (const other of ['ALICE', 'Ａｌｉｃｅ'])
        await rejectsWithCode(store.createUser(user(other), at()), 'USER_ALREADY_EXISTS', other);
      await rejectsWithCode(store.createUser(user('bob'), at()), 'SEAT_LIMIT_REACHED', 'a new user');
    });

    it('other identities are other users', async () => {
      for (const [what, spellings] of OTHER_IDENTITIES)
        for (const spelling of spellings)
          await store.createUser(user(spelling), at()).catch((err: unknown) => {
            assert.fail(`${what}: ${spelling}: ${String(err)}`);
          });
      // The same name in another identity provider is another user.
      await store.createUser(user('Jose', { iamid: 'azure' }), at());
    });

    it('stores userid and iamid in NFC, the spelling first registered', async () => {
      const created = await store.createUser(
        user('Jose\u0301', { iamid: 'O\u0301kta', name: 'Rene\u0301', email: 'jose\u0301@example.com' }),
        at(),
      );
      assert.deepEqual(
        [created.userid, created.iamid, created.name, created.email],
        ['José', 'Ókta', 'René', 'josé@example.com'],
      );
      assert.deepEqual(await store.getUser(created.id), created);
    });

    it('refuses invisible, control, private-use and unassigned characters: INVALID_IDENTIFIER', async () => {
      const refused: [string, NewUser][] = [
        ['zero-width space', user('Alice\u200b')],
        ['zero-width joiner', user('Al\u200dice')],
        ['right-to-left override', user('\u202eecilA')],
        ['byte order mark', user('\ufeffAlice')],
        ['C1 control', user('Alice\u0085')],
        ['private use', user('Alice\ue000')],
        ['unassigned', user('Alice\u0378')],
        ['lone surrogate', user('Alice\ud800')],
        ['line separator', user('Alice\u2028')],
        ['Hangul filler', user('\u3164')],
        ['in iamid', user('Alice', { iamid: 'okta\u200b' })],
        ['name with a bidi control', user('Alice', { name: 'Alice \u202e' })],
        ['email with a control', user('Alice', { email: 'alice@example.com\n' })],
      ];
      for (const [what, refusedUser] of refused)
        await rejectsWithCode(store.createUser(refusedUser, at()), 'INVALID_IDENTIFIER', what);
      const alice = await store.createUser(user('Alice', { name: 'می\u200cخواهم 👩\u200d💻' }), at());
      assert.equal(alice.name, 'می\u200cخواهم 👩\u200d💻', 'a name keeps its joiners');
      await rejectsWithCode(
        store.updateUser(alice.id, { name: 'x\u2066y' }, at()),
        'INVALID_IDENTIFIER',
        'a changed name',
      );
      assert.equal((await store.listUsers({ offset: 0, size: 100, activeSince: SINCE })).total, 1);
    });

    it('searches alike on every store: case, accents, width and form ignored', async () => {
      for (const u of SEARCH_USERS) await store.createUser(user(u.userid, u), at());
      for (const [q, expected] of SEARCHES) {
        const found = await store.listUsers({ offset: 0, size: 100, activeSince: SINCE, search: q });
        assert.deepEqual(
          found.users.map((u) => u.userid),
          expected,
          `q=${q}`,
        );
        assert.equal(found.total, expected.length, `q=${q}: total`);
      }
      // A changed name is searched by its new spelling.
      const [emile] = (await store.listUsers({ offset: 0, size: 1, activeSince: SINCE, search: 'zola' }))
        .users;
      await store.updateUser(emile!.id, { name: 'Émile Ajar' }, at());
      const after = async (q: string): Promise<number> =>
        (await store.listUsers({ offset: 0, size: 100, activeSince: SINCE, search: q })).total;
      assert.deepEqual([await after('zola'), await after('ajar')], [0, 1]);
    });
  });
}
