/**
 * The one source of "now". Domain rules take a Date instead of reading the time, and everything that
 * needs the time gets a Clock, so every rule can be tested at any instant.
 */
export interface Clock {
  now(): Date;
}

export const systemClock: Clock = { now: () => new Date() };

/** A clock that stands still until moved; for tests and for replaying a moment. */
export class ManualClock implements Clock {
  #ms: number;

  constructor(start: Date | string | number) {
    this.#ms = new Date(start).getTime();
  }

  now(): Date {
    return new Date(this.#ms);
  }

  set(at: Date | string | number): void {
    this.#ms = new Date(at).getTime();
  }

  advance(ms: number): void {
    this.#ms += ms;
  }
}

/** ISO 8601 in UTC with milliseconds, the API's one timestamp format. */
export function toIso(date: Date): string {
  return date.toISOString();
}
