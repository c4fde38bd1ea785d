import { before, test } from 'node:test';
import { crashCycles } from './crash.case.js';
import {
  createSchema,
  dropSchema,
  postgresSkipReason,
  TEST_DATABASE_URL,
  uniqueSchemaName,
} from '../helpers/postgres.js';
import { cleanup } from '../helpers/cleanup.js';

/** `npm run test:crash` runs 20 cycles; `npm test` a few. */
const CYCLES = Number(process.env.LICENSOR_CRASH_CYCLES ?? 3);

let skip: string | undefined;
before(async () => {
  skip = await postgresSkipReason();
});

test(
  `PostgreSQL survives ${CYCLES} SIGKILLs mid-write with nothing acknowledged lost`,
  { timeout: 300_000 },
  async (t) => {
    if (skip) return t.skip(skip);
    const schema = uniqueSchemaName('licensor_crash');
    await createSchema(schema);
    cleanup(t, () => dropSchema(schema));
    const url = new URL(TEST_DATABASE_URL);
    url.searchParams.set('options', `-c search_path=${schema}`);
    const result = await crashCycles(t, { cycles: CYCLES, env: { DATABASE_URL: url.toString() } });
    t.diagnostic(
      `${result.cycles} kill cycles, ${result.writes} writes sent, ${result.acknowledged} acknowledged`,
    );
  },
);
