import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import Database from 'better-sqlite3';
import { crashCycles } from './crash.case.js';
import { tempDir } from '../helpers/process.js';

/** `npm run test:crash` runs 20 cycles; `npm test` a few. */
const CYCLES = Number(process.env.LICENSOR_CRASH_CYCLES ?? 3);

test(
  `SQLite survives ${CYCLES} SIGKILLs mid-write with nothing acknowledged lost`,
  { timeout: 300_000 },
  async (t) => {
    const dataDir = join(tempDir(t), 'data');
    const result = await crashCycles(t, {
      cycles: CYCLES,
      env: { LICENSOR_DATA_DIR: dataDir },
      afterKill: () => {
        // The killed process's database must open cleanly and pass SQLite's own check.
        assert.ok(readdirSync(dataDir).includes('licensor.sqlite'));
        const db = new Database(join(dataDir, 'licensor.sqlite'));
        try {
          assert.equal(db.pragma('integrity_check', { simple: true }), 'ok');
        } finally {
          db.close();
        }
      },
    });
    t.diagnostic(
      `${result.cycles} kill cycles, ${result.writes} writes sent, ${result.acknowledged} acknowledged`,
    );
  },
);
