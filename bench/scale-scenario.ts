/**
 * The scale figures: each read and write on the large dataset against the small one, as a ratio of
 * p50 latencies.
 */
import { compare, httpSide } from './lib/compare.js';
import type { Dataset } from './lib/dataset.js';
import type { LoadSpec } from './lib/load.js';
import { TARGETS, type Mode } from './lib/mode.js';
import { fmtUsers } from './lib/progress.js';
import type { Row } from './lib/report.js';
import { activitySpec, claimSpec, ENTITLEMENTS_PATH, getSpec, STATUS_PATH } from './lib/specs.js';

export async function scaleScenario(
  id: 'status' | 'entitlements' | 'activity' | 'seat-claim',
  small: Dataset,
  large: Dataset,
  mode: Mode,
): Promise<Row> {
  const spec = (ds: Dataset): (() => LoadSpec) =>
    id === 'status'
      ? getSpec(STATUS_PATH, ds.token)
      : id === 'entitlements'
        ? getSpec(ENTITLEMENTS_PATH, ds.token)
        : id === 'activity'
          ? activitySpec(ds.todayIds, ds.token)
          : claimSpec(ds.token);
  const names = {
    status: `GET ${STATUS_PATH}`,
    entitlements: `GET ${ENTITLEMENTS_PATH}`,
    activity: 'POST /admin/users/{id}/activity',
    'seat-claim': 'POST /admin/users (seat claim)',
  };
  const [atLarge, atSmall] = await compare(
    `${large.target.store} · scale · ${names[id]} · ${fmtUsers(large.size)} vs ${fmtUsers(small.size)} users`,
    httpSide(`licensor ${fmtUsers(large.size)}`, large.server, spec(large), mode.connections),
    httpSide(`licensor ${fmtUsers(small.size)}`, small.server, spec(small), mode.connections),
    mode,
  );
  const ratio = atLarge.latency.p50 / atSmall.latency.p50;
  return {
    id: `scale-${id}`,
    scenario: `scale: ${names[id]}`,
    users: large.size,
    licensor: atLarge,
    baselineName: `Licensor at ${fmtUsers(small.size)} users`,
    baseline: atSmall,
    ratioKind: 'p50-latency',
    ratio,
    target: TARGETS.scale,
    met: ratio <= TARGETS.scale,
  };
}
