import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MAX_PAGE_SIZE as CLI_MAX_PAGE_SIZE, pageOf } from '../../src/cli/option-values.js';
import { formatTime, Output, pageLine, printable, relativeDays } from '../../src/cli/output.js';
import { MAX_PAGE_SIZE } from '../../src/api/user-schemas.js';

function capture(color: boolean): { out: Output; text: () => string } {
  let text = '';
  return { out: new Output({ json: false, color, write: (s) => (text += s) }), text: () => text };
}

const ESC = '\u001b';
const strip = (s: string): string => s.split(new RegExp(`${ESC}\\[\\d+m`)).join('');

test('tables are aligned by visible width, with or without colour; no trailing spaces', () => {
  const rows = [
    ['1', { text: 'active', style: 'green' as const }, '20', 'FPE'],
    ['12', { text: 'expired', style: 'red' as const }, '5', ''],
  ];
  const columns = [
    { header: 'ID', align: 'right' as const },
    { header: 'STATE' },
    { header: 'SEATS', align: 'right' as const },
    { header: 'FEATURES' },
  ];
  const plain = capture(false);
  plain.out.table(columns, rows);
  assert.equal(
    plain.text(),
    ['ID  STATE    SEATS  FEATURES', ' 1  active      20  FPE', '12  expired      5', ''].join('\n'),
  );
  const coloured = capture(true);
  coloured.out.table(columns, rows);
  assert.ok(coloured.text().includes(`${ESC}[32mactive `), 'green, padded inside the colour');
  assert.ok(coloured.text().includes(`${ESC}[1mID${ESC}[22m`), 'bold headers');
  assert.equal(strip(coloured.text()), plain.text());
});

test('fields align their values; printable escapes control characters', () => {
  const { out, text } = capture(false);
  out.fields([
    ['Seats', '3 used of 20'],
    ['Next expiry', { text: 'never', style: 'dim' }],
  ]);
  assert.equal(text(), 'Seats:        3 used of 20\nNext expiry:  never\n');
  assert.equal(printable(`a${ESC}[2Jb\tc\u009bd é`), 'a\\u001b[2Jb\\u0009c\\u009bd é');
  assert.equal(printable('one\ntwo', { keepNewlines: true }), 'one\ntwo');
});

test('times, relative days and page lines read as sentences', () => {
  assert.equal(formatTime('2027-12-31T00:00:00.000Z'), '2027-12-31');
  assert.equal(formatTime('2027-12-31T13:45:10.000Z'), '2027-12-31 13:45 UTC');
  const now = new Date('2026-06-01T12:00:00.000Z');
  assert.equal(relativeDays('2026-06-11T12:00:00.000Z', now), 'in 10 days');
  assert.equal(relativeDays('2026-06-02T12:00:00.000Z', now), 'in 1 day');
  assert.equal(relativeDays('2026-05-30T12:00:00.000Z', now), '2 days ago');
  assert.equal(relativeDays('2026-06-01T18:00:00.000Z', now), 'later today');
  assert.equal(pageLine(10, 5, 15, 'users'), 'Showing 11-15 of 15 users.');
  assert.equal(pageLine(20, 0, 15, 'users'), 'No users at offset 20 (15 in all).');
});

test('JSON is printed as the API sent it', () => {
  const { out, text } = capture(false);
  out.printJson({ a: [1, { b: null }] });
  assert.deepEqual(JSON.parse(text()), { a: [1, { b: null }] });
});

test("the CLI's page limits are the server's", () => {
  assert.equal(CLI_MAX_PAGE_SIZE, MAX_PAGE_SIZE);
  assert.deepEqual(pageOf({ offset: '0', size: String(MAX_PAGE_SIZE) }), { offset: 0, size: MAX_PAGE_SIZE });
  assert.throws(() => pageOf({ size: String(MAX_PAGE_SIZE + 1) }), { name: 'UsageError' });
  assert.deepEqual(pageOf({}), {});
});
