import type { Clock } from '../domain/clock.js';

export interface AuthFailureLimit {
  /** Failed authentications allowed from one client address within the window. */
  maxFailures: number;
  windowSeconds: number;
}

/** At most this many client addresses are tracked; the oldest windows are dropped first. */
const MAX_TRACKED_CLIENTS = 10_000;

/**
 * Counts failed authentications per client address in fixed windows. Once a client has failed
 * `maxFailures` times in a window, every request from it that needs a token is refused until the
 * window ends, valid token or not: answering valid tokens would still let a guesser tell a hit
 * from a miss. Kept in memory, per process.
 */
export class AuthFailureLimiter {
  readonly #limit: AuthFailureLimit;
  readonly #clock: Clock;
  readonly #clients = new Map<string, { failures: number; windowEndsMs: number }>();

  constructor(limit: AuthFailureLimit, clock: Clock) {
    this.#limit = limit;
    this.#clock = clock;
  }

  /** Seconds until the client may try again, or 0 when it is not blocked. */
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

  recordFailure(client: string): void {
    const now = this.#clock.now().getTime();
    const entry = this.#clients.get(client);
    if (entry === undefined || now >= entry.windowEndsMs) {
      this.#clients.delete(client);
      if (this.#clients.size >= MAX_TRACKED_CLIENTS) {
        const oldest = this.#clients.keys().next().value;
        if (oldest !== undefined) this.#clients.delete(oldest);
      }
      this.#clients.set(client, { failures: 1, windowEndsMs: now + this.#limit.windowSeconds * 1000 });
    } else {
      entry.failures++;
    }
  }
}
