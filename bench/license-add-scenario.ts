/**
 * The license-add figure: POST /admin/license against this process verifying each key and
 * inserting it in a loop. Run last: it adds thousands of licenses, which every later status read
 * would list.
 */
import { verifyLicenseKeyForAdd } from '../src/keys/license-jws.js';
import { compare, httpSide, ratioRow, type Side } from './lib/compare.js';
import { signKeys, type Dataset } from './lib/dataset.js';
import type { BenchIssuer } from './lib/issuer.js';
import { latencyStats, type LoadSpec } from './lib/load.js';
import { TARGETS, type Context, type Mode } from './lib/mode.js';
import { bar, fmtInt, fmtUsers, note, StatusLine } from './lib/progress.js';
import type { Row } from './lib/report.js';

/** Verify + insert per key in this process: the endpoint's work without HTTP, auth, audit or checks. */
function licenseLoopSide(ds: Dataset, keys: string[], ctx: Context): Side {
  let next = 0;
  return {
    name: 'in-process loop',
    run: async (seconds, label) => {
      const writer = await ds.db.licenseWriter();
      const line = new StatusLine();
      const latencies = new Float64Array(keys.length);
      let ok = 0;
      const started = performance.now();
      const cpu0 = process.cpuUsage();
      const deadline = started + seconds * 1000;
      const ticker = setInterval(() => {
        const elapsed = (performance.now() - started) / 1000;
        line.update(
          `  ${label} ${bar(elapsed / seconds)} ${elapsed.toFixed(1)}/${seconds} s  ${fmtInt(ok / Math.max(elapsed, 0.001))} ops/s`,
        );
      }, 250);
      const worker = async (): Promise<void> => {
        while (performance.now() < deadline && next < keys.length) {
          const key = keys[next++]!;
          const t0 = performance.now();
          const at = new Date();
          const verified = verifyLicenseKeyForAdd(key, ctx.issuer.ring, at);
          await writer.insert({
            uuid: verified.claims.uuid,
            key,
            payload: JSON.stringify(verified.payload),
            hardDelete: verified.claims.hardDelete,
            at: at.toISOString(),
          });
          latencies[ok++] = performance.now() - t0;
          // better-sqlite3 never yields: let the progress line through now and then.
          if (ok % 64 === 0) await new Promise((r) => setImmediate(r));
        }
      };
      try {
        await Promise.all(Array.from({ length: writer.concurrency }, worker));
      } finally {
        clearInterval(ticker);
        await writer.close();
      }
      const elapsed = (performance.now() - started) / 1000;
      const cpu = process.cpuUsage(cpu0);
      if (next >= keys.length && elapsed < seconds * 0.9)
        note(`  WARNING ${label}: ran out of pre-signed keys after ${elapsed.toFixed(1)} s`);
      const result = {
        responses: ok,
        ok,
        failedShare: 0,
        errors: 0,
        timeouts: 0,
        statusCounts: {},
        seconds: elapsed,
        rps: ok / elapsed,
        latency: latencyStats(latencies.subarray(0, ok)),
        latencies: latencies.subarray(0, ok),
        cpuUsPerOp: ok === 0 ? undefined : (cpu.user + cpu.system) / ok,
      };
      line.done(
        `  ${label} ${fmtInt(result.rps)} ops/s  p50 ${result.latency.p50.toFixed(2)} ms  p99 ${result.latency.p99.toFixed(2)} ms`,
      );
      return result;
    },
  };
}

const MAX_KEYS = 40_000;

/** Keys the license-add runs may use up: no side can go faster than this process verifies keys. */
function keyBudget(mode: Mode, issuer: BenchIssuer): number {
  const sample = Array.from({ length: 200 }, (_, i) => issuer.sign(i, 1));
  const t0 = performance.now();
  for (const key of sample) verifyLicenseKeyForAdd(key, issuer.ring, new Date());
  const verifyPerS = sample.length / ((performance.now() - t0) / 1000);
  const seconds = mode.warmupS + mode.rounds * mode.roundS;
  // Capped: signing is slow too, and no side gets anywhere near verify speed on this path.
  return Math.min(MAX_KEYS, Math.ceil(seconds * verifyPerS * 1.25) + 100);
}

export async function licenseAddScenario(ds: Dataset, ctx: Context): Promise<Row> {
  const { mode, issuer } = ctx;
  const budget = keyBudget(mode, issuer);
  const sign = (i: number): string => issuer.sign(1000 + i, 1);
  const ours = signKeys(budget, sign, 'keys for POST /admin/license');
  const loop = signKeys(budget, sign, 'keys for the in-process loop');
  let k = 0;
  const spec = (): LoadSpec => ({
    method: 'POST',
    path: '/admin/license',
    json: true,
    headers: { authorization: `Bearer ${ds.token}` },
    // Past the budget keys repeat and are refused with 409: counted as failures, never hidden.
    next: () => ({ body: JSON.stringify({ licenseKey: ours[k++ % ours.length] }) }),
    expect: 200,
  });
  const figures = await compare(
    `${ds.target.store} · POST /admin/license · ${fmtUsers(ds.size)} users vs in-process verifyLicenseKey + INSERT loop`,
    httpSide('licensor', ds.server, spec, mode.connections),
    licenseLoopSide(ds, loop, ctx),
    mode,
  );
  return ratioRow(
    'license-add',
    'POST /admin/license (verify + store)',
    ds.size,
    'in-process verify + INSERT',
    figures,
    TARGETS.licenseAdd,
  );
}
