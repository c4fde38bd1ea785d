import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

export const ROOT = resolve(import.meta.dirname, '../..');
/** The built server, exactly what `npm start` runs. */
export const CLI = join(ROOT, 'dist/cli/main.js');
export const BASELINE_SERVER = join(ROOT, 'bench/baseline-server.ts');

/** The parent's PATH and friends, none of its LICENSOR_ settings or DATABASE_URL. */
function childEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env))
    if (!k.startsWith('LICENSOR_') && !k.startsWith('BENCH_') && k !== 'DATABASE_URL') env[k] = v;
  return { ...env, ...extra };
}

export interface BenchProcess {
  name: string;
  url: string;
  pid: number;
  child: ChildProcess;
  stderr(): string;
  /** SIGTERM (graceful: the server drains and exits 0), SIGKILL after `graceMs`. */
  stop(graceMs?: number): Promise<number | null>;
}

const live = new Set<BenchProcess>();

/**
 * Starts a process that prints "ready at http://..." on stderr (the Licensor server does, whatever
 * its log level; so does the baseline server) and waits for that line.
 */
export function startProcess(
  name: string,
  args: string[],
  env: Record<string, string>,
  timeoutMs = 30_000,
): Promise<BenchProcess> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, args, {
      cwd: ROOT,
      env: childEnv(env),
      // Its own process group, so a stop reaches it whatever it spawned.
      detached: true,
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let err = '';
    let exited: number | null | undefined;
    const exit = new Promise<number | null>((r) =>
      child.on('exit', (code, signal) => r((exited = code ?? (signal === null ? null : 128)))),
    );
    const proc: BenchProcess = {
      name,
      url: '',
      pid: child.pid ?? -1,
      child,
      stderr: () => err,
      stop: async (graceMs = 12_000) => {
        live.delete(proc);
        if (exited !== undefined) return exited;
        signal(child, 'SIGTERM');
        const timer = setTimeout(() => signal(child, 'SIGKILL'), graceMs);
        const code = await exit;
        clearTimeout(timer);
        return code;
      },
    };
    const timer = setTimeout(() => {
      signal(child, 'SIGKILL');
      reject(new Error(`${name} did not start within ${timeoutMs} ms:\n${err}`));
    }, timeoutMs);
    child.stderr.on('data', (d: Buffer) => {
      err += d.toString();
      if (err.length > 100_000) err = err.slice(-50_000);
      const m = /ready at (http:\/\/[^\s"]+)/.exec(err);
      if (m && proc.url === '') {
        clearTimeout(timer);
        proc.url = m[1]!.replace(/\/$/, '');
        live.add(proc);
        resolvePromise(proc);
      }
    });
    void exit.then((code) => {
      clearTimeout(timer);
      live.delete(proc);
      if (proc.url === '') reject(new Error(`${name} exited with ${code} before it was ready:\n${err}`));
    });
  });
}

function signal(child: ChildProcess, sig: NodeJS.Signals): void {
  if (child.pid === undefined) return;
  try {
    process.kill(-child.pid, sig);
  } catch {
    // already gone
  }
}

/** Stops every process this run started and has not stopped yet (on failure or Ctrl-C). */
export async function stopAll(): Promise<void> {
  await Promise.all([...live].map((p) => p.stop(3000)));
}

/** Resident set size now and its peak over the process's life (VmHWM), in bytes; Linux only. */
export function memoryOf(pid: number): { rss: number; peak: number } | undefined {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (field: string): number =>
      Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? 0);
    return { rss: kb('VmRSS') * 1024, peak: kb('VmHWM') * 1024 };
  } catch {
    return undefined;
  }
}

/** Polls a process's RSS while something runs; the peak is the larger of the polls and VmHWM. */
export class RssSampler {
  readonly #pid: number;
  #timer: NodeJS.Timeout | undefined;
  maxRss = 0;
  samples = 0;

  constructor(pid: number) {
    this.#pid = pid;
  }

  start(intervalMs = 100): void {
    this.#timer ??= setInterval(() => this.sample(), intervalMs);
    this.#timer.unref();
  }

  sample(): void {
    const m = memoryOf(this.#pid);
    if (!m) return;
    this.samples++;
    this.maxRss = Math.max(this.maxRss, m.rss);
  }

  stop(): { maxPolledRss: number; vmHwm: number; samples: number } {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = undefined;
    this.sample();
    return { maxPolledRss: this.maxRss, vmHwm: memoryOf(this.#pid)?.peak ?? 0, samples: this.samples };
  }
}

/** CPU time (user + system) a process has used so far, in milliseconds; Linux only. */
export function cpuTimeMs(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name (which may hold spaces): state is field 3, utime 14, stime 15.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const ticks = Number(fields[11]) + Number(fields[12]);
    // USER_HZ is 100 on every Linux this runs on (sysconf(_SC_CLK_TCK)).
    return ticks * 10;
  } catch {
    return undefined;
  }
}
