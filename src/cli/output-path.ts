import { existsSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { UsageError } from './cli-errors.js';

/**
 * Checks, before any work is done, that `option` names a file that can be written: not a folder,
 * in a folder that exists. A usage error otherwise, naming the option, rather than Node's EISDIR
 * after the report was fetched.
 */
export function checkOutputFile(option: string, path: string): void {
  if (existsSync(path) && statSync(path).isDirectory())
    throw new UsageError(`${option} ${path}: is a folder; name a file in it`);
  const folder = dirname(resolve(path));
  if (!existsSync(folder) || !statSync(folder).isDirectory())
    throw new UsageError(`${option} ${path}: the folder ${folder} does not exist`);
}

/** Checks that `option` names a folder, or nothing yet (it is then created): not a file. */
export function checkOutputFolder(option: string, path: string): void {
  if (existsSync(path) && !statSync(path).isDirectory())
    throw new UsageError(`${option} ${path}: is a file, not a folder`);
}

/** A write's failure as a usage error naming the option and the reason, not Node's raw text. */
export function writeFailed(option: string, path: string, err: unknown): UsageError {
  const code = (err as { code?: unknown } | null)?.code;
  const reason =
    code === 'EACCES' || code === 'EPERM'
      ? 'permission denied'
      : code === 'ENOTDIR' || code === 'EEXIST'
        ? 'a part of the path is a file, not a folder'
        : code === 'EISDIR'
          ? 'is a folder'
          : code === 'ENOENT'
            ? 'its folder does not exist'
            : err instanceof Error
              ? err.message
              : String(err);
  return new UsageError(`${option} ${path}: cannot be written (${reason})`);
}
