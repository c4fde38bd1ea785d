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
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { getScenario } from './get-scenario.js';
import { licenseAddScenario } from './license-add-scenario.js';
import { licensesScenario } from './licenses-scenario.js';
import { compare, httpSide, type Side } from './lib/compare.js';
import { benchTmpRoot, postgresUnavailable, postgresVersion, type StoreKind } from './lib/databases.js';
import {
  api,
  cleanups,
  prepareDataset,
  seedDataset,
  serveDataset,
  type Dataset,
  type DatasetSpec,
  type Seeded,
} from './lib/dataset.js';
import { createIssuer } from './lib/issuer.js';
import { TARGETS, type Context, type Mode } from './lib/mode.js';
import {
  BASELINE_SERVER,
  ROOT,
  RssSampler,
  startProcess,
  stopAll,
  type BenchProcess,
} from './lib/processes.js';
import { fmtInt, fmtUsers, note } from './lib/progress.js';
import { machine, markdownTable, type Row, type StoreReport } from './lib/report.js';
import { ENTITLEMENTS_PATH, getSpec, STATUS_PATH } from './lib/specs.js';
import { reportScenario } from './report-scenario.js';
import { scaleScenario } from './scale-scenario.js';
import { webhookScenario } from './webhook-scenario.js';
import { writeScenario } from './write-scenario.js';

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

/**
 * `dir/base.json`, or `dir/base-2.json`, `-3`… when a run earlier the same day wrote it: results
 * already kept (and cited in docs/performance.md) are never overwritten.
 */
function unusedName(dir: string, base: string): string {
  for (let n = 1; ; n++) {
    const file = join(dir, `${base}${n === 1 ? '' : `-${n}`}.json`);
    if (!existsSync(file)) return file;
  }
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
    const file = unusedName(
      resultsDir,
      `${date}-${store}${mode.quick ? '-quick' : ''}${cli.only.size < SCENARIOS.length ? '-partial' : ''}${profileDir ? '-profiled' : ''}`,
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
