import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import fc from 'fast-check';
import pg from 'pg';
import { escapeLiteral, literal, sql } from '../../src/store/postgres/postgres-sql.js';
import { postgresSkipReason, withTestClient } from '../helpers/postgres.js';

/** Strings heavy in what a literal must escape, beside arbitrary ones. */
const tricky = fc.oneof(
  fc.string({ unit: 'grapheme', maxLength: 200 }),
  fc.string({ unit: fc.constantFrom("'", '\\', 'E', 'a', ' ', ';', '"', '\n', '$', 'é'), maxLength: 60 }),
);

/** Literals written in by the PostgreSQL store (src/store/postgres/postgres-sql.ts). */
describe('SQL literals (PostgreSQL store)', () => {
  it("escapeLiteral writes exactly what pg's escapeLiteral writes", () => {
    fc.assert(
      fc.property(tricky, (text) => {
        assert.equal(escapeLiteral(text), pg.escapeLiteral(text));
      }),
      { numRuns: 2000 },
    );
    for (const text of ['', "'", '\\', "\\'", "it's", 'C:\\dir', "E'x'"])
      assert.equal(escapeLiteral(text), pg.escapeLiteral(text));
  });

  describe('read back by PostgreSQL', () => {
    let skip: string | undefined;
    before(async () => {
      skip = await postgresSkipReason();
    });

    it('means the same string, date and array it was made from', async (t) => {
      if (skip) return t.skip(skip);
      // PostgreSQL's text holds no NUL character.
      const samples = fc.sample(tricky, { numRuns: 300, seed: 11 }).filter((s) => !s.includes('\u0000'));
      samples.push("'; DROP TABLE x; --", 'a\\', '\\\\', "\\'", 'x\u2028y', '😀');
      const at = new Date('2026-12-01T11:50:00.123Z');
      await withTestClient(async (client) => {
        // Both settings of standard_conforming_strings read an E'' literal the same way.
        for (const conforming of ['on', 'off']) {
          await client.query(`SET standard_conforming_strings = ${conforming}`);
          const { rows } = await client.query<{ s: string }>(
            `SELECT s FROM (VALUES ${samples.map((s, i) => `(${i}, ${literal(s)})`).join(', ')}) AS v(i, s) ORDER BY i`,
          );
          assert.deepEqual(
            rows.map((r) => r.s),
            samples,
            `standard_conforming_strings = ${conforming}`,
          );
        }
        const { rows } = await client.query<{ at: Date; a: string[] }>(
          sql`SELECT ${at} AS at, ${samples.slice(0, 20)} AS a`,
        );
        assert.equal(rows[0]?.at.toISOString(), at.toISOString());
        assert.deepEqual(rows[0]?.a, samples.slice(0, 20));
      });
    });
  });
});
