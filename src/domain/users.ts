const DAY_MS = 24 * 60 * 60 * 1000;

/**
 * The start of the activity window: a user whose last activity is at or after this instant is
 * active (SPEC §4). The boundary itself counts as inside the window.
 */
export function activeSince(now: Date, activityWindowDays: number): Date {
  return new Date(now.getTime() - activityWindowDays * DAY_MS);
}
