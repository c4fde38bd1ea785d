/**
 * Running one comparison: two sides (a Licensor server and its baseline, or Licensor at two sizes),
 * rounds alternating between them so that load from elsewhere on the machine falls on both.
 */
import { latencyStats, runLoad, type LoadResult, type LoadSpec } from './load.js';
import type { Mode } from './mode.js';
import { cpuTimeMs, type BenchProcess } from './processes.js';
import { fmtInt, note } from './progress.js';
import type { Figures, Row } from './report.js';

class InvalidRun extends Error {
  override readonly name = 'InvalidRun';
}

export type RoundResult = LoadResult & {
  latencies: Float64Array;
  /** CPU time the serving process (or this process, for a loop) used per successful operation. */
  cpuUsPerOp: number | undefined;
};

export interface Side {
  name: string;
  /** A load run (autocannon against a server) or an in-process loop; returns one round's result. */
  run(seconds: number, label: string): Promise<RoundResult>;
}

export function httpSide(name: string, proc: BenchProcess, spec: () => LoadSpec, connections: number): Side {
  return {
    name,
    run: async (seconds, label) => {
      const cpu0 = cpuTimeMs(proc.pid);
      const result = await runLoad(spec(), { url: proc.url, connections, seconds, label });
      const cpu1 = cpuTimeMs(proc.pid);
      const cpuUsPerOp =
        cpu0 === undefined || cpu1 === undefined || result.ok === 0
          ? undefined
          : ((cpu1 - cpu0) * 1000) / result.ok;
      return { ...result, cpuUsPerOp };
    },
  };
}

function check(result: LoadResult, label: string): void {
  if (result.ok === 0 || result.failedShare > 0.5)
    throw new InvalidRun(
      `${label}: ${(result.failedShare * 100).toFixed(1)}% of ${result.responses} requests failed (${JSON.stringify(result.statusCounts)}, ${result.errors} connection errors): the run is invalid`,
    );
  if (result.failedShare > 0.01)
    note(`  WARNING ${label}: ${(result.failedShare * 100).toFixed(1)}% of requests failed`);
}

function aggregate(results: RoundResult[]): Figures {
  const ok = results.reduce((s, r) => s + r.ok, 0);
  const responses = results.reduce((s, r) => s + r.responses, 0);
  const seconds = results.reduce((s, r) => s + r.seconds, 0);
  const errors = results.reduce((s, r) => s + r.errors, 0);
  const statusCounts: Record<string, number> = {};
  for (const r of results)
    for (const [code, n] of Object.entries(r.statusCounts))
      statusCounts[code] = (statusCounts[code] ?? 0) + n;
  const cpu = results.flatMap((r) => (r.cpuUsPerOp === undefined ? [] : [{ us: r.cpuUsPerOp, ok: r.ok }]));
  const all = new Float64Array(results.reduce((s, r) => s + r.latencies.length, 0));
  let at = 0;
  for (const r of results) {
    all.set(r.latencies, at);
    at += r.latencies.length;
  }
  return {
    rps: ok / seconds,
    latency: latencyStats(all),
    responses,
    ok,
    seconds,
    failedShare: responses + errors === 0 ? 1 : (responses - ok + errors) / (responses + errors),
    statusCounts,
    cpuUsPerOp: cpu.length === results.length ? cpu.reduce((s, c) => s + c.us * c.ok, 0) / ok : undefined,
    rounds: results.map((r) => ({
      rps: r.rps,
      p50: r.latency.p50,
      p99: r.latency.p99,
      seconds: r.seconds,
      ...(r.cpuUsPerOp !== undefined && { cpuUsPerOp: r.cpuUsPerOp }),
    })),
  };
}

export async function compare(label: string, a: Side, b: Side, mode: Mode): Promise<[Figures, Figures]> {
  note(`\n${label}`);
  if (mode.warmupS > 0)
    for (const side of [a, b])
      check(await side.run(mode.warmupS, `${side.name} warm-up`), `${label} ${side.name}`);
  const results: [RoundResult[], RoundResult[]] = [[], []];
  for (let round = 0; round < mode.rounds; round++) {
    // a b, b a, a b...: neither side always runs first.
    const order = round % 2 === 0 ? ([0, 1] as const) : ([1, 0] as const);
    for (const i of order) {
      const side = i === 0 ? a : b;
      const r = await side.run(mode.roundS, `${side.name} round ${round + 1}/${mode.rounds}`);
      check(r, `${label} ${side.name}`);
      results[i].push(r);
    }
  }
  const figures: [Figures, Figures] = [aggregate(results[0]), aggregate(results[1])];
  const summary = (side: Side, f: Figures): string =>
    `${side.name} ${fmtInt(f.rps)}/s p50 ${f.latency.p50.toFixed(2)} ms` +
    (f.cpuUsPerOp === undefined ? '' : `, ${fmtInt(f.cpuUsPerOp)} µs CPU per op`);
  note(`  = ${summary(a, figures[0])} · ${summary(b, figures[1])}`);
  return figures;
}

/** A row whose figure is Licensor's throughput over its baseline's. */
export function ratioRow(
  id: string,
  scenario: string,
  users: number,
  baselineName: string,
  [licensor, baseline]: [Figures, Figures],
  target: number,
): Row {
  const ratio = licensor.rps / baseline.rps;
  return {
    id,
    scenario,
    users,
    licensor,
    baselineName,
    baseline,
    ratioKind: 'rps',
    ratio,
    target,
    met: ratio >= target,
  };
}
