import { LicensorError } from './errors.js';

/**
 * One identity per user (docs/users.md): which characters a user's fields may hold, the identity
 * key that makes (iamid, userid) unique whatever the case, width or Unicode normal form, and the
 * folded text a search matches. Both stores store what these functions compute, so they can
 * never disagree on who is the same user or on what a search finds.
 *
 * Case folding: JavaScript has no full case-folding API. `caseFold` maps each code point through
 * toLowerCase, toUpperCase and toLowerCase again (locale-independent), which gives the same
 * classes as Unicode's default full case folding (CaseFolding.txt, statuses C and F): "ß", "ẞ"
 * and "ss" are one, "Σ", "σ" and "ς" are one, "İ" folds to "i" + U+0307 (not "i"). The one
 * exception is the dotless "ı", which the round trip would turn into "i" and default folding
 * leaves alone; it is kept. Checked against Python's str.casefold() over every assigned code
 * point (test/domain/user-identity.test.ts holds the cases that matter). Mapping code point by
 * code point avoids toLowerCase's context rule for a final sigma.
 *
 * Stability: only assigned characters are ever stored (unassigned ones are refused), and Unicode
 * guarantees that normalisation and case folding of assigned characters never change, so a key
 * computed today is the key a later Node computes.
 */

/** The fields a user's text is kept in. */
export type UserTextField = 'userid' | 'iamid' | 'name' | 'email';

/**
 * Refused in userid and iamid: controls (Cc), format characters (Cf: zero-width spaces and
 * joiners, bidi controls, the BOM, soft hyphen), private use (Co), unassigned code points and
 * noncharacters (Cn), lone surrogates (Cs), line and paragraph separators (Zl, Zp), and the other
 * default-ignorable characters (Hangul fillers, variation selectors, the combining grapheme joiner):
 * all invisible or undefined, so two identifiers that look alike could differ only by them.
 */
const REFUSED_IN_IDENTIFIER = /[\p{Cc}\p{Cf}\p{Co}\p{Cn}\p{Cs}\p{Zl}\p{Zp}\p{Default_Ignorable_Code_Point}]/u;

/**
 * Refused in name and email: the same, except format and default-ignorable characters other than
 * bidi controls, which names need (the zero-width non-joiner of Persian and Indic names, the
 * zero-width joiner of emoji sequences, soft hyphens). Bidi controls reorder how text around them
 * is shown (a "Trojan source" in the console, logs and CSV), so they are refused here as well.
 */
const REFUSED_IN_TEXT = /[\p{Cc}\p{Co}\p{Cn}\p{Cs}\p{Zl}\p{Zp}\p{Bidi_Control}]/u;

/**
 * The most UTF-16 units an identity key may have: at 3 UTF-8 bytes a unit at most, it fits a
 * PostgreSQL index entry (2,704 bytes). Only identifiers full of compatibility characters that
 * expand under NFKC (ligatures, U+FDFA) come near it.
 */
export const MAX_IDENTITY_KEY_LENGTH = 768;

/** U+0041 style, for messages. */
export function codePointName(ch: string): string {
  return `U+${(ch.codePointAt(0) ?? 0).toString(16).toUpperCase().padStart(4, '0')}`;
}

function kindOf(ch: string): string {
  if (/\p{Cc}/u.test(ch)) return 'a control character';
  if (/\p{Bidi_Control}/u.test(ch)) return 'a bidi control';
  if (/\p{Cf}/u.test(ch)) return 'an invisible format character';
  if (/\p{Co}/u.test(ch)) return 'a private-use character';
  if (/\p{Cs}/u.test(ch)) return 'a lone surrogate';
  if (/\p{Cn}/u.test(ch)) return 'an unassigned code point';
  if (/[\p{Zl}\p{Zp}]/u.test(ch)) return 'a line or paragraph separator';
  return 'an invisible character';
}

function refuse(field: UserTextField, detail: string): never {
  throw new LicensorError('INVALID_IDENTIFIER', `${field} ${detail}`);
}

/** The first character of `value` its field refuses, or undefined when there is none. */
export function refusedCharacter(field: UserTextField, value: string): string | undefined {
  const refused = field === 'userid' || field === 'iamid' ? REFUSED_IN_IDENTIFIER : REFUSED_IN_TEXT;
  return refused.exec(value)?.[0];
}

/**
 * The value to store for a user's field: refused (INVALID_IDENTIFIER, naming the field and the
 * character) when it holds a character its field refuses, else in NFC, so canonically equivalent
 * spellings ("José" precomposed or with a combining accent) are stored alike.
 */
export function storedText(field: UserTextField, value: string): string {
  const ch = refusedCharacter(field, value);
  if (ch !== undefined) refuse(field, `holds ${codePointName(ch)}, ${kindOf(ch)}, which it may not hold`);
  return value.normalize('NFC');
}

/** ASCII only: folds as toLowerCase() does, and needs no normalising. */
const ASCII = /^\p{ASCII}*$/u;

/** Unicode default full case folding, code point by code point (see the top of this file). */
export function caseFold(value: string): string {
  if (ASCII.test(value)) return value.toLowerCase();
  let folded = '';
  for (const ch of value) folded += ch === 'ı' ? ch : ch.toLowerCase().toUpperCase().toLowerCase();
  return folded;
}

const DEFAULT_IGNORABLE = /\p{Default_Ignorable_Code_Point}/gu;

/**
 * One identifier as the identity key sees it: NFKC (so fullwidth "Ａｌｉｃｅ" is "Alice" and "ﬁ"
 * is "fi"), case folded, default-ignorable characters removed, NFKC again: Unicode's
 * NFKC_Casefold, with the case folding above. Idempotent.
 */
export function identityFold(value: string): string {
  if (ASCII.test(value)) return value.toLowerCase();
  return caseFold(value.normalize('NFKC')).replace(DEFAULT_IGNORABLE, '').normalize('NFKC');
}

/**
 * The identity of a user: two users with the same key are the same user. Stored in
 * users.identity_key under a unique index; JSON, so the pair is unambiguous and readable.
 */
export function identityKey(iamid: string, userid: string): string {
  return JSON.stringify([identityFold(iamid), identityFold(userid)]);
}

/** Removed before a search compares: accents and other marks, invisible and control characters. */
const SEARCH_IGNORED = /[\p{Mn}\p{Me}\p{Cc}\p{Cf}\p{Default_Ignorable_Code_Point}]/gu;

/**
 * Text as a search compares it: compatibility-decomposed (NFKD), nonspacing and enclosing marks
 * dropped (so "É", "é" and "e" are alike, and "İ" is "I"), case folded, and the dotless "ı" taken
 * as "i". A search for "istanbul" finds "İstanbul"; "ss" finds "Straße". Never holds a control
 * character.
 */
export function searchFold(value: string): string {
  if (ASCII.test(value)) return value.toLowerCase().replace(/\p{Cc}/gu, '');
  const bare = (s: string): string => s.normalize('NFKD').replace(SEARCH_IGNORED, '');
  return bare(caseFold(bare(value)).replace(/ı/g, 'i'));
}

/** Separates the fields of users.search_text; searchFold never leaves one in a search. */
const SEARCH_FIELD_SEPARATOR = '\u001f';

/**
 * What a user's search matches, stored in users.search_text: its userid, name and email, each
 * folded, apart. A search matches when its folded text is a substring of one of them.
 */
export function searchText(user: { userid: string; name: string | null; email: string | null }): string {
  return [user.userid, user.name ?? '', user.email ?? ''].map(searchFold).join(SEARCH_FIELD_SEPARATOR);
}

/** The columns a user row carries besides its own fields; the stores write exactly these. */
export function identityColumns(user: {
  iamid: string;
  userid: string;
  name: string | null;
  email: string | null;
}): { identityKey: string; searchText: string } {
  return { identityKey: identityKey(user.iamid, user.userid), searchText: searchText(user) };
}

/**
 * A new user's userid and iamid as stored: each as storedText() makes it, and refused when the
 * pair's identity key would be longer than MAX_IDENTITY_KEY_LENGTH.
 */
export function storedIdentifiers(user: { iamid: string; userid: string }): {
  iamid: string;
  userid: string;
} {
  const iamid = storedText('iamid', user.iamid);
  const userid = storedText('userid', user.userid);
  if (identityKey(iamid, userid).length > MAX_IDENTITY_KEY_LENGTH)
    refuse('userid', `and iamid are too long once normalised (compatibility characters expand under NFKC)`);
  return { iamid, userid };
}

/**
 * What migration 4 writes for a user stored before it: userid and iamid in NFC (canonically
 * equivalent, so they show the same), and the identity and search columns. Characters refused
 * today are kept: the user was accepted once, and its key ignores the invisible ones.
 */
export function migratedIdentity(user: {
  iamid: string;
  userid: string;
  name: string | null;
  email: string | null;
}): { iamid: string; userid: string; identityKey: string; searchText: string } {
  const iamid = user.iamid.normalize('NFC');
  const userid = user.userid.normalize('NFC');
  return { iamid, userid, ...identityColumns({ ...user, iamid, userid }) };
}

/** A stored user as a collision report names it. */
export interface IdentityHolder {
  id: number;
  iamid: string;
  userid: string;
}

/**
 * A string with its invisible and unusual characters shown as <U+XXXX>, and a note when it is not
 * in NFC (it then looks like its NFC twin), for an operator to tell apart.
 */
function visible(value: string): string {
  let shown = '';
  for (const ch of value)
    shown +=
      /[\p{C}\p{Z}\p{Default_Ignorable_Code_Point}]/u.test(ch) && ch !== ' ' ? `<${codePointName(ch)}>` : ch;
  return JSON.stringify(shown) + (value === value.normalize('NFC') ? '' : ' (not in NFC)');
}

/** How many groups a collision report lists; renaming those and starting again shows the rest. */
const REPORTED_GROUPS = 200;

/**
 * The users that share an identity key, grouped, the lowest id first in each group; empty when
 * none do. Migration 4 refuses to start on such a database (docs/users.md#collisions).
 */
export function identityCollisions(users: readonly IdentityHolder[]): IdentityHolder[][] {
  const groups = new Map<string, IdentityHolder[]>();
  for (const user of users) {
    const key = identityKey(user.iamid, user.userid);
    groups.set(key, [...(groups.get(key) ?? []), user]);
  }
  return [...groups.values()]
    .filter((group) => group.length > 1)
    .map((group) => [...group].sort((a, b) => a.id - b.id))
    .sort((a, b) => (a[0] as IdentityHolder).id - (b[0] as IdentityHolder).id);
}

/** Migration 4 refused to run: users collide (the message names them and the way out). */
export class IdentityCollisionError extends Error {
  override readonly name = 'IdentityCollisionError';
}

/**
 * Why migration 4 cannot run, for the operator: every group of users that would become one
 * identity, and the statement that renames all but the first of each so none is merged.
 */
export function identityCollisionMessage(groups: readonly (readonly IdentityHolder[])[]): string {
  const shown = groups.slice(0, REPORTED_GROUPS);
  const lines = shown.map(
    (group) =>
      `  - ${group.map((u) => `id ${u.id} (iamid ${visible(u.iamid)}, userid ${visible(u.userid)})`).join(', ')}`,
  );
  if (groups.length > shown.length)
    lines.push(`  ... and ${groups.length - shown.length} more groups, listed once these are renamed`);
  const renamed = shown.flatMap((group) => group.slice(1).map((u) => u.id));
  return [
    `migration 4 (one identity per user) cannot run: ${groups.length} groups of users differ only in case,`,
    'width, Unicode normal form or invisible characters, and Licensor merges no users silently:',
    ...lines,
    'Rename all but one user of each group in the database, then start Licensor again; for example,',
    'keeping the oldest of each (docs/users.md#collisions):',
    `  UPDATE users SET userid = userid || '~' || id WHERE id IN (${renamed.join(', ')});`,
  ].join('\n');
}
