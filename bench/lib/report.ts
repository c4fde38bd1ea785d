import { cpus, loadavg, release, totalmem, type as osType } from 'node:os';
import { fmtInt, fmtMs, fmtUsers } from './progress.js';
import type { LatencyStats } from './load.js';

/** One side of a comparison, aggregated over its rounds. */
export interface Figures {
  /** Successful requests (or in-process operations) per second. */
  rps: number;
  latency: LatencyStats;
  responses: number;
  ok: number;
  seconds: number;
  failedShare: number;
  statusCounts: Record<string, number>;
  /** CPU time of the serving process per successful request (for the loop: of the bench process). */
  cpuUsPerOp: number | undefined;
  rounds: { rps: number; p50: number; p99: number; seconds: number; cpuUsPerOp?: number }[];
}

export interface Row {
  id: string;
  scenario: string;
  users: number;
  /** Licenses on the measured server, where the scenario is about their number. */
  licenses?: number;
  licensor?: Figures;
  baselineName: string;
  baseline?: Figures;
  /** What the ratio is of: throughput (higher is better), latency or memory (lower is better). */
  ratioKind: 'rps' | 'p50-latency' | 'rss-mb' | 'max-ms';
  ratio: number;
  target: number;
  met: boolean;
  note?: string;
}

export interface StoreReport {
  store: string;
  quick: boolean;
  rows: Row[];
  seeding: { users: number; licenses: number; seconds: number; rowsPerSecond: number }[];
  memory?: { vmHwmBytes: number; maxPolledRssBytes: number; samples: number; users: number };
  /** Peak RSS of the licenses scenario's many-license server. */
  licensesMemory?: {
    vmHwmBytes: number;
    maxPolledRssBytes: number;
    samples: number;
    users: number;
    licenses: number;
  };
}

export function machine(): Record<string, unknown> {
  const cpu = cpus();
  return {
    cpuModel: cpu[0]?.model ?? 'unknown',
    cpus: cpu.length,
    totalMemoryMB: Math.round(totalmem() / 2 ** 20),
    os: `${osType()} ${release()}`,
    loadAverage: loadavg().map((l) => Number(l.toFixed(2))),
  };
}

function targetText(row: Row): string {
  if (row.ratioKind === 'rps') return `≥ ${row.target}`;
  if (row.ratioKind === 'p50-latency') return `≤ ${row.target}`;
  if (row.ratioKind === 'max-ms') return `< ${row.target} ms`;
  return `< ${row.target} MB`;
}

function rpsCell(f: Figures | undefined, unit = 'req/s'): string {
  if (!f) return '—';
  // A share of refused requests is shown, never hidden in the rate.
  const failed = f.failedShare > 0.001 ? ` (${(f.failedShare * 100).toFixed(1)}% failed)` : '';
  return `${fmtInt(f.rps)} ${unit}${failed}`;
}

function latCell(f: Figures | undefined): string {
  return f ? `${fmtMs(f.latency.p50)} / ${fmtMs(f.latency.p99)}` : '—';
}

/** The results as a Markdown table (what the README's Performance section shows). */
export function markdownTable(reports: StoreReport[]): string {
  const lines = [
    '| Store | Scenario | Users | Licensor | p50 / p99 ms | Baseline | Baseline | p50 / p99 ms | Ratio | Target | |',
    '| ----- | -------- | ----: | -------: | -----------: | -------- | -------: | -----------: | ----: | :----: | - |',
  ];
  for (const report of reports) {
    for (const row of report.rows) {
      const loop = row.id === 'license-add';
      const ratio =
        row.ratioKind === 'rss-mb'
          ? `${row.ratio.toFixed(0)} MB`
          : row.ratioKind === 'max-ms'
            ? `${row.ratio.toFixed(0)} ms (max)`
            : row.ratioKind === 'p50-latency'
              ? `${row.ratio.toFixed(2)} (p50)`
              : row.ratio.toFixed(2);
      lines.push(
        `| ${report.store} | ${row.scenario} | ${fmtUsers(row.users)} | ${row.ratioKind === 'rss-mb' || row.ratioKind === 'max-ms' ? '—' : rpsCell(row.licensor)} | ${latCell(row.licensor)} | ${row.baselineName} | ${rpsCell(row.baseline, loop ? 'ops/s' : 'req/s')} | ${latCell(row.baseline)} | ${ratio} | ${targetText(row)} | ${report.quick ? 'quick: not judged' : row.met ? 'met' : '**missed**'} |`,
      );
    }
  }
  return lines.join('\n');
}
