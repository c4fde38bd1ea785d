import type { AuditDraft } from './changes.js';
import { LicensorError } from './errors.js';
import type { EffectiveLicense } from './license.js';

/**
 * The customer's seat policy (docs/seats.md#user-cap-and-approval-queue): a cap below the
 * license's seats, and what a full site does with a new user. Every seat decision reads these under
 * the seat lock and takes its limit from seatLimit(), the one place the limit is decided.
 */

export type WhenFull = 'refuse' | 'queue';

export interface SeatSettings {
  /** At most this many active users, whatever the licenses allow; null is no cap. */
  userCap: number | null;
  /** A new user over the limit: refused (SEAT_LIMIT_REACHED), or stored pending approval. */
  whenFull: WhenFull;
}

export const DEFAULT_SEAT_SETTINGS: SeatSettings = Object.freeze({ userCap: null, whenFull: 'refuse' });

/** The largest cap accepted: the largest seat count a key may carry. */
export const MAX_USER_CAP = 1_000_000_000;

/** The seat limit: licenseSeats, or the cap when it is set and lower. */
export function seatLimit(effective: Pick<EffectiveLicense, 'licenseSeats'>, settings: SeatSettings): number {
  return settings.userCap === null
    ? effective.licenseSeats
    : Math.min(effective.licenseSeats, settings.userCap);
}

/**
 * Validates settings as PUT /admin/settings/seats gives them: userCap an integer from 0 to
 * MAX_USER_CAP or null, whenFull "refuse" or "queue". VALIDATION_FAILED otherwise.
 */
export function parseSeatSettings(input: { userCap: unknown; whenFull: unknown }): SeatSettings {
  const { userCap, whenFull } = input;
  if (
    userCap !== null &&
    (typeof userCap !== 'number' || !Number.isInteger(userCap) || userCap < 0 || userCap > MAX_USER_CAP)
  )
    throw new LicensorError(
      'VALIDATION_FAILED',
      `userCap must be null or an integer from 0 to ${MAX_USER_CAP}`,
    );
  if (whenFull !== 'refuse' && whenFull !== 'queue')
    throw new LicensorError('VALIDATION_FAILED', 'whenFull must be "refuse" or "queue"');
  return { userCap, whenFull };
}

/** The audit entry of a change of the seat settings. */
export function seatSettingsAudit(): AuditDraft {
  return {
    action: 'settings.seats',
    target: 'settings:seats',
    targetName: null,
    outcome: 'success',
    code: null,
  };
}
