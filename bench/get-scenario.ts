/**
 * The read figures: GET /admin/license/licenseStatus and GET /license/entitlements against a bare
 * Fastify route answering the same body (bench/baseline-server.ts).
 */
import { compare, httpSide, ratioRow } from './lib/compare.js';
import type { Dataset } from './lib/dataset.js';
import { TARGETS, type Mode } from './lib/mode.js';
import type { BenchProcess } from './lib/processes.js';
import { fmtUsers } from './lib/progress.js';
import type { Row } from './lib/report.js';
import { ENTITLEMENTS_PATH, getSpec, STATUS_PATH } from './lib/specs.js';

export async function getScenario(
  id: 'status' | 'entitlements',
  ds: Dataset,
  baseline: BenchProcess,
  mode: Mode,
): Promise<Row> {
  const path = id === 'status' ? STATUS_PATH : ENTITLEMENTS_PATH;
  const figures = await compare(
    `${ds.target.store} · GET ${path} · ${fmtUsers(ds.size)} users vs bare Fastify route (precomputed body)`,
    httpSide('licensor', ds.server, getSpec(path, ds.token), mode.connections),
    httpSide('baseline', baseline, getSpec(path), mode.connections),
    mode,
  );
  return ratioRow(id, `GET ${path}`, ds.size, 'bare Fastify, same body', figures, TARGETS.get);
}
