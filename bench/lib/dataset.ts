/**
 * Setting up one dataset: a fresh, migrated database, N users, a Licensor server on it, its
 * licenses added through the API.
 */
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { createTarget, type BenchDb, type StoreKind, type Target } from './databases.js';
import type { Context } from './mode.js';
import { CLI, RssSampler, startProcess, type BenchProcess } from './processes.js';
import { bar, fmtInt, fmtUsers, note, StatusLine } from './progress.js';

/** What one dataset holds: users seeded straight into the database, licenses added through the API. */
export interface DatasetSpec {
  /** Tells datasets apart (and names their CPU profile directories): "100k", "10k-2000-licenses". */
  key: string;
  size: number;
  licenses: number;
  seatsPerLicense: number;
  /** Poll the server's RSS from its start (the licenses scenario's memory figure). */
  sampleRss: boolean;
}

export interface Dataset {
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

/** Run at exit (bench/run.ts): the datasets' databases and temporary directories. */
export const cleanups: (() => Promise<void>)[] = [];

export async function api(
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
export interface Prepared {
  spec: DatasetSpec;
  label: string;
  target: Target;
  token: string;
  keys: string[];
}

/** The same with its users written. */
export interface Seeded extends Prepared {
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
export async function prepareDataset(store: StoreKind, spec: DatasetSpec, ctx: Context): Promise<Prepared> {
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
export async function seedDataset(p: Prepared, ctx: Context): Promise<Seeded> {
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
export async function serveDataset(
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

/** Signs `n` keys (each a new uuid) with a progress line; signing is never inside a measurement. */
export function signKeys(n: number, sign: (i: number) => string, label: string): string[] {
  const line = new StatusLine();
  const keys: string[] = [];
  for (let i = 0; i < n; i++) {
    keys.push(sign(i));
    if (i % 2000 === 0) line.update(`  signing ${label} ${bar(i / n)} ${fmtInt(i)}/${fmtInt(n)}`);
  }
  line.done(`  signed ${fmtInt(n)} ${label}`);
  return keys;
}
