import { LicensorError } from '../../domain/errors.js';
import type { ChangeContext } from '../store.js';

/** The most changes one transaction commits. */
const MAX_BATCH = 64;

/** A change waiting for its batch, and how to answer it. */
export interface Queued<I, R> {
  input: I;
  ctx: ChangeContext;
  resolve: (result: R) => void;
  reject: (err: unknown) => void;
}

/**
 * Changes of one kind that commit together on PostgreSQL (docs/seats.md#batched-creates,
 * docs/licenses.md#batched-adds): the ones asked for while the process commits others gather, and
 * go in one transaction once it is done (up to MAX_BATCH); the first one asked for waits only for
 * the end of the current turn of the event loop. `together` runs one batch's transaction and
 * answers what each change came to once it has committed (its result or its refusal); the changes
 * of a batch of several are told only once the next batch has been started, so its first round
 * trip does not wait behind their replies (a change run alone is answered as it ends). A batch of
 * one runs `alone`. When `together` fails, nothing it decided is kept: STORE_UNAVAILABLE
 * (a lost connection, or a database too busy: a deadlock, a serialization failure) fails every
 * change, as it would have failed each; any other failure (a write the database refuses) runs each
 * change alone, one after another in the order asked, so one change's failure is its own. `together`
 * must not throw once its transaction has committed, and counts as a change's refusal only a
 * LicensorError (isRefusal), so a failed statement fails the batch rather than the change.
 */
export class ChangeBatches<I, R> {
  readonly #alone: (input: I, ctx: ChangeContext) => Promise<R>;
  readonly #together: (changes: Queued<I, R>[]) => Promise<Outcome<I, R>[]>;
  readonly #queue: Queued<I, R>[] = [];
  #running = false;
  #scheduled = false;
  /** Batches committed whose changes are still to be told. */
  #untold = 0;
  /** Told each time a batch ends. */
  #idle: (() => void)[] = [];

  /** `alone` runs a change by itself; by default, as a batch of one (oneOf). */
  constructor(
    together: (changes: Queued<I, R>[]) => Promise<Outcome<I, R>[]>,
    alone: (input: I, ctx: ChangeContext) => Promise<R> = oneOf(together),
  ) {
    this.#alone = alone;
    this.#together = together;
  }

  submit(input: I, ctx: ChangeContext): Promise<R> {
    return new Promise<R>((resolve, reject) => {
      this.#queue.push({ input, ctx, resolve, reject });
      if (this.#scheduled) return;
      this.#scheduled = true;
      // The end of this turn: the changes asked for in it go together.
      setImmediate(() => {
        this.#scheduled = false;
        this.#start();
      });
    });
  }

  /** Starts a batch of what is queued, unless one is committing: the next one gathers meanwhile. */
  #start(): void {
    if (this.#running || this.#queue.length === 0) return;
    const changes = this.#queue.splice(0, MAX_BATCH);
    this.#running = true;
    // A batch that failed in a way #run did not foresee fails its changes and still lets the next
    // one start: nothing may leave the queue stuck.
    const failed = (err: unknown) => () => {
      for (const change of changes) change.reject(err);
    };
    void this.#run(changes)
      .catch(failed)
      .then((tell) => {
        this.#running = false;
        // Told in the next turn of the event loop: the batch started below takes its connection
        // from pg's pool on process.nextTick, which runs only once the microtasks drain, and
        // telling these changes here would run every one's reply (a promise continuation each)
        // before that first round trip is sent. Counted until then, so drain() waits for it.
        this.#untold++;
        setImmediate(() => {
          this.#untold--;
          tell();
          const idle = this.#idle;
          this.#idle = [];
          for (const resolve of idle) resolve();
        });
        this.#start();
      });
  }

  /** Runs a batch; resolves to what tells its changes how they went. */
  async #run(changes: Queued<I, R>[]): Promise<() => void> {
    const told = (): void => undefined;
    if (changes.length === 1) {
      const [only] = changes as [Queued<I, R>];
      await this.#alone(only.input, only.ctx).then(only.resolve, only.reject);
      return told;
    }
    try {
      const outcomes = await this.#together(changes);
      return () => settle(outcomes);
    } catch (err) {
      if (err instanceof LicensorError && err.code === 'STORE_UNAVAILABLE') {
        for (const change of changes) change.reject(err);
        return told;
      }
      // One after another, in the order asked: a change may build on the one before it (a
      // supersede of a license added just before).
      for (const c of changes) await this.#alone(c.input, c.ctx).then(c.resolve, c.reject);
      return told;
    }
  }

  /** Resolves once nothing is queued or committing: what was asked for before has been answered. */
  async drain(): Promise<void> {
    while (this.#running || this.#queue.length > 0 || this.#scheduled || this.#untold > 0)
      await new Promise<void>((resolve) => this.#idle.push(resolve));
  }
}

/**
 * One change run as a batch of its own: `together`'s transaction for it alone, answered with what
 * `together` says it came to, or failed as `together` fails.
 */
export function oneOf<I, R>(
  together: (changes: Queued<I, R>[]) => Promise<Outcome<I, R>[]>,
): (input: I, ctx: ChangeContext) => Promise<R> {
  return (input, ctx) =>
    new Promise<R>((resolve, reject) => {
      together([{ input, ctx, resolve, reject }]).then(settle, reject);
    });
}

/** What one change of a batch came to: its result once committed, or its refusal. */
export type Outcome<I, R> =
  { change: Queued<I, R>; result: () => R } | { change: Queued<I, R>; refusal: unknown };

/** Settles a committed batch's changes: each one's result, or its refusal. Never throws. */
export function settle<I, R>(outcomes: readonly Outcome<I, R>[]): void {
  for (const outcome of outcomes) {
    if ('refusal' in outcome) outcome.change.reject(outcome.refusal);
    else
      try {
        outcome.change.resolve(outcome.result());
      } catch (err) {
        outcome.change.reject(err);
      }
  }
}

/** Whether a change of a batch was refused (the domain said no), not failed by the database. */
export function isRefusal(err: unknown): boolean {
  return err instanceof LicensorError;
}
