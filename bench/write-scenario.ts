/**
 * The write figures: POST /admin/users/{id}/activity and POST /admin/users (a seat claim) against
 * the same statement as a raw SQL transaction on the same driver and database (bench/baseline-server.ts).
 */
import { compare, httpSide, ratioRow } from './lib/compare.js';
import type { Dataset } from './lib/dataset.js';
import { TARGETS, type Mode } from './lib/mode.js';
import type { BenchProcess } from './lib/processes.js';
import { fmtUsers } from './lib/progress.js';
import type { Row } from './lib/report.js';
import { activitySpec, claimSpec } from './lib/specs.js';

export async function writeScenario(
  id: 'activity' | 'seat-claim',
  ds: Dataset,
  baseline: BenchProcess,
  mode: Mode,
): Promise<Row> {
  const scenario = id === 'activity' ? 'POST /admin/users/{id}/activity' : 'POST /admin/users (seat claim)';
  const make = (token?: string) => (id === 'activity' ? activitySpec(ds.todayIds, token) : claimSpec(token));
  const figures = await compare(
    `${ds.target.store} · ${scenario} · ${fmtUsers(ds.size)} users vs raw SQL transaction (same driver, same database)`,
    httpSide('licensor', ds.server, make(ds.token), mode.connections),
    httpSide('baseline', baseline, make(), mode.connections),
    mode,
  );
  const baselineName = id === 'activity' ? 'raw SQL `UPDATE users`' : 'raw SQL `INSERT INTO users`';
  return ratioRow(id, scenario, ds.size, baselineName, figures, TARGETS.write);
}
