import type { LicenseListItem, LicenseStatus, Notices, UpcomingLicenseChanges } from '../client/index.js';
import { gaugeLegend, seatGauge, seatTone } from './charts.js';
import { h } from './dom.js';
import { daysUntil, formatDay, plural, relativeTime } from './format.js';
import { pendingNotice } from './pending.js';
import { badge, card, chips, type Tone, type ViewContext } from './ui.js';

/** An expiry this close is a warning. */
export const EXPIRY_WARNING_DAYS = 30;

export interface StateInWords {
  label: string;
  tone: Tone;
  detail: string;
}

/** How far ahead the overview lists licenses that start or expire. */
export const AHEAD_DAYS = 365;

type Change = UpcomingLicenseChanges['changes'][number];
type LicenseRef = Change['expiring'][number];

/** A license as people name it: its licensee (company, else name), else its uuid. */
export function licenseName(l: LicenseRef): string {
  const who = l.licensee?.company ?? l.licensee?.name;
  return who === undefined ? `License ${l.id} (${l.uuid})` : `License ${l.id} (${who})`;
}

/** What one change ahead means, in a sentence: which license, when, and what is lost or gained. */
export function changeInWords(change: Change, now: Date): StateInWords {
  const names = (refs: LicenseRef[]) => refs.map(licenseName).join(', ');
  const what = [
    change.expiring.length > 0 ? `${names(change.expiring)} expires` : null,
    change.starting.length > 0 ? `${names(change.starting)} starts` : null,
  ]
    .filter((p) => p !== null)
    .join('; ');
  const label = `${what} ${formatDay(change.at)} (${relativeTime(change.at, now)})`;
  const effects: string[] = [];
  if (change.after.dataAccessBlocked && !change.before.dataAccessBlocked)
    effects.push('data access blocked (hard expiration, no other license active)');
  if (change.after.licenseSeats !== change.before.licenseSeats)
    effects.push(`seats ${change.before.licenseSeats} → ${change.after.licenseSeats}`);
  if (change.featuresLost.length > 0) effects.push(`features lost: ${change.featuresLost.join(', ')}`);
  if (change.handlersLost.length > 0) effects.push(`handlers lost: ${change.handlersLost.join(', ')}`);
  if (change.featuresGained.length > 0) effects.push(`features gained: ${change.featuresGained.join(', ')}`);
  if (change.handlersGained.length > 0) effects.push(`handlers gained: ${change.handlersGained.join(', ')}`);
  if (change.usersOverLimitAfter > 0)
    effects.push(`${plural(change.usersOverLimitAfter, 'active user')} over the limit`);
  const loses =
    change.after.dataAccessBlocked ||
    change.after.licenseSeats < change.before.licenseSeats ||
    change.featuresLost.length > 0 ||
    change.handlersLost.length > 0;
  return {
    label,
    tone: change.after.dataAccessBlocked ? 'bad' : loses ? 'warn' : 'neutral',
    detail: effects.length > 0 ? `${effects.join('; ')}.` : 'Nothing else changes.',
  };
}

/** The license state in words: active, expires in N days, expired, data access blocked, ... */
export function licenseStateOf(
  status: LicenseStatus,
  licenses: LicenseListItem[],
  now: Date,
  ahead: UpcomingLicenseChanges | null = null,
): StateInWords {
  if (status.dataAccessBlocked)
    return {
      label: 'Data access blocked',
      tone: 'bad',
      detail:
        'No license is active and an expired license has hard expiration: the product blocks data access until a license is added.',
    };
  if (status.activeLicenses === 0) {
    const expired = licenses
      .filter((l) => l.state === 'expired' && l.expires !== null)
      .sort((a, b) => Date.parse(b.expires!) - Date.parse(a.expires!))[0];
    if (expired !== undefined)
      return {
        label: 'Expired',
        tone: 'bad',
        detail: `No license is active: the last one expired ${relativeTime(expired.expires!, now)} (${formatDay(expired.expires!)}).`,
      };
    const scheduled = licenses
      .filter((l) => l.state === 'scheduled' && l.startsAt !== null)
      .sort((a, b) => Date.parse(a.startsAt!) - Date.parse(b.startsAt!))[0];
    if (scheduled !== undefined)
      return {
        label: 'Not yet active',
        tone: 'warn',
        detail: `License ${scheduled.id} starts ${relativeTime(scheduled.startsAt!, now)} (${formatDay(scheduled.startsAt!)}).`,
      };
    return { label: 'No license', tone: 'neutral', detail: 'Add a license key to license seats.' };
  }
  if (status.grace !== null) return graceInWords(status, status.grace, licenses, now);
  const active = plural(status.activeLicenses, 'active license');
  if (status.nextExpiry === null)
    return { label: 'Active', tone: 'ok', detail: `${active}; none of them expires.` };
  const when = `${relativeTime(status.nextExpiry, now)} (${formatDay(status.nextExpiry)})`;
  if (daysUntil(status.nextExpiry, now) <= EXPIRY_WARNING_DAYS) {
    const change = ahead?.changes.find((c) => c.at === status.nextExpiry && c.expiring.length > 0);
    if (change !== undefined) {
      const words = changeInWords(change, now);
      return {
        label: `Expires ${relativeTime(status.nextExpiry, now)}`,
        // Not blocked yet: amber until it happens; the Ahead card marks a coming block Critical.
        tone: 'warn',
        detail: `${words.label}: ${words.detail} Renew before then.`,
      };
    }
    return {
      label: `Expires ${relativeTime(status.nextExpiry, now)}`,
      tone: 'warn',
      detail: `${active}; the next expiry is ${when}. Renew before then.`,
    };
  }
  return { label: 'Active', tone: 'ok', detail: `${active}; the next expiry is ${when}.` };
}

/**
 * A license in its grace after expiry (docs/licenses.md#grace-period): "in grace until …, then …",
 * where what follows is what the end of the earliest grace takes away.
 */
function graceInWords(
  status: LicenseStatus,
  grace: NonNullable<LicenseStatus['grace']>,
  licenses: LicenseListItem[],
  now: Date,
): StateInWords {
  const ending = licenses.filter((l) => l.state === 'grace' && l.graceUntil === grace.until);
  const lastInForce = ending.length >= status.activeLicenses;
  const seats = ending.reduce((n, l) => n + l.seats + l.softSeats, 0);
  const then = !lastInForce
    ? `${plural(seats, 'seat')} go`
    : ending.some((l) => l.hardExpiration)
      ? 'data access is blocked'
      : 'no license is in force';
  return {
    label: `In grace until ${formatDay(grace.until)}`,
    tone: 'warn',
    detail: `Expired, in grace until ${formatDay(grace.until)} (${relativeTime(grace.until, now)}), then ${then}. Add the renewal before then.`,
  };
}

/** The seats in one sentence, with what it means for new users. */
export function seatsInWords(status: LicenseStatus): string {
  const { activeUserCount: used, licenseSeats: total, hardSeats: hard } = status;
  if (total === 0)
    return used === 0
      ? 'No seats: no license is active.'
      : `${plural(used, 'active user')} and no seats: no license is active.`;
  if (used > total)
    return `${used - total} over the limit: ${plural(used, 'active user')} for ${total} seats.`;
  if (used === total) return 'All seats are taken: new users cannot be added.';
  if (used > hard)
    return `${plural(used - hard, 'user')} in soft seats; ${plural(total - used, 'seat')} free.`;
  return `${plural(total - used, 'seat')} free.`;
}

function noticesPreview(notices: Notices): HTMLElement {
  if (notices.notices.length === 0)
    return h('p', { class: 'muted' }, 'No notices: users see the login page without one.');
  return h(
    'div',
    { class: 'login-preview', 'aria-label': 'The login page as users see it' },
    h('p', { class: 'login-title', 'aria-hidden': 'true' }, 'Sign in'),
    ...notices.notices.map((n) =>
      h(
        'p',
        { class: `login-notice ${n.kind === 'notice' ? 'tone-neutral' : 'tone-warn'}` },
        n.kind === 'noticeOnExpire' ? h('strong', {}, 'Expired: ') : null,
        n.text,
      ),
    ),
  );
}

export async function renderOverview(ctx: ViewContext): Promise<void> {
  const [status, licenses, notices, queue, instance, ahead] = await Promise.all([
    ctx.client.licenseStatus(),
    ctx.client.listLicenses(),
    ctx.client.notices(),
    ctx.client.listUsers({ state: 'pending', size: 1 }),
    ctx.client.instance(),
    ctx.client.upcomingLicenseChanges({ days: AHEAD_DAYS }),
  ]);
  const waiting = pendingNotice(queue.total);
  const now = new Date();
  const state = licenseStateOf(status, licenses, now, ahead);
  const enabled = Object.entries(status.features)
    .filter(([, f]) => f.enabled)
    .map(([name]) => name)
    .sort();
  const disabled = Object.entries(status.features)
    .filter(([, f]) => !f.enabled)
    .map(([name]) => name)
    .sort();
  if (waiting !== null)
    ctx.root.append(
      h(
        'p',
        { class: 'pending-notice tone-warn', id: 'pending-notice', role: 'status' },
        `${waiting} `,
        h('a', { href: '#/pending' }, 'Review the queue'),
        '.',
      ),
    );
  ctx.root.append(
    h(
      'div',
      { class: 'grid' },
      card(
        'Seats',
        h(
          'p',
          { class: 'big-number', id: 'seat-count' },
          h('span', { class: 'num' }, String(status.activeUserCount)),
          h('span', { class: 'of' }, ` of ${plural(status.licenseSeats, 'seat')} used`),
        ),
        seatGauge(status),
        gaugeLegend(status),
        h('p', { class: `seat-words tone-text-${seatTone(status)}`, id: 'seat-words' }, seatsInWords(status)),
        h(
          'dl',
          { class: 'facts' },
          h('dt', {}, 'Licensed (hard) seats'),
          h('dd', {}, String(status.hardSeats)),
          h('dt', {}, 'Soft seats'),
          h('dd', {}, String(status.licenseSeats - status.hardSeats)),
          ...(status.userCap !== null
            ? [h('dt', {}, 'User cap'), h('dd', {}, `${status.userCap} (seat limit ${status.seatLimit})`)]
            : []),
          h('dt', {}, 'New users'),
          h(
            'dd',
            {},
            status.canAddUser
              ? 'can be added'
              : status.licenseSeats === 0
                ? 'cannot be added: no active license'
                : status.whenFull === 'queue'
                  ? 'are queued for approval'
                  : 'cannot be added',
          ),
          ...(status.overage > 0
            ? [h('dt', {}, 'Overage (true-up)'), h('dd', {}, plural(status.overage, 'user'))]
            : []),
        ),
      ),
      card(
        'License state',
        h('p', { class: 'state-line', id: 'license-state' }, badge(state.label, state.tone)),
        h('p', {}, state.detail),
        h(
          'p',
          { class: 'muted', id: 'instance-id' },
          'Instance ',
          h('code', {}, instance.instanceId),
          ' (signs usage reports and entitlements)',
        ),
      ),
      card(
        'Ahead',
        h(
          'p',
          { class: 'muted' },
          `Licenses that start or expire within ${AHEAD_DAYS} days, and what changes then.`,
        ),
        ahead.changes.length === 0
          ? h('p', { class: 'muted', id: 'ahead-none' }, 'Nothing starts or expires.')
          : h(
              'ul',
              { class: 'ahead-list', id: 'ahead' },
              ...ahead.changes.map((change) => {
                const words = changeInWords(change, now);
                const soon = daysUntil(change.at, now) <= EXPIRY_WARNING_DAYS && words.tone !== 'neutral';
                return h(
                  'li',
                  { 'data-tone': words.tone },
                  soon ? badge(words.tone === 'bad' ? 'Critical' : 'Warning', words.tone) : null,
                  soon ? ' ' : null,
                  h('strong', {}, words.label),
                  ': ',
                  words.detail,
                );
              }),
            ),
      ),
      card(
        'Login notices',
        h('p', { class: 'muted' }, 'What users see on the login page of the product.'),
        noticesPreview(notices),
      ),
      card(
        'Features and handlers',
        h('h3', {}, 'Enabled features'),
        chips(enabled, 'No feature is enabled.', 'ok'),
        disabled.length > 0 ? h('h3', {}, 'Named but disabled') : null,
        disabled.length > 0 ? chips(disabled, '') : null,
        h('h3', {}, 'Data handlers'),
        chips(Object.keys(status.handlers).sort(), 'No data handler is covered.'),
      ),
    ),
  );
}
