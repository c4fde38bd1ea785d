import type { SnapshotPart } from '../domain/changes.js';
import type { EffectiveLicense, LicenseRecord } from '../domain/license.js';
import type { LicenseList } from '../domain/license-list.js';
import { effectiveSpan, type EffectiveSpan } from '../domain/license-stacking.js';
import type { SeatSettings } from '../domain/seat-policy.js';
import { activeSince, activeUsersAt, isOnUtcDay, utcDay, type ActivityCounts } from '../domain/users.js';
import type { ReadView, TokenRecord } from './store.js';

/** How a store fills the snapshot: each part read in one consistent read of its own. */
export interface SnapshotSource {
  /** Licenses that are not deleted, in id order. */
  licenses(): Promise<LicenseList>;
  /** Live tokens by the hash of their secret. */
  tokens(): Promise<Map<string, TokenRecord>>;
  /** The activity counts for a window whose first day is `firstDay`. */
  activity(firstDay: string): Promise<ActivityCounts>;
  /** The customer's seat settings (user cap, when full). */
  settings(): Promise<SeatSettings>;
}

interface Loaded<T> {
  epoch: number;
  value: T;
}

class View implements ReadView {
  readonly #memos = new Map<string, unknown>();

  constructor(
    readonly list: LicenseList,
    readonly effective: EffectiveLicense,
    readonly activeByType: Readonly<Record<'dataConsumer' | 'policyOwner', number>>,
    readonly settings: SeatSettings,
  ) {}

  get licenses(): readonly LicenseRecord[] {
    return this.list.array();
  }

  get activeUserCount(): number {
    return this.activeByType.dataConsumer + this.activeByType.policyOwner;
  }

  memo<T>(key: string, compute: () => T): T {
    if (this.#memos.has(key)) return this.#memos.get(key) as T;
    const value = compute();
    this.#memos.set(key, value);
    return value;
  }
}

/**
 * The in-memory read snapshot of one store (docs/performance.md#the-read-snapshot). Each part
 * (licenses, tokens, users' activity counts, seat settings) is loaded once and kept until the store invalidates
 * it: after its own commits that alter that part, and when another process or instance commits one
 * (SQLite: `data_version`; PostgreSQL: LISTEN/NOTIFY and a generation poll). Time turns it over by
 * itself: the effective license is recomputed when `now` passes a license's `startsAt`,
 * `expires` or end of grace, and the activity counts are reloaded when the window's first day changes. Nothing here
 * grows with the number of users; licenses are parsed once per change, not per request.
 */
export class Snapshot {
  readonly #source: SnapshotSource;
  readonly #windowDays: number;
  readonly #epochs: Record<SnapshotPart, number> = { licenses: 0, tokens: 0, users: 0, settings: 0 };
  #licenses: Loaded<LicenseList> | undefined;
  #settings: Loaded<SeatSettings> | undefined;
  #tokens: Loaded<Map<string, TokenRecord>> | undefined;
  #activity: Loaded<ActivityCounts> | undefined;
  readonly #loading = new Map<string, Promise<unknown>>();
  #effective: EffectiveSpan | undefined;
  #view: View | undefined;

  constructor(source: SnapshotSource, activityWindowDays: number) {
    this.#source = source;
    this.#windowDays = activityWindowDays;
  }

  /** Marks a part stale: the next read loads it again. */
  invalidate(part: SnapshotPart): void {
    this.#epochs[part]++;
  }

  invalidateAll(): void {
    for (const part of ['licenses', 'tokens', 'users', 'settings'] as const) this.invalidate(part);
  }

  /**
   * Loads a part once for concurrent callers. A load that an invalidation overtook still answers
   * its callers (it started after the data they asked about), but is not kept.
   */
  #load<T>(
    part: SnapshotPart,
    key: string,
    load: () => Promise<T>,
    keep: (loaded: Loaded<T>) => void,
  ): Promise<T> {
    const epoch = this.#epochs[part];
    const name = `${part}\n${key}\n${epoch}`;
    const pending = this.#loading.get(name);
    if (pending) return pending as Promise<T>;
    const promise = load()
      .then((value) => {
        if (this.#epochs[part] === epoch) keep({ epoch, value });
        return value;
      })
      .finally(() => this.#loading.delete(name));
    this.#loading.set(name, promise);
    return promise;
  }

  async licenses(): Promise<LicenseList> {
    const kept = this.#licenses;
    if (kept?.epoch === this.#epochs.licenses) return kept.value;
    return this.#load(
      'licenses',
      '',
      () => this.#source.licenses(),
      (l) => (this.#licenses = l),
    );
  }

  async settings(): Promise<SeatSettings> {
    const kept = this.#settings;
    if (kept?.epoch === this.#epochs.settings) return kept.value;
    return this.#load(
      'settings',
      '',
      () => this.#source.settings(),
      (s) => (this.#settings = s),
    );
  }

  async token(hash: string): Promise<TokenRecord | undefined> {
    const kept = this.#tokens;
    if (kept?.epoch === this.#epochs.tokens) return kept.value.get(hash);
    const tokens = await this.#load(
      'tokens',
      '',
      () => this.#source.tokens(),
      (t) => (this.#tokens = t),
    );
    return tokens.get(hash);
  }

  async #activityFor(firstDay: string): Promise<ActivityCounts> {
    const kept = this.#activity;
    if (kept?.epoch === this.#epochs.users && kept.value.firstDay === firstDay) return kept.value;
    return this.#load(
      'users',
      firstDay,
      () => this.#source.activity(firstDay),
      (a) => (this.#activity = a),
    );
  }

  /**
   * The effective license over `licenses` at `now`, computed again only when the licenses change
   * or `now` passes one of their `startsAt`, `expires` or end of grace; a license appended by an
   * add is stacked onto the kept one (effectiveSpan).
   */
  effectiveAt(licenses: LicenseList, now: Date): EffectiveLicense {
    return this.spanAt(licenses, now).value;
  }

  /** The same, with the interval around `now` over which it holds (EffectiveSpan). */
  spanAt(licenses: LicenseList, now: Date): EffectiveSpan {
    this.#effective = effectiveSpan(licenses, now, this.#effective);
    return this.#effective;
  }

  /**
   * The live token with this secret hash when the tokens are loaded and current: null when there is
   * none, undefined when they must be loaded first (then ask `token`).
   */
  currentToken(hash: string): TokenRecord | null | undefined {
    const kept = this.#tokens;
    if (kept?.epoch !== this.#epochs.tokens) return undefined;
    return kept.value.get(hash) ?? null;
  }

  /**
   * The view at `now` when every part it needs is loaded and current, without waiting; undefined
   * when something must be loaded first (then ask `view`). The hot read routes take this path.
   */
  currentView(now: Date): ReadView | undefined {
    const licenses = this.#licenses;
    const activity = this.#activity;
    const settings = this.#settings;
    if (
      licenses?.epoch !== this.#epochs.licenses ||
      activity?.epoch !== this.#epochs.users ||
      settings?.epoch !== this.#epochs.settings
    )
      return undefined;
    const since = activeSince(now, this.#windowDays);
    if (!isOnUtcDay(since, activity.value.firstDay)) return undefined;
    return this.#viewOf(licenses.value, activity.value, settings.value, now, since);
  }

  /** The view at `now`: the same object as the last one when nothing it holds has changed. */
  async view(now: Date): Promise<ReadView> {
    const current = this.currentView(now);
    if (current !== undefined) return current;
    const since = activeSince(now, this.#windowDays);
    const [licenses, activity, settings] = await Promise.all([
      this.licenses(),
      this.#activityFor(utcDay(since)),
      this.settings(),
    ]);
    return this.#viewOf(licenses, activity, settings, now, since);
  }

  #viewOf(
    licenses: LicenseList,
    activity: ActivityCounts,
    settings: SeatSettings,
    now: Date,
    since: Date,
  ): ReadView {
    const effective = this.effectiveAt(licenses, now);
    // The counts are of since's own day (both callers make sure), so the count always applies.
    const byType = activeUsersAt(activity, since);
    if (byType === undefined) throw new Error('the activity counts were loaded for another day');
    const last = this.#view;
    if (
      last?.list === licenses &&
      last.effective === effective &&
      last.activeByType.dataConsumer === byType.dataConsumer &&
      last.activeByType.policyOwner === byType.policyOwner &&
      last.settings === settings
    )
      return last;
    this.#view = new View(licenses, effective, byType, settings);
    return this.#view;
  }
}
