import { UsageError } from './cli-errors.js';

/**
 * The server's MAX_PAGE_SIZE (src/api/user-schemas.ts), restated: importing it would load
 * the schema library at every start of the CLI. test/cli/output.test.ts checks the two agree.
 */
export const MAX_PAGE_SIZE = 1000;

/**
 * The parser of an option that may be given more than once (`--feature a --feature b`): the values
 * in order. Every other option that takes a value may be given once (main.ts refuses a repeat).
 */
export const repeatable = (value: string, previous: string[]): string[] => [...previous, value];

/** Checked here, not by the server, so a typo is a usage error (exit 2) and no request is made. */

/** An id argument: a positive integer, as the API's paths take. */
export function idArgument(what: string, raw: string): number {
  if (!/^[1-9][0-9]{0,15}$/.test(raw) || !Number.isSafeInteger(Number(raw)))
    throw new UsageError(`${what} must be a positive integer, not "${raw}"`);
  return Number(raw);
}

export interface PageOptions {
  offset?: string;
  size?: string;
}

/** --offset (from 0) and --size (1 to MAX_PAGE_SIZE); the server's defaults when left out. */
export function pageOf(options: PageOptions): { offset?: number; size?: number } {
  const page: { offset?: number; size?: number } = {};
  if (options.offset !== undefined) {
    if (!/^\d{1,15}$/.test(options.offset))
      throw new UsageError(`--offset must be a whole number of 0 or more, not "${options.offset}"`);
    page.offset = Number(options.offset);
  }
  if (options.size !== undefined) {
    const size = /^\d{1,4}$/.test(options.size) ? Number(options.size) : NaN;
    if (!(size >= 1 && size <= MAX_PAGE_SIZE))
      throw new UsageError(`--size must be a whole number from 1 to ${MAX_PAGE_SIZE}, not "${options.size}"`);
    page.size = size;
  }
  return page;
}

/** A UTC day as the usage history takes it. */
export function dayOption(flag: string, raw: string | undefined): string | undefined {
  if (raw === undefined) return undefined;
  const date = new Date(`${raw}T00:00:00Z`);
  const valid =
    /^\d{4}-\d{2}-\d{2}$/.test(raw) && !isNaN(date.getTime()) && date.toISOString().startsWith(raw);
  if (!valid) throw new UsageError(`${flag} must be a day such as 2026-01-31, not "${raw}"`);
  return raw;
}
