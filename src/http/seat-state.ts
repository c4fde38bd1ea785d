import { effectiveLicense, type EffectiveLicense } from '../domain/license.js';
import { activeSince } from '../domain/users.js';
import type { AppContext } from './app.js';

export interface SeatState {
  now: Date;
  effective: EffectiveLicense;
  activeUserCount: number;
}

/**
 * What the status, entitlements and metrics answer from: the effective license and the active
 * user count at one instant. Both reads go out together; the hottest routes call only this.
 */
export async function readSeatState({
  store,
  clock,
  activityWindowDays,
}: Pick<AppContext, 'store' | 'clock' | 'activityWindowDays'>): Promise<SeatState> {
  const now = clock.now();
  const [licenses, activeUserCount] = await Promise.all([
    store.listLicenses(),
    store.countActiveUsers(activeSince(now, activityWindowDays)),
  ]);
  return { now, effective: effectiveLicense(licenses, now), activeUserCount };
}
