/**
 * The benchmark suite: `npm run bench [-- --quick] [--store sqlite|postgres|both] [--only a,b]`.
 *
 * Starts real Licensor server processes (the built dist/cli/main.js, log level warn) and baseline
 * processes (bench/baseline-server.ts), drives both over loopback with autocannon, and reports each
 * figure as a ratio against its baseline measured in the same run, rounds alternating between the
 * two sides so that load from elsewhere on the machine falls on both. Scale figures (users,
 * licenses) compare Licensor with itself on a smaller dataset the same way. See docs/performance.md.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { verifyLicenseKeyForAdd } from '../src/keys/license-jws.js';
import {
  benchTmpRoot,
  createTarget,
  postgresUnavailable,
  postgresVersion,
  type BenchDb,
  type StoreKind,
  type Target,
} from './lib/databases.js';
import { createIssuer, type BenchIssuer } from './lib/issuer.js';
import { latencyStats, runLoad, type LoadResult, type LoadSpec } from './lib/load.js';
import {
  BASELINE_SERVER,
  CLI,
  ROOT,
  cpuTimeMs,
  RssSampler,
  startProcess,
  stopAll,
  type BenchProcess,
} from './lib/processes.js';
import { bar, fmtInt, fmtUsers, note, StatusLine } from './lib/progress.js';
import { reportScenario } from './report-scenario.js';
import { webhookScenario } from './webhook-scenario.js';
import { machine, markdownTable, type Figures, type Row, type StoreReport } from './lib/report.js';

const SCENARIOS = [
  'status',
  'entitlements',
  'activity',
  'seat-claim',
  'license-add',
  'scale',
  'licenses',
  'report',
  'webhooks',
] as const;
type Scenario = (typeof SCENARIOS)[number];

interface Mode {
  quick: boolean;
  connections: number;
  /** Each side runs this long before its measured rounds (JIT, caches, connection pools). */
  warmupS: number;
  roundS: number;
  /** Measured rounds per side; the sides alternate round by round. */
  rounds: number;
  sizes: { small: number; main: number; large: number };
  /** Users active earlier today (the activity scenario's pool) and elsewhere in the window. */
  today: number;
  window: number;
  licenses: number;
  seatsPerLicense: number;
  /**
   * The licenses scenario: two datasets of `users` users, one with `few` licenses and one with
   * `many`, added through the API `addConcurrency` at a time. Both hold the same seats in total.
   */
  licenseScale: { users: number; few: number; many: number; addConcurrency: number };
}

const FULL: Mode = {
  quick: false,
  connections: 10,
  warmupS: 2,
  roundS: 2,
  rounds: 6,
  sizes: { small: 10_000, main: 100_000, large: 1_000_000 },
  today: 2000,
  window: 3000,
  licenses: 20,
  seatsPerLicense: 20_000,
  licenseScale: { users: 10_000, few: 20, many: 2000, addConcurrency: 8 },
};

const QUICK: Mode = {
  ...FULL,
  quick: true,
  warmupS: 0,
  roundS: 0.5,
  rounds: 1,
  sizes: { small: 10_000, main: 10_000, large: 20_000 },
  licenseScale: { ...FULL.licenseScale, many: 200 },
};

const TARGETS = { get: 0.8, write: 0.5, licenseAdd: 0.5, scale: 1.5, licenses: 1.5, rssMB: 200 };

class InvalidRun extends Error {
  override readonly name = 'InvalidRun';
}

/** What one dataset holds: users seeded straight into the database, licenses added through the API. */
interface DatasetSpec {
  /** Tells datasets apart (and names their CPU profile directories): "100k", "10k-2000-licenses". */
  key: string;
  size: number;
  licenses: number;
  seatsPerLicense: number;
  /** Poll the server's RSS from its start (the licenses scenario's memory figure). */
  sampleRss: boolean;
}

interface Dataset {
  size: number;
  licenses: number;
  target: Target;
  db: BenchDb;
  server: BenchProcess;
  token: string;
  todayIds: number[];
  seeding: { users: number; licenses: number; seconds: number; rowsPerSecond: number };
  sampler: RssSampler | undefined;
}

interface Context {
  mode: Mode;
  issuer: BenchIssuer;
  profileDir: string | undefined;
}

const cleanups: (() => Promise<void>)[] = [];

// ---------------------------------------------------------------------------------------------
// Setting up one dataset: a fresh, migrated database, N users, a Licensor server on it, its licenses.

async function api(
  ds: { server: BenchProcess; token: string },
  method: string,
  path: string,
  body?: unknown,
) {
  const response = await fetch(`${ds.server.url}${path}`, {
    method,
    headers: {
      authorization: `Bearer ${ds.token}`,
      ...(body !== undefined && { 'content-type': 'application/json' }),
    },
    ...(body !== undefined && { body: JSON.stringify(body) }),
    signal: AbortSignal.timeout(15_000),
  });
  return { status: response.status, text: await response.text() };
}

function startOfUtcDay(at: Date): Date {
  return new Date(Date.UTC(at.getUTCFullYear(), at.getUTCMonth(), at.getUTCDate()));
}

/** A dataset's database, migrated and not yet served, and its license keys, signed. */
interface Prepared {
  spec: DatasetSpec;
  label: string;
  target: Target;
  token: string;
  keys: string[];
}

/** The same with its users written. */
interface Seeded extends Prepared {
  db: BenchDb;
  now: Date;
  seeding: Dataset['seeding'];
}

/** "100k", or "10k, 2,000 licenses" for the licenses scenario's datasets. */
function datasetName(spec: DatasetSpec): string {
  const users = fmtUsers(spec.size);
  return spec.key === users ? users : `${users}, ${fmtInt(spec.licenses)} licenses`;
}

/**
 * Adds licenses through POST /admin/license, `concurrency` requests at a time (as an
 * administrator's script might), each answered 200 or the dataset fails.
 */
async function addLicenses(
  ds: { server: BenchProcess; token: string },
  keys: string[],
  label: string,
  concurrency: number,
): Promise<void> {
  // Only a long run of adds gets a progress line.
  const line = keys.length > 100 ? new StatusLine() : undefined;
  const started = performance.now();
  let next = 0;
  let done = 0;
  let failed = false;
  const worker = async (): Promise<void> => {
    while (next < keys.length && !failed) {
      const i = next++;
      const r = await api(ds, 'POST', '/admin/license', { licenseKey: keys[i] });
      if (r.status !== 200) {
        failed = true;
        throw new Error(`${label}: adding license ${i} answered ${r.status}: ${r.text}`);
      }
      done++;
      line?.update(
        `  adding licenses to ${label} ${bar(done / keys.length)} ${fmtInt(done)}/${fmtInt(keys.length)}`,
      );
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, keys.length) }, worker));
  const s = (performance.now() - started) / 1000;
  line?.done(
    `  added ${fmtInt(keys.length)} licenses to ${label} in ${s.toFixed(1)} s (${concurrency} at a time, ${fmtInt(keys.length / s)}/s)`,
  );
}

function serverEnv(p: Prepared, ctx: Context): Record<string, string> {
  return {
    ...p.target.serverEnv,
    LICENSOR_HOST: '127.0.0.1',
    LICENSOR_PORT: '0',
    // Request logs off, as a production deployment under load would run; warnings still show.
    LICENSOR_LOG_LEVEL: 'warn',
    LICENSOR_ADMIN_TOKEN: p.token,
    LICENSOR_TRUSTED_KEYS: ctx.issuer.publicKeyFile,
  };
}

/**
 * A fresh database with Licensor's schema (the server's own migrations: a server is started on it
 * and stopped again), and the dataset's license keys, signed up front as a vendor would.
 */
async function prepareDataset(store: StoreKind, spec: DatasetSpec, ctx: Context): Promise<Prepared> {
  const label = `${store} ${datasetName(spec)}`;
  const sign = (i: number): string => ctx.issuer.sign(i, spec.seatsPerLicense);
  const keys =
    spec.licenses > 100
      ? signKeys(spec.licenses, sign, `license keys for ${label}`)
      : Array.from({ length: spec.licenses }, (_, i) => sign(i));
  const target = await createTarget(store);
  cleanups.push(() => target.dispose());
  const token = `bench_${randomBytes(24).toString('base64url')}`;
  const prepared = { spec, label, target, token, keys };
  const migrating = await startProcess(
    `licensor (${label}, migrating)`,
    [CLI, 'serve'],
    serverEnv(prepared, ctx),
  );
  // It said it was ready, so its migrations are done. One request first: the serve command sets
  // up its SIGTERM handler just after that line, and a SIGTERM before it would kill the process.
  await api({ server: migrating, token }, 'GET', '/healthz');
  // An unclean exit is shown, as for every server.
  const code = await migrating.stop();
  if (code !== 0) note(`  ${migrating.name} exited with ${code}:\n${migrating.stderr().slice(-2000)}`);
  return prepared;
}

/**
 * N users written straight into the database (a million API calls would take too long), while no
 * server runs on it: the measured server starts afterwards and finds them as after a restart, so
 * no server ever has to notice rows written behind its back (its caches need not see them).
 */
async function seedDataset(p: Prepared, ctx: Context): Promise<Seeded> {
  const { mode } = ctx;
  const { spec, label, target } = p;
  const { size } = spec;
  const db = await target.open();
  try {
    const now = new Date();
    const plan = { total: size, today: mode.today, window: mode.window, now };
    const line = new StatusLine();
    const started = performance.now();
    await db.seedUsers(plan, (done) => {
      const s = (performance.now() - started) / 1000;
      line.update(
        `  seeding ${label} ${bar(done / size)} ${fmtInt(done)} users  ${fmtInt(done / Math.max(s, 0.001))}/s`,
      );
    });
    const insertS = (performance.now() - started) / 1000;
    line.update(`  seeding ${label} ${bar(1)} recounting activity_counts...`);
    await db.recountActivity();
    const seconds = (performance.now() - started) / 1000;
    line.done(
      `  seeded ${label}: ${fmtInt(size)} users in ${seconds.toFixed(seconds < 1 ? 2 : 1)} s (${fmtInt(size / insertS)} rows/s inserting; counters rebuilt)`,
    );
    const counts = await db.counts();
    if (counts.users !== size || counts.counters !== size)
      throw new Error(
        `${label}: seeded ${counts.users} users, counters hold ${counts.counters}; expected ${size}`,
      );
    return {
      ...p,
      db,
      now,
      seeding: { users: size, licenses: spec.licenses, seconds, rowsPerSecond: size / insertS },
    };
  } catch (err) {
    await db.close().catch(() => undefined);
    throw err;
  }
}

/** The measured Licensor server on a seeded database, with the licenses added through the API. */
async function serveDataset(
  s: Seeded,
  ctx: Context,
  started: (server: BenchProcess) => void,
): Promise<Dataset> {
  const { mode } = ctx;
  const { spec, label, target, token, db, now } = s;
  const nodeArgs = ctx.profileDir
    ? ['--cpu-prof', `--cpu-prof-dir=${join(ctx.profileDir, `${target.store}-${spec.key}`)}`]
    : [];
  const server = await startProcess(`licensor (${label})`, [...nodeArgs, CLI, 'serve'], serverEnv(s, ctx));
  started(server);
  const ds0 = { server, token };
  // VmHWM covers the whole life anyway; polling from the start also catches the adds.
  const sampler = spec.sampleRss ? new RssSampler(server.pid) : undefined;
  sampler?.start();
  try {
    // The licenses go through the real API, as an administrator adds them.
    await addLicenses(ds0, s.keys, label, mode.licenseScale.addConcurrency);

    // Check that the server sees what was seeded: exactly the users active in the window count,
    // and every license added is stored and active.
    const counts = await db.counts();
    if (counts.licenses !== spec.licenses)
      throw new Error(`${label}: ${counts.licenses} licenses stored; expected ${spec.licenses}`);
    const status = await api(ds0, 'GET', '/admin/license/licenseStatus');
    const parsed = JSON.parse(status.text) as { activeUserCount: number; licenseSeats: number };
    if (
      parsed.activeUserCount !== mode.today + mode.window ||
      parsed.licenseSeats !== spec.licenses * spec.seatsPerLicense
    )
      throw new Error(`${label}: licenseStatus says ${status.text}`);
    const todayIds = await db.activeUserIds(startOfUtcDay(now), mode.today);
    if (todayIds.length < mode.today / 2)
      throw new Error(`${label}: only ${todayIds.length} users active today`);
    return {
      size: spec.size,
      licenses: spec.licenses,
      target,
      db,
      server,
      token,
      todayIds,
      seeding: s.seeding,
      sampler,
    };
  } catch (err) {
    sampler?.stop();
    throw err;
  }
}

// ---------------------------------------------------------------------------------------------
// Running one comparison: two sides, alternating rounds.

type RoundResult = LoadResult & {
  latencies: Float64Array;
  /** CPU time the serving process (or this process, for a loop) used per successful operation. */
  cpuUsPerOp: number | undefined;
};

interface Side {
  name: string;
  /** A load run (autocannon against a server) or an in-process loop; returns one round's result. */
  run(seconds: number, label: string): Promise<RoundResult>;
}

function httpSide(name: string, proc: BenchProcess, spec: () => LoadSpec, connections: number): Side {
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

async function compare(label: string, a: Side, b: Side, mode: Mode): Promise<[Figures, Figures]> {
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

// ---------------------------------------------------------------------------------------------
// The scenarios.

const STATUS_PATH = '/admin/license/licenseStatus';
const ENTITLEMENTS_PATH = '/license/entitlements';

function getSpec(path: string, token?: string): () => LoadSpec {
  return () => ({
    method: 'GET',
    path,
    ...(token !== undefined && { headers: { authorization: `Bearer ${token}` } }),
    expect: 200,
  });
}

function activitySpec(ids: number[], token?: string): () => LoadSpec {
  let k = Math.floor(Math.random() * ids.length);
  return () => ({
    method: 'POST',
    path: '/admin/users/1/activity',
    ...(token !== undefined && { headers: { authorization: `Bearer ${token}` } }),
    next: () => ({ path: `/admin/users/${ids[k++ % ids.length]!}/activity` }),
    expect: 200,
  });
}

function claimSpec(token?: string): () => LoadSpec {
  const tag = randomBytes(4).toString('hex');
  let n = 0;
  return () => ({
    method: 'POST',
    path: '/admin/users',
    json: true,
    ...(token !== undefined && { headers: { authorization: `Bearer ${token}` } }),
    next: () => {
      n++;
      return {
        body: JSON.stringify({
          userid: `claim-${tag}-${n}`,
          iamid: 'bench-claims',
          name: `Claimed User ${n}`,
          email: `claim-${tag}-${n}@example.com`,
        }),
      };
    },
    expect: 201,
  });
}

function ratioRow(
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

async function getScenario(
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

async function writeScenario(
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

async function scaleScenario(
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

/**
 * Status with many licenses against status with few: two servers with the same users and the same
 * seats in total, rounds alternating. The ratio is of p50 latencies, as for scale.
 */
async function licensesScenario(few: Dataset, many: Dataset, mode: Mode): Promise<Row> {
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

/** Signs `n` keys (each a new uuid) with a progress line; signing is never inside a measurement. */
function signKeys(n: number, sign: (i: number) => string, label: string): string[] {
  const line = new StatusLine();
  const keys: string[] = [];
  for (let i = 0; i < n; i++) {
    keys.push(sign(i));
    if (i % 2000 === 0) line.update(`  signing ${label} ${bar(i / n)} ${fmtInt(i)}/${fmtInt(n)}`);
  }
  line.done(`  signed ${fmtInt(n)} ${label}`);
  return keys;
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

async function licenseAddScenario(ds: Dataset, ctx: Context): Promise<Row> {
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

async function captureBodies(ds: Dataset, dir: string): Promise<string> {
  const bodies: Record<string, string> = {};
  for (const path of [STATUS_PATH, ENTITLEMENTS_PATH]) {
    const r = await api(ds, 'GET', path);
    if (r.status !== 200) throw new Error(`GET ${path} answered ${r.status}: ${r.text}`);
    bodies[path] = r.text;
    note(`  ${path}: ${r.text.length} bytes`);
  }
  const file = join(dir, 'baseline-bodies.json');
  writeFileSync(file, JSON.stringify(bodies));
  return file;
}

// ---------------------------------------------------------------------------------------------

async function benchStore(store: StoreKind, only: Set<Scenario>, ctx: Context): Promise<StoreReport> {
  const { mode } = ctx;
  const wantsMain = (
    ['status', 'entitlements', 'activity', 'seat-claim', 'license-add', 'webhooks'] as const
  ).some((s) => only.has(s));
  const wantsScale = only.has('scale');
  // The usage report runs on the large dataset (1M users in the full run).
  const wantsLarge = wantsScale || only.has('report');
  const wantsLicenses = only.has('licenses');
  const usersSpec = (size: number): DatasetSpec => ({
    key: fmtUsers(size),
    size,
    licenses: mode.licenses,
    seatsPerLicense: mode.seatsPerLicense,
    sampleRss: false,
  });
  // The licenses scenario's two datasets hold the same seats in total (20 × 20,000 or 2,000 × 200),
  // so their status bodies agree and only the number of licenses differs.
  const totalSeats = mode.licenses * mode.seatsPerLicense;
  const licensesSpec = (licenses: number, sampleRss: boolean): DatasetSpec => ({
    key: `${fmtUsers(mode.licenseScale.users)}-${licenses}-licenses`,
    size: mode.licenseScale.users,
    licenses,
    seatsPerLicense: Math.floor(totalSeats / licenses),
    sampleRss,
  });
  const mainKey = usersSpec(mode.sizes.main).key;
  const smallKey = usersSpec(mode.sizes.small).key;
  const largeKey = usersSpec(mode.sizes.large).key;
  const fewSpec = licensesSpec(mode.licenseScale.few, false);
  const manySpec = licensesSpec(mode.licenseScale.many, true);
  // Keyed, so that a size two scenarios share (quick: main = small) is one dataset.
  const specs = new Map<string, DatasetSpec>();
  const want = (spec: DatasetSpec): void => void specs.set(spec.key, spec);
  if (wantsMain) want(usersSpec(mode.sizes.main));
  if (wantsScale) want(usersSpec(mode.sizes.small));
  if (wantsLarge) want(usersSpec(mode.sizes.large));
  if (wantsLicenses) {
    want(fewSpec);
    want(manySpec);
  }
  const ordered = [...specs.values()].sort((a, b) => a.size - b.size || a.licenses - b.licenses);
  const userSizes = ordered
    .filter((spec) => spec.key === fmtUsers(spec.size))
    .map((spec) => fmtUsers(spec.size));
  const datasetsText = [
    ...(userSizes.length > 0 ? [`${userSizes.join(', ')} users`] : []),
    ...(wantsLicenses
      ? [
          `${fmtUsers(mode.licenseScale.users)} users with ${fmtInt(fewSpec.licenses)} and ${fmtInt(manySpec.licenses)} licenses`,
        ]
      : []),
  ];
  note(`\n=== ${store}: ${datasetsText.join('; ')}; ${[...only].join(', ')}`);
  const datasets = new Map<string, Dataset>();
  const seeded: Seeded[] = [];
  const processes: BenchProcess[] = [];
  const rows: Row[] = [];
  let memory: StoreReport['memory'];
  let licensesMemory: StoreReport['licensesMemory'];
  try {
    // Databases are created and migrated side by side; seeding goes one dataset at a time (one
    // progress bar); then the measured servers start side by side and their licenses are added.
    const prepared = await Promise.allSettled(ordered.map((spec) => prepareDataset(store, spec, ctx)));
    for (const p of prepared) if (p.status === 'rejected') throw p.reason;
    for (const p of prepared) if (p.status === 'fulfilled') seeded.push(await seedDataset(p.value, ctx));
    const served = await Promise.allSettled(
      seeded.map((s) => serveDataset(s, ctx, (server) => processes.push(server))),
    );
    for (const s of served) if (s.status === 'rejected') throw s.reason;
    served.forEach((s, i) => {
      if (s.status === 'fulfilled') datasets.set(seeded[i]!.spec.key, s.value);
    });

    const main = wantsMain ? datasets.get(mainKey) : undefined;
    if (main && (['status', 'entitlements', 'activity', 'seat-claim'] as const).some((s) => only.has(s))) {
      const bodies = await captureBodies(main, main.target.dir);
      const baseline = await startProcess(`baseline (${store})`, ['--import', 'tsx', BASELINE_SERVER], {
        ...main.target.baselineEnv,
        BENCH_BASELINE_BODIES: bodies,
      });
      processes.push(baseline);
      for (const id of ['status', 'entitlements'] as const)
        if (only.has(id)) rows.push(await getScenario(id, main, baseline, mode));
      for (const id of ['activity', 'seat-claim'] as const)
        if (only.has(id)) rows.push(await writeScenario(id, main, baseline, mode));
      await baseline.stop();
    }

    if (main && only.has('webhooks'))
      rows.push(
        await webhookScenario(
          {
            server: main.server,
            token: main.token,
            users: main.size,
            statusSide: (name, around): Side => {
              const side = httpSide(name, main.server, getSpec(STATUS_PATH, main.token), mode.connections);
              return {
                name,
                run: async (seconds, label) => {
                  await around.before();
                  try {
                    return await side.run(seconds, label);
                  } finally {
                    await around.after();
                  }
                },
              };
            },
            compare: (label, a, b) => compare(label, a, b, mode),
          },
          store,
        ),
      );

    if (wantsScale) {
      const small = datasets.get(smallKey)!;
      const large = datasets.get(largeKey)!;
      const sampler = new RssSampler(large.server.pid);
      sampler.start();
      for (const id of ['status', 'entitlements', 'activity', 'seat-claim'] as const)
        rows.push(await scaleScenario(id, small, large, mode));
      const m = sampler.stop();
      const peak = Math.max(m.vmHwm, m.maxPolledRss);
      memory = {
        vmHwmBytes: m.vmHwm,
        maxPolledRssBytes: m.maxPolledRss,
        samples: m.samples,
        users: large.size,
      };
      const mb = peak / 2 ** 20;
      note(`\n${store} · peak RSS of the ${fmtUsers(large.size)}-user server: ${mb.toFixed(0)} MB (VmHWM)`);
      rows.push({
        id: 'memory',
        scenario: `peak server RSS, ${fmtUsers(large.size)}-user runs`,
        users: large.size,
        baselineName: '—',
        ratioKind: 'rss-mb',
        ratio: mb,
        target: TARGETS.rssMB,
        met: mb < TARGETS.rssMB,
      });
    }

    if (wantsLicenses) {
      const few = datasets.get(fewSpec.key)!;
      const many = datasets.get(manySpec.key)!;
      rows.push(await licensesScenario(few, many, mode));
      // Polled since the server started (the license adds, the rounds above); VmHWM is the peak
      // over the process's whole life.
      const m = many.sampler!.stop();
      const mb = Math.max(m.vmHwm, m.maxPolledRss) / 2 ** 20;
      licensesMemory = {
        vmHwmBytes: m.vmHwm,
        maxPolledRssBytes: m.maxPolledRss,
        samples: m.samples,
        users: many.size,
        licenses: many.licenses,
      };
      note(
        `\n${store} · peak RSS of the ${fmtInt(many.licenses)}-license server: ${mb.toFixed(0)} MB (VmHWM)`,
      );
      rows.push({
        id: 'licenses-memory',
        scenario: `peak server RSS, ${fmtInt(many.licenses)}-license run`,
        users: many.size,
        licenses: many.licenses,
        baselineName: '—',
        ratioKind: 'rss-mb',
        ratio: mb,
        target: TARGETS.rssMB,
        met: mb < TARGETS.rssMB,
      });
    }

    if (only.has('report')) {
      const large = datasets.get(largeKey)!;
      const runs = mode.quick ? 3 : 10;
      rows.push(
        await reportScenario({ ...large, licenseSeats: mode.licenses * mode.seatsPerLicense }, runs, store),
      );
    }

    // Last: it adds thousands of licenses, which every later status read would list.
    if (main && only.has('license-add')) rows.push(await licenseAddScenario(main, ctx));
  } finally {
    for (const ds of datasets.values()) ds.sampler?.stop();
    for (const s of seeded) await s.db.close().catch(() => undefined);
    const codes = await Promise.all(processes.map((p) => p.stop()));
    codes.forEach((code, i) => {
      if (code !== 0)
        note(`  ${processes[i]!.name} exited with ${code}:\n${processes[i]!.stderr().slice(-2000)}`);
    });
    for (const s of seeded) await s.target.dispose().catch((err: unknown) => note(`cleanup: ${String(err)}`));
  }
  return {
    store,
    quick: mode.quick,
    rows,
    seeding: [...datasets.values()].map((d) => d.seeding),
    ...(memory !== undefined && { memory }),
    ...(licensesMemory !== undefined && { licensesMemory }),
  };
}

function parseCli(): { mode: Mode; stores: StoreKind[] | 'auto'; only: Set<Scenario>; profile: boolean } {
  const { values } = parseArgs({
    options: {
      quick: { type: 'boolean', default: false },
      store: { type: 'string', default: 'auto' },
      only: { type: 'string', multiple: true },
      rounds: { type: 'string' },
      seconds: { type: 'string' },
      connections: { type: 'string' },
      'cpu-prof': { type: 'boolean', default: false },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) {
    process.stdout
      .write(`npm run bench -- [--quick] [--store sqlite|postgres|both] [--only ${SCENARIOS.join(',')}]
                      [--rounds N] [--seconds S] [--connections N] [--cpu-prof]\n`);
    process.exit(0);
  }
  const mode = { ...(values.quick ? QUICK : FULL) };
  const num = (v: string | undefined, name: string): number | undefined => {
    if (v === undefined) return undefined;
    const n = Number(v);
    if (!Number.isFinite(n) || n <= 0) throw new Error(`--${name} must be a positive number`);
    return n;
  };
  mode.rounds = Math.round(num(values.rounds, 'rounds') ?? mode.rounds);
  mode.roundS = num(values.seconds, 'seconds') ?? mode.roundS;
  mode.connections = Math.round(num(values.connections, 'connections') ?? mode.connections);
  const only = new Set<Scenario>();
  for (const item of (values.only ?? SCENARIOS).flatMap((o) => o.split(','))) {
    const s = item.trim();
    if (!(SCENARIOS as readonly string[]).includes(s))
      throw new Error(`--only: unknown scenario "${s}" (one of ${SCENARIOS.join(', ')})`);
    only.add(s as Scenario);
  }
  const store = values.store;
  if (store !== 'auto' && store !== 'both' && store !== 'sqlite' && store !== 'postgres')
    throw new Error('--store must be sqlite, postgres or both');
  const stores: StoreKind[] | 'auto' =
    store === 'auto' ? 'auto' : store === 'both' ? ['sqlite', 'postgres'] : [store];
  return { mode, stores, only, profile: values['cpu-prof'] };
}

/** The commit the run measured, and whether src/ differed from it (read-only git commands). */
function gitState(): { commit: string; srcModified: boolean } | undefined {
  try {
    const commit = execFileSync('git', ['rev-parse', 'HEAD'], { cwd: ROOT, encoding: 'utf8' }).trim();
    let srcModified = false;
    try {
      execFileSync('git', ['diff', '--quiet', 'HEAD', '--', 'src'], { cwd: ROOT });
    } catch {
      srcModified = true;
    }
    return { commit, srcModified };
  } catch {
    return undefined;
  }
}

function versionOf(pkg: string): string {
  try {
    return (
      JSON.parse(readFileSync(join(ROOT, 'node_modules', pkg, 'package.json'), 'utf8')) as { version: string }
    ).version;
  } catch {
    return 'unknown';
  }
}

async function main(): Promise<number> {
  const started = performance.now();
  const cli = parseCli();
  let stores = cli.stores;
  if (stores === 'auto' || stores.includes('postgres')) {
    const why = await postgresUnavailable();
    if (why !== undefined) {
      if (stores !== 'auto') throw new Error(`PostgreSQL does not answer (${why})`);
      note(
        `NOTICE: PostgreSQL does not answer (${why}); benchmarking SQLite only. Set LICENSOR_TEST_DATABASE_URL.`,
      );
      stores = ['sqlite'];
    } else if (stores === 'auto') stores = ['sqlite', 'postgres'];
  }
  const workDir = mkdtempSync(join(benchTmpRoot(), 'licensor-bench-run-'));
  cleanups.push(async () => rmSync(workDir, { recursive: true, force: true }));
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  const profileDir = cli.profile ? join(benchTmpRoot(), `licensor-bench-profiles-${stamp}`) : undefined;
  const ctx: Context = { mode: cli.mode, issuer: createIssuer(workDir), profileDir };
  const { mode } = ctx;
  note(
    `Licensor benchmark (${mode.quick ? 'quick: checks that every scenario runs; figures are not meaningful' : 'full'}): ` +
      `${mode.connections} connections, ${mode.warmupS} s warm-up, ${mode.rounds} × ${mode.roundS} s rounds per side, ` +
      `servers at LICENSOR_LOG_LEVEL=warn${profileDir ? `, CPU profiles in ${profileDir}` : ''}`,
  );

  const reports: StoreReport[] = [];
  const pgVersion = stores.includes('postgres') ? await postgresVersion() : undefined;
  const date = new Date().toISOString().slice(0, 10);
  const resultsDir = join(ROOT, 'bench/results');
  mkdirSync(resultsDir, { recursive: true });
  const command = `npm run bench -- ${process.argv.slice(2).join(' ')}`.trim();
  for (const store of stores) {
    const storeStarted = performance.now();
    const report = await benchStore(store, cli.only, ctx);
    reports.push(report);
    const file = join(
      resultsDir,
      `${date}-${store}${mode.quick ? '-quick' : ''}${cli.only.size < SCENARIOS.length ? '-partial' : ''}${profileDir ? '-profiled' : ''}.json`,
    );
    writeFileSync(
      file,
      `${JSON.stringify(
        {
          date: new Date().toISOString(),
          store,
          command,
          quick: mode.quick,
          profiled: profileDir !== undefined,
          machine: machine(),
          node: process.version,
          git: gitState(),
          versions: {
            licensor: (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string })
              .version,
            fastify: versionOf('fastify'),
            'better-sqlite3': versionOf('better-sqlite3'),
            pg: versionOf('pg'),
            autocannon: versionOf('autocannon'),
            ...(store === 'postgres' && { postgresql: pgVersion }),
          },
          settings: { ...mode, serverLogLevel: 'warn', targets: TARGETS },
          seconds: (performance.now() - storeStarted) / 1000,
          seeding: report.seeding,
          memory: report.memory,
          licensesMemory: report.licensesMemory,
          results: report.rows,
        },
        null,
        2,
      )}\n`,
    );
    note(`\nwrote ${file}`);
  }

  const table = markdownTable(reports);
  const total = (performance.now() - started) / 1000;
  process.stdout.write(`\n${table}\n\n`);
  process.stdout.write(
    `Command: \`${command}\` · Node ${process.version} · ${String(machine().cpus)} × ${String(machine().cpuModel)} · ` +
      `ratios against baselines measured in the same run · ${total.toFixed(0)} s\n`,
  );
  if (profileDir)
    process.stdout.write(
      `CPU profiles: ${profileDir} (summarise with node --import tsx bench/profile-summary.ts DIR)\n`,
    );
  const missed = reports.flatMap((r) =>
    r.rows.filter((row) => !row.met).map((row) => `${r.store} ${row.id}`),
  );
  if (missed.length > 0 && !mode.quick)
    process.stdout.write(`Targets missed: ${missed.join(', ')} (see docs/performance.md)\n`);
  return 0;
}

let exiting = false;
async function cleanup(): Promise<void> {
  await stopAll();
  for (const fn of cleanups.reverse()) await fn().catch(() => undefined);
  cleanups.length = 0;
}

process.on('SIGINT', () => {
  if (exiting) return;
  exiting = true;
  note('\ninterrupted: stopping servers and removing temporary databases...');
  void cleanup().finally(() => process.exit(130));
});

try {
  const code = await main();
  await cleanup();
  process.exitCode = code;
} catch (err) {
  note(`\nbench FAILED: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
  await cleanup();
  process.exitCode = 1;
}
