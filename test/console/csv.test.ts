import assert from 'node:assert/strict';
import { test } from 'node:test';
import { allPages, toCsv } from '../../src/console/csv.js';

test('CSV export: quoted fields, doubled quotes, CRLF lines, formulas kept as text', () => {
  assert.equal(
    toCsv(
      ['id', 'userid', 'name'],
      [
        [1, 'ada', 'Ada "Countess" Lovelace'],
        [2, '=HYPERLINK("http://evil")', null],
        [3, '-2+3', 'line\nbreak, comma'],
        [4, '@SUM(A1)', '+1'],
      ],
    ),
    '"id","userid","name"\r\n' +
      '"1","ada","Ada ""Countess"" Lovelace"\r\n' +
      '"2","\'=HYPERLINK(""http://evil"")",""\r\n' +
      '"3","\'-2+3","line\nbreak, comma"\r\n' +
      '"4","\'@SUM(A1)","\'+1"\r\n',
  );
});

test('CSV export reads every page, and stops at its limit', async () => {
  const records = Array.from({ length: 2500 }, (_, i) => i);
  const calls: number[] = [];
  const fetchPage = (offset: number, size: number) => {
    calls.push(offset);
    return Promise.resolve({ items: records.slice(offset, offset + size), total: records.length });
  };
  assert.deepEqual(await allPages(fetchPage), { items: records, total: 2500 });
  assert.deepEqual(calls, [0, 1000, 2000]);
  const limited = await allPages(fetchPage, 1500);
  assert.equal(limited.items.length, 1500);
});
