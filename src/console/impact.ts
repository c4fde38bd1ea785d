import type { LicenseImpact, LicenseState } from '../client/index.js';
import { h, table, type Child } from './dom.js';
import { formatDay, plural, relativeTime } from './format.js';
import { badge, chips, type Tone } from './ui.js';

type Snapshot = LicenseImpact['before'];

function seats(s: Snapshot): string {
  return `${s.licenseSeats} (${s.hardSeats} + ${s.licenseSeats - s.hardSeats})`;
}

/** The value after the change; bold, and said to be a change, where it differs from now. */
function changed(before: string, after: string): Child {
  return before === after
    ? after
    : h('strong', { class: 'changed' }, after, h('span', { class: 'visually-hidden' }, ' (changes)'));
}

/** The two irreversible claims, as badges with what they mean (docs/licenses.md). */
export const HARD_EXPIRATION_TEXT =
  'once it expires, data access is blocked unless another license is active';
export const HARD_DELETE_TEXT = 'once deleted, its key can never be added again';

export function hardBadges(license: { hardExpiration: boolean; hardDelete: boolean }): HTMLElement[] {
  return [
    ...(license.hardExpiration
      ? [h('span', { class: 'badge tone-bad hard-badge', title: HARD_EXPIRATION_TEXT }, 'Hard expiration')]
      : []),
    ...(license.hardDelete
      ? [h('span', { class: 'badge tone-warn hard-badge', title: HARD_DELETE_TEXT }, 'Hard delete')]
      : []),
  ];
}

/** The hard claims spelled out, one sentence each, for a preview or a confirmation. */
export function hardConsequences(
  license: { hardExpiration: boolean; hardDelete: boolean; expires: string | null },
  change: 'add' | 'delete',
): Child[] {
  const out: Child[] = [];
  if (license.hardExpiration && change === 'add')
    out.push(
      h(
        'p',
        { class: 'consequence tone-bad', 'data-consequence': 'hard-expiration' },
        ...hardBadges({ hardExpiration: true, hardDelete: false }),
        ' ',
        license.expires === null
          ? 'It never expires, so the block never applies.'
          : `On ${formatDay(license.expires)}, ${HARD_EXPIRATION_TEXT}.`,
      ),
    );
  if (license.hardDelete && change === 'add')
    out.push(
      h(
        'p',
        { class: 'consequence tone-warn', 'data-consequence': 'hard-delete' },
        ...hardBadges({ hardExpiration: false, hardDelete: true }),
        ' ',
        `If it is ever deleted, ${HARD_DELETE_TEXT}.`,
      ),
    );
  return out;
}

/** What changes on a scheduled key's start date: seats, features and handlers then. */
function atStartDetails(shift: NonNullable<LicenseImpact['atStart']>, now: Date): HTMLElement {
  return h(
    'section',
    { class: 'at-start', id: 'at-start', 'aria-labelledby': 'at-start-title' },
    h(
      'h4',
      { id: 'at-start-title' },
      `On its start date, ${formatDay(shift.at)} (${relativeTime(shift.at, now)})`,
    ),
    h(
      'p',
      {},
      'Nothing changes now. When it comes into force: seats ',
      h('strong', {}, `${shift.before.licenseSeats} → ${shift.after.licenseSeats}`),
      '.',
    ),
    h('h4', {}, 'Features gained then'),
    chips(shift.featuresGained, 'None.', 'ok'),
    h('h4', {}, 'Handlers gained then'),
    chips(shift.handlersGained, 'None.', 'ok'),
    shift.usersOverLimitAfter > 0
      ? h(
          'p',
          { class: 'consequence tone-bad' },
          `${plural(shift.usersOverLimitAfter, 'active user')} over the limit then.`,
        )
      : null,
  );
}

/** Who the license is for and what it grants, in one line. */
export function licenseSummary(license: NonNullable<LicenseImpact['license']>, now: Date): string {
  const who = [license.licensee?.company, license.licensee?.name].filter((v) => v !== undefined).join(', ');
  const expiry =
    license.expires === null
      ? 'never expires'
      : `expires ${formatDay(license.expires)} (${relativeTime(license.expires, now)})`;
  return [
    who === '' ? null : `For ${who}`,
    `${plural(license.seats, 'seat')} + ${license.softSeats} soft`,
    expiry,
    license.startsAt !== null && Date.parse(license.startsAt) > now.getTime()
      ? `starts ${formatDay(license.startsAt)}`
      : null,
  ]
    .filter((part) => part !== null)
    .join(' · ');
}

/**
 * What a dry run says, as a before → after table and lists of what is gained or lost. The same
 * for adding (the preview) and deleting (the confirmation).
 */
export function impactDetails(impact: LicenseImpact, change: 'add' | 'delete'): HTMLElement {
  const { before, after } = impact;
  const rows: { what: string; before: string; after: string }[] = [
    { what: 'Seats (hard + soft)', before: seats(before), after: seats(after) },
    {
      what: 'Active users',
      before: String(impact.activeUserCount),
      after: String(impact.activeUserCount),
    },
    { what: 'Active licenses', before: String(before.activeLicenses), after: String(after.activeLicenses) },
    {
      what: 'New users',
      before: before.canAddUser ? 'can be added' : 'cannot be added',
      after: after.canAddUser ? 'can be added' : 'cannot be added',
    },
  ];
  const consequences: Child[] = [];
  if (change === 'add') {
    consequences.push(
      h('h4', {}, 'Features gained'),
      chips(impact.featuresGained, 'None.', 'ok'),
      h('h4', {}, 'Handlers gained'),
      chips(impact.handlersGained, 'None.', 'ok'),
    );
    if (impact.invalidates.length > 0)
      consequences.push(
        h('h4', {}, 'Licenses it invalidates'),
        chips(
          impact.invalidates.map((l) => `License ${l.id} (${l.uuid})`),
          '',
          'warn',
        ),
      );
  } else {
    consequences.push(
      h('h4', {}, 'Features lost'),
      chips(impact.featuresLost, 'None.', 'warn'),
      h('h4', {}, 'Handlers lost'),
      chips(impact.handlersLost, 'None.', 'warn'),
    );
  }
  const overLimit =
    impact.usersOverLimitAfter > 0
      ? h(
          'p',
          { class: 'consequence tone-bad' },
          `${plural(impact.usersOverLimitAfter, 'active user')} would be over the limit afterwards: no new user can be added until seats are added or users removed.`,
        )
      : change === 'delete' && impact.activeUserCount > 0
        ? h(
            'p',
            { class: 'consequence tone-ok' },
            `All ${plural(impact.activeUserCount, 'active user')} keep a seat.`,
          )
        : null;
  const blocked =
    after.dataAccessBlocked && !before.dataAccessBlocked
      ? h('p', { class: 'consequence tone-bad' }, 'Data access would be blocked: no license would be active.')
      : !after.dataAccessBlocked && before.dataAccessBlocked
        ? h('p', { class: 'consequence tone-ok' }, 'Data access would no longer be blocked.')
        : null;
  const scheduled = impact.atStart === null ? null : atStartDetails(impact.atStart, new Date());
  return h(
    'div',
    { class: 'impact' },
    impact.license === null ? null : hardConsequences(impact.license, change)[0],
    impact.license === null ? null : hardConsequences(impact.license, change)[1],
    scheduled,
    table(
      change === 'add' ? 'Seats now and right after adding' : 'Seats before and after deleting',
      [
        { header: '', cell: (r) => r.what, className: 'row-head' },
        { header: 'Now', cell: (r) => r.before },
        {
          header: change === 'add' ? 'After adding' : 'After deleting',
          cell: (r) => changed(r.before, r.after),
        },
      ],
      rows,
      { captionHidden: true },
    ),
    overLimit,
    blocked,
    ...consequences,
  );
}

/** The refusal a key would get, as its problem detail. */
export function refusalNotice(refusal: NonNullable<LicenseImpact['refusal']>): HTMLElement {
  return h(
    'div',
    { class: 'refusal', role: 'alert' },
    h('p', {}, badge('Would be refused', 'bad'), ' ', h('strong', {}, refusal.detail)),
    h('p', { class: 'muted' }, `Code ${refusal.code}. Nothing was stored.`),
  );
}

const STATE_TONE: Record<LicenseState, Tone> = {
  active: 'ok',
  grace: 'warn',
  scheduled: 'warn',
  expired: 'bad',
  invalidated: 'neutral',
  deleted: 'neutral',
};

/** A license's state as a badge, coloured by what it means for the site. */
export function stateBadge(state: LicenseState): HTMLElement {
  return badge(state, STATE_TONE[state]);
}
