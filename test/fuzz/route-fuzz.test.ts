import { test } from 'node:test';
import { ABSURD_NUMBERS, fuzzRoutes, sweepQueryNumbers } from './route-fuzz.case.js';

/** `npm run test:fuzz` runs 10,000 generated requests; `npm test` a sample. */
const RUNS = Number(process.env.LICENSOR_FUZZ_RUNS ?? 400);

test(
  `${RUNS} generated requests over every route: no 5xx, no hang, problem bodies, no change when refused`,
  { timeout: 900_000 },
  async (t) => {
    const { requests, refused, byStatus } = await fuzzRoutes(t, RUNS);
    t.diagnostic(`${requests} requests, ${refused} refused; by status ${JSON.stringify(byStatus)}`);
  },
);

test(`every query parameter of every route with ${ABSURD_NUMBERS.length} absurd numbers: no 5xx, problem bodies, no change when refused`, async (t) => {
  const byStatus = await sweepQueryNumbers(t);
  t.diagnostic(`by status ${JSON.stringify(byStatus)}`);
});
