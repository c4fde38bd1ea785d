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
import { TARGETS, type Context } from './lib/mode.js';
import { bar, fmtInt, fmtUsers, StatusLine } from './lib/progress.js';
import type { Row } from './lib/report.js';

/**
 * Pre-signed license keys for one side of the license-add figure. Signing costs about as much as
 * verifying, so it must not happen inside a measured round: before each round the pool signs enough
 * for that round at twice the fastest rate this side has shown (before its first round, the rate at
 * which this process verifies keys, which no side exceeds), and a key is never used twice. Should a
 * round still run the pool dry, the keys it signs meanwhile make the round invalid, and the bench
 * fails rather than report it. A fixed budget ran dry on a fast machine (the loop did 3,900 adds a
 * second against 40,000 keys for 14 s of rounds).
 */
class KeyPool {
  readonly #sign: () => string;
  readonly #label: string;
  #keys: string[] = [];
  #next = 0;
  readonly #initialRate: number;
  #fastest: number | undefined;
  /** Keys signed inside a round because the pool ran dry: that round is invalid. */
  signedLate = 0;

  constructor(sign: () => string, label: string, initialRate: number) {
    this.#sign = sign;
    this.#label = label;
    this.#initialRate = initialRate;
  }

  /** Before a round of `seconds`: sign what it may use. */
  fill(seconds: number): void {
    const want = Math.ceil(seconds * (this.#fastest ?? this.#initialRate) * 2) + 100;
    const left = this.available;
    if (left >= want) return;
    this.#keys = [
      ...this.#keys.slice(this.#next),
      ...signKeys(want - left, () => this.#sign(), `keys for ${this.#label}`),
    ];
    this.#next = 0;
  }

  /** Keys signed and not yet used: as many as the round may use without making it invalid. */
  get available(): number {
    return this.#keys.length - this.#next;
  }

  take(): string {
    if (this.#next < this.#keys.length) return this.#keys[this.#next++]!;
    this.signedLate++;
    return this.#sign();
  }

  /** After a round: remember its rate for the next fill. */
  observe(ok: number, seconds: number): void {
    if (seconds > 0) this.#fastest = Math.max(this.#fastest ?? 0, ok / seconds);
  }
}

/** `side` with its pool filled before each round and told the round's rate after it. */
function withKeys(side: Side, pool: KeyPool): Side {
  return {
    name: side.name,
    run: async (seconds, label) => {
      pool.fill(seconds);
      const late = pool.signedLate;
      const result = await side.run(seconds, label);
      pool.observe(result.ok, result.seconds);
      if (pool.signedLate > late)
        throw new Error(
          `${label}: the key pool ran dry and ${fmtInt(pool.signedLate - late)} keys were signed during the round, which its figure would include: the run is invalid`,
        );
      return result;
    },
  };
}

/** Verify + insert per key in this process: the endpoint's work without HTTP, auth, audit or checks. */
function licenseLoopSide(ds: Dataset, keys: KeyPool, ctx: Context): Side {
  return {
    name: 'in-process loop',
    run: async (seconds, label) => {
      const writer = await ds.db.licenseWriter();
      const line = new StatusLine();
      // Allocated before the clock starts, so the baseline's loop allocates nothing for it (a
      // slower baseline would flatter Licensor); a round that uses more keys than the pool holds is
      // refused after it anyway (withKeys).
      const latencies = new Float64Array(keys.available);
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
        while (performance.now() < deadline) {
          const key = keys.take();
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
      const measured = latencies.subarray(0, ok);
      const result = {
        responses: ok,
        ok,
        failedShare: 0,
        errors: 0,
        timeouts: 0,
        statusCounts: {},
        seconds: elapsed,
        rps: ok / elapsed,
        latency: latencyStats(measured),
        latencies: measured,
        cpuUsPerOp: ok === 0 ? undefined : (cpu.user + cpu.system) / ok,
      };
      line.done(
        `  ${label} ${fmtInt(result.rps)} ops/s  p50 ${result.latency.p50.toFixed(2)} ms  p99 ${result.latency.p99.toFixed(2)} ms`,
      );
      return result;
    },
  };
}

/** Keys per second this process verifies: no side adds faster, so the first fill is sized by it. */
function verifyRate(issuer: BenchIssuer): number {
  const sample = Array.from({ length: 200 }, (_, i) => issuer.sign(i, 1));
  const t0 = performance.now();
  for (const key of sample) verifyLicenseKeyForAdd(key, issuer.ring, new Date());
  return sample.length / ((performance.now() - t0) / 1000);
}

export async function licenseAddScenario(ds: Dataset, ctx: Context): Promise<Row> {
  const { mode, issuer } = ctx;
  const rate = verifyRate(issuer);
  let n = 0;
  const sign = (): string => issuer.sign(1000 + n++, 1);
  const ours = new KeyPool(sign, 'POST /admin/license', rate);
  const loop = new KeyPool(sign, 'the in-process loop', rate);
  const spec = (): LoadSpec => ({
    method: 'POST',
    path: '/admin/license',
    json: true,
    headers: { authorization: `Bearer ${ds.token}` },
    next: () => ({ body: JSON.stringify({ licenseKey: ours.take() }) }),
    expect: 200,
  });
  const figures = await compare(
    `${ds.target.store} · POST /admin/license · ${fmtUsers(ds.size)} users vs in-process verifyLicenseKey + INSERT loop`,
    withKeys(httpSide('licensor', ds.server, spec, mode.connections), ours),
    withKeys(licenseLoopSide(ds, loop, ctx), loop),
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
