import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { TestContext } from 'node:test';
import { cleanup } from './cleanup.js';

export const ROOT = resolve(import.meta.dirname, '../..');
/** The built CLI: `npm test` builds it first (pretest), exactly what `npm start` and `npx licensor` run. */
export const CLI = join(ROOT, 'dist/cli/main.js');

export function tempDir(t: TestContext, prefix = 'licensor-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  cleanup(t, () => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** Environment for a child: the parent's PATH and friends, none of the parent's LICENSOR_ settings. */
export function childEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env))
    if (!k.startsWith('LICENSOR_') && k !== 'DATABASE_URL') env[k] = v;
  return { ...env, ...extra };
}

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `licensor ARGS` to completion. */
export function runCli(
  args: string[],
  options: { env?: Record<string, string>; input?: string; cwd?: string } = {},
): Promise<CliResult> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], {
      cwd: options.cwd ?? ROOT,
      env: childEnv(options.env ?? {}),
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolvePromise({ code, stdout, stderr }));
    child.stdin.end(options.input ?? '');
  });
}

export interface ServerProcess {
  url: string;
  child: ChildProcess;
  stdout(): string;
  stderr(): string;
  /** Sends SIGTERM and resolves with the exit code. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

/**
 * Starts a real server process on a free port (LICENSOR_PORT=0) and waits for its "ready at" line.
 * `command` defaults to the built CLI's `serve`; pass ['npm', 'start'] to go through npm.
 */
export function startServerProcess(
  t: TestContext,
  env: Record<string, string>,
  command: string[] = [process.execPath, CLI, 'serve'],
): Promise<ServerProcess> {
  return new Promise((resolvePromise, reject) => {
    const [bin, ...args] = command as [string, ...string[]];
    // Its own process group, so a signal reaches the server even behind `npm start`'s shell.
    const child = spawn(bin, args, {
      cwd: ROOT,
      env: childEnv({ LICENSOR_PORT: '0', ...env }),
      detached: true,
    });
    let out = '';
    let err = '';
    let exited: number | null | undefined;
    const exit = new Promise<number | null>((r) => child.on('exit', (code) => r((exited = code))));
    const stop = async (signal: NodeJS.Signals = 'SIGTERM'): Promise<number | null> => {
      if (exited === undefined && child.pid !== undefined) {
        try {
          process.kill(-child.pid, signal);
        } catch {
          // already gone
        }
      }
      return exit;
    };
    cleanup(t, () => stop('SIGKILL'));
    const timer = setTimeout(() => reject(new Error(`server did not start:\n${out}\n${err}`)), 20_000);
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => {
      err += d.toString();
      const m = /ready at (http:\/\/[^\s"]+)/.exec(err);
      if (m) {
        clearTimeout(timer);
        resolvePromise({ url: m[1]!, child, stdout: () => out, stderr: () => err, stop });
      }
    });
    void exit.then((code) => {
      clearTimeout(timer);
      reject(new Error(`server exited with ${code}:\n${out}\n${err}`));
    });
  });
}
