import type { Clock } from '../domain/clock.js';

export interface AuthFailureLimit {
  /** Failed authentications allowed from one client address within the window. */
  maxFailures: number;
  windowSeconds: number;
}

/** At most this many client addresses are tracked; the oldest windows are dropped first. */
const MAX_TRACKED_CLIENTS = 10_000;

/**
 * Counts failed authentications per client address in fixed windows. A client may fail
 * `maxFailures` times in a window; each failure beyond is refused with 429 until the window ends.
 * Only failures are ever limited: a request with a valid token is served whatever its address has
 * done, so one misbehaving script behind a shared proxy address cannot lock everyone else out.
 * Kept in memory, per process.
 */
export class AuthFailureLimiter {
  readonly #limit: AuthFailureLimit;
  readonly #clock: Clock;
  readonly #clients = new Map<string, { failures: number; windowEndsMs: number }>();

  constructor(limit: AuthFailureLimit, clock: Clock) {
    this.#limit = limit;
    this.#clock = clock;
  }

  /** Seconds until the client's failures count again, or 0 when it has failures left. Never counts. */
  retryAfterSeconds(client: string): number {
    const entry = this.#clients.get(client);
    if (entry === undefined) return 0;
    const now = this.#clock.now().getTime();
    if (now >= entry.windowEndsMs) {
      this.#clients.delete(client);
      return 0;
    }
    return entry.failures >= this.#limit.maxFailures ? Math.ceil((entry.windowEndsMs - now) / 1000) : 0;
  }

  /**
   * Checks and counts one failed authentication in a single synchronous step, so that concurrent
   * failures cannot all pass a check made before any of them was counted. Returns 0 when the
   * failure is within the limit (the caller answers 401), or the seconds until the window ends when
   * the client has no failures left (the caller answers 429; the failure is not counted again).
   */
  recordFailure(client: string): number {
    const now = this.#clock.now().getTime();
    let entry = this.#clients.get(client);
    if (entry === undefined || now >= entry.windowEndsMs) {
      this.#clients.delete(client);
      if (this.#clients.size >= MAX_TRACKED_CLIENTS) {
        const oldest = this.#clients.keys().next().value;
        if (oldest !== undefined) this.#clients.delete(oldest);
      }
      entry = { failures: 0, windowEndsMs: now + this.#limit.windowSeconds * 1000 };
      this.#clients.set(client, entry);
    }
    if (entry.failures >= this.#limit.maxFailures) return Math.ceil((entry.windowEndsMs - now) / 1000);
    entry.failures++;
    return 0;
  }
}
