import type { FastifyBaseLogger } from 'fastify';
import type { Clock } from '../domain/clock.js';
import { seatFigures } from '../domain/events.js';
import { lookForMilestones, milestoneEvent, type MilestoneLook } from '../domain/schedule.js';
import type { Store } from '../store/store.js';

/**
 * Produces the time-based events (docs/events.md#time-based-events) on every instance: each poll
 * asks the domain what is due among the live licenses (from the read snapshot) and hands what this
 * process has not seen produced to the store, which takes each (license, milestone) key once across
 * every instance. An instance that comes back after every one was down produces what fell due
 * meanwhile on its first poll.
 *
 * A poll looks only when something could have fallen due since the last pass that finished: the
 * live licenses changed (the snapshot hands out a new array), or the clock reached the next
 * milestone instant the domain named. Otherwise it costs one comparison, whatever the number of
 * licenses; when licenses were only added, it looks at those (lookForMilestones,
 * docs/events.md#time-based-events).
 */
export class Scheduler {
  readonly #store: Store;
  readonly #clock: Clock;
  readonly #log: FastifyBaseLogger;
  readonly #pollMs: number;
  #state: { since: Date; produced: Set<string> } | undefined;
  /** The last pass that finished: what it looked at, when, and the next instant anything falls due. */
  #lastLook: MilestoneLook | undefined;
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<void> | undefined;
  #stopped = false;

  constructor(store: Store, clock: Clock, log: FastifyBaseLogger, pollMs: number) {
    this.#store = store;
    this.#clock = clock;
    this.#log = log;
    this.#pollMs = pollMs;
  }

  start(): void {
    this.#timer = setInterval(() => void this.tick(), this.#pollMs);
    this.#timer.unref();
    void this.tick();
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    clearInterval(this.#timer);
    await this.#running;
  }

  /** One pass; a pass already under way is not doubled. Resolves to the keys it produced. */
  tick(): Promise<void> {
    if (this.#stopped || this.#running) return this.#running ?? Promise.resolve();
    this.#running = this.#pass()
      .catch((err: unknown) => this.#log.warn({ err }, 'the event scheduler could not run'))
      .finally(() => (this.#running = undefined));
    return this.#running;
  }

  async #pass(): Promise<void> {
    this.#state ??= await this.#store.webhooks.scheduleState();
    const { since, produced } = this.#state;
    const now = this.#clock.now();
    const licenses = await this.#store.listLicenses();
    const looked = lookForMilestones(this.#lastLook, licenses, since, now);
    if (looked === undefined) return;
    const due = looked.due.filter((m) => !produced.has(`${m.licenseId}:${m.key}`));
    if (due.length > 0) {
      const view = await this.#store.readView(now);
      const figures = seatFigures(view.effective, view.activeUserCount);
      const byId = new Map(licenses.map((l) => [l.id, l]));
      const events = due.map((milestone) => ({
        milestone,
        event: milestoneEvent(milestone, byId.get(milestone.licenseId)!, figures, now),
      }));
      const made = await this.#store.webhooks.produceScheduled(events, now);
      // Produced here or, for the rest, by another instance first: either way, taken.
      for (const m of due) produced.add(`${m.licenseId}:${m.key}`);
      if (made.length > 0) this.#log.info({ produced: made }, 'time-based events produced');
    }
    // Only now: a pass that failed above is tried again at the next poll.
    this.#lastLook = looked.look;
  }
}
