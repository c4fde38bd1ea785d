import type { FastifyBaseLogger } from 'fastify';
import type { Clock } from '../domain/clock.js';
import type { AuthFailureCount, Store } from '../store/store.js';

/** How often the counted failures are written. */
const FLUSH_INTERVAL_MS = 1000;
/** Addresses kept per flush; beyond this, failures are counted under OVERFLOW_ADDRESS. */
const MAX_ADDRESSES = 10_000;
export const OVERFLOW_ADDRESS = '(other addresses)';

/**
 * Failed authentications, audited as aggregates (docs/audit.md#failed-authentications): counted
 * in memory per minute and client address, and written once a second as one small transaction,
 * whatever the rate of failures. Memory is bounded by MAX_ADDRESSES per second.
 */
export class AuthFailureLog {
  readonly #store: Store;
  readonly #clock: Clock;
  readonly #log: FastifyBaseLogger;
  #counts = new Map<string, AuthFailureCount>();
  #timer: NodeJS.Timeout | undefined;
  #flushing: Promise<void> = Promise.resolve();

  constructor(store: Store, clock: Clock, log: FastifyBaseLogger) {
    this.#store = store;
    this.#clock = clock;
    this.#log = log;
  }

  record(clientAddress: string): void {
    const at = this.#clock.now();
    const minute = new Date(Math.floor(at.getTime() / 60_000) * 60_000);
    let address = clientAddress;
    if (!this.#counts.has(`${minute.toISOString()} ${address}`) && this.#counts.size >= MAX_ADDRESSES)
      address = OVERFLOW_ADDRESS;
    const key = `${minute.toISOString()} ${address}`;
    const entry = this.#counts.get(key);
    if (entry) {
      entry.count++;
      entry.lastAt = at;
    } else this.#counts.set(key, { minute, clientAddress: address, count: 1, firstAt: at, lastAt: at });
    this.#timer ??= setTimeout(() => void this.flush(), FLUSH_INTERVAL_MS).unref();
  }

  /** Writes what was counted; a failed write keeps the counts for the next attempt. */
  flush(): Promise<void> {
    this.#timer = undefined;
    const batch = [...this.#counts.values()];
    this.#counts = new Map();
    if (batch.length === 0) return this.#flushing;
    this.#flushing = this.#flushing
      .then(() => this.#store.recordAuthFailures(batch))
      .catch((err: unknown) => {
        this.#log.error({ err }, 'could not write the failed-authentication counts; keeping them');
        for (const entry of batch) {
          const key = `${entry.minute.toISOString()} ${entry.clientAddress}`;
          const kept = this.#counts.get(key);
          if (kept) {
            kept.count += entry.count;
            if (entry.firstAt < kept.firstAt) kept.firstAt = entry.firstAt;
          } else this.#counts.set(key, entry);
        }
        this.#timer ??= setTimeout(() => void this.flush(), FLUSH_INTERVAL_MS).unref();
      });
    return this.#flushing;
  }

  /** Writes what is left; called when the app closes, before the store does. */
  async close(): Promise<void> {
    if (this.#timer) clearTimeout(this.#timer);
    await this.flush();
  }
}
