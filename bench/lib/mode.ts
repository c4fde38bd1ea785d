import type { BenchIssuer } from './issuer.js';

/** How long and how hard a run measures: FULL or QUICK (bench/run.ts), adjusted by its options. */
export interface Mode {
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

/** What each figure must reach (docs/performance.md). */
export const TARGETS = { get: 0.8, write: 0.5, licenseAdd: 0.5, scale: 1.5, licenses: 1.5, rssMB: 200 };

/** What every scenario of a run shares. */
export interface Context {
  mode: Mode;
  issuer: BenchIssuer;
  profileDir: string | undefined;
}
