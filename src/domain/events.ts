import type { EffectiveLicense } from './license.js';

/**
 * Events (docs/events.md): every change and every time-based transition produces one, stored in the
 * same transaction as the change (an outbox) for delivery to webhook endpoints.
 */
export const EVENT_TYPES = [
  'license.added',
  'license.deleted',
  'license.started',
  'license.expiring',
  'license.expired',
  'license.grace_started',
  'license.grace_ended',
  'data_access.blocked',
  'data_access.restored',
  'seats.threshold',
  'seats.refused',
  'user.pending',
  'ping',
] as const;

export type EventType = (typeof EVENT_TYPES)[number];

export function isEventType(value: unknown): value is EventType {
  return (EVENT_TYPES as readonly unknown[]).includes(value);
}

/** An event as a change decides it; the store gives it its id and timestamp. */
export interface EventDraft {
  type: EventType;
  data: Record<string, unknown>;
  /**
   * Events with the same key are one event: a second one adds its `count` to the first's instead
   * of being stored again (`seats.refused` is at most one per minute).
   */
  mergeKey?: string;
}

/** A stored event, as `GET /admin/events` lists it. */
export interface EventRecord {
  id: string;
  type: EventType;
  timestamp: Date;
  data: Record<string, unknown>;
}

/** The seat figures `seats.*` and `data_access.*` events carry. */
// A type literal rather than an interface, so it is assignable to event data's record type.
export type SeatFigures = {
  activeUserCount: number;
  licenseSeats: number;
  hardSeats: number;
};

export function seatFigures(effective: EffectiveLicense, activeUserCount: number): SeatFigures {
  return { activeUserCount, licenseSeats: effective.licenseSeats, hardSeats: effective.hardSeats };
}

/** The shares of `licenseSeats` at which `seats.threshold` fires. */
export const SEAT_THRESHOLDS = [80, 90, 100] as const;

/** The active user count at which `percent` of `licenseSeats` is reached. */
function thresholdLevel(percent: number, licenseSeats: number): number {
  return Math.ceil((percent * licenseSeats) / 100);
}

/** The active user counts at which `seats.threshold` fires, one per SEAT_THRESHOLDS share. */
export function seatThresholdLevels(licenseSeats: number): number[] {
  return SEAT_THRESHOLDS.map((percent) => thresholdLevel(percent, licenseSeats));
}

/**
 * `seats.threshold` (docs/events.md): fires once per upward crossing of 80, 90 and 100 % of
 * `licenseSeats`, and is armed again once the count is seen below the threshold. `fired` is the
 * set of thresholds that fired and have not been re-armed since; `before` is the count before the
 * change, `figures` the state after it. Only changes that can raise the count or lower the seats
 * are evaluated; a drop in between is seen as `before` below the level at the next evaluation, which
 * is always a change that raises the count.
 */
export function seatThresholds(
  fired: readonly number[],
  before: number,
  figures: SeatFigures,
): { events: EventDraft[]; fired: number[] } {
  const { activeUserCount: after, licenseSeats } = figures;
  const next = new Set(fired);
  const events: EventDraft[] = [];
  if (licenseSeats === 0) return { events, fired: [...next].sort((a, b) => a - b) };
  for (const percent of SEAT_THRESHOLDS) {
    const level = thresholdLevel(percent, licenseSeats);
    if (Math.min(before, after) < level) next.delete(percent);
    if (after >= level && !next.has(percent)) {
      next.add(percent);
      events.push({ type: 'seats.threshold', data: { percent, ...figures } });
    }
  }
  return { events, fired: [...next].sort((a, b) => a - b) };
}

/** `data_access.blocked` or `.restored` when a change turns data access over. */
export function dataAccessEvents(
  before: EffectiveLicense,
  after: EffectiveLicense,
  figures: SeatFigures,
): EventDraft[] {
  if (before.dataAccessBlocked === after.dataAccessBlocked) return [];
  return [{ type: after.dataAccessBlocked ? 'data_access.blocked' : 'data_access.restored', data: figures }];
}

/** `seats.refused`, merged per minute: one event with a count (docs/events.md). */
export function seatRefusedEvent(figures: SeatFigures, at: Date): EventDraft {
  return {
    type: 'seats.refused',
    data: { ...figures, count: 1 },
    mergeKey: `seats.refused:${at.toISOString().slice(0, 16)}`,
  };
}
