/** The licenses figure: licenseStatus with many licenses against few, the same seats in total. */
import { compare, httpSide } from './lib/compare.js';
import type { Dataset } from './lib/dataset.js';
import { TARGETS, type Mode } from './lib/mode.js';
import { fmtInt, fmtUsers } from './lib/progress.js';
import type { Row } from './lib/report.js';
import { getSpec, STATUS_PATH } from './lib/specs.js';

/**
 * Status with many licenses against status with few: two servers with the same users and the same
 * seats in total, rounds alternating. The ratio is of p50 latencies, as for scale.
 */
export async function licensesScenario(few: Dataset, many: Dataset, mode: Mode): Promise<Row> {
  const [atMany, atFew] = await compare(
    `${many.target.store} · licenses · GET ${STATUS_PATH} · ${fmtInt(many.licenses)} vs ${fmtInt(few.licenses)} licenses, ${fmtUsers(many.size)} users`,
    httpSide(
      `licensor ${fmtInt(many.licenses)} licenses`,
      many.server,
      getSpec(STATUS_PATH, many.token),
      mode.connections,
    ),
    httpSide(
      `licensor ${fmtInt(few.licenses)} licenses`,
      few.server,
      getSpec(STATUS_PATH, few.token),
      mode.connections,
    ),
    mode,
  );
  const ratio = atMany.latency.p50 / atFew.latency.p50;
  return {
    id: 'licenses-status',
    scenario: `${fmtInt(many.licenses)} licenses: GET ${STATUS_PATH}`,
    users: many.size,
    licenses: many.licenses,
    licensor: atMany,
    baselineName: `Licensor with ${fmtInt(few.licenses)} licenses`,
    baseline: atFew,
    ratioKind: 'p50-latency',
    ratio,
    target: TARGETS.licenses,
    met: ratio <= TARGETS.licenses,
  };
}
