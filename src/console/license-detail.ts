import type { License, LicenseListItem } from '../client/index.js';
import { h, table, type Child } from './dom.js';
import { formatDateTime, relativeTime } from './format.js';
import { HARD_DELETE_TEXT, HARD_EXPIRATION_TEXT, hardBadges, stateBadge } from './impact.js';
import { card, chips, type ViewContext } from './ui.js';

/** The license id of `#/license/12`, or null. */
export function licenseIdOfHash(hash: string): number | null {
  const m = /^#\/license\/([1-9][0-9]{0,15})$/.exec(hash);
  return m === null ? null : Number(m[1]);
}

function when(iso: string | null, none: string, now: Date): Child {
  if (iso === null) return none;
  return h(
    'time',
    { datetime: iso },
    formatDateTime(iso),
    h('span', { class: 'relative' }, relativeTime(iso, now)),
  );
}

function link(l: { id: number }): HTMLElement {
  return h('a', { href: `#/license/${l.id}` }, `License ${l.id}`);
}

/** How `other` relates to `license`: the same uuid added again, superseded by it, or superseding it. */
function relation(license: License, other: LicenseListItem): string | null {
  if (other.id === license.id) return 'this license';
  if (other.uuid === license.uuid)
    return other.id < license.id ? 'earlier add of the same key' : 'later add of the same key';
  if (license.supersedes.includes(other.uuid)) return 'superseded by this license';
  if (other.supersedes.includes(license.uuid)) return 'supersedes this license';
  return null;
}

/**
 * One license with every claim, and its history: every add of its uuid (deleted ones too), the
 * licenses it supersedes and those that supersede it (docs/console.md#license-page).
 */
export async function renderLicenseDetail(ctx: ViewContext): Promise<void> {
  const id = licenseIdOfHash(window.location.hash);
  if (id === null) {
    ctx.root.append(
      h('p', {}, 'No such license page. ', h('a', { href: '#/licenses' }, 'Back to the licenses')),
    );
    return;
  }
  const [license, all] = await Promise.all([
    ctx.client.getLicense(id),
    ctx.client.listLicenses({ all: true }),
  ]);
  const now = new Date();
  const heading = document.querySelector('#view h1');
  if (heading !== null) heading.textContent = `License ${license.id}`;
  document.title = `License ${license.id} · Licensor console`;
  const features = Object.entries(license.features);
  const facts: [string, Child][] = [
    [
      'State',
      h('span', { class: 'badges', id: 'detail-state' }, stateBadge(license.state), ...hardBadges(license)),
    ],
    ['UUID', h('code', {}, license.uuid)],
    [
      'Licensee',
      license.licensee === null
        ? '—'
        : [license.licensee.company, license.licensee.name, license.licensee.email]
            .filter((v) => v !== undefined)
            .join(', ') || '—',
    ],
    ['Seats', String(license.seats)],
    ['Soft seats', String(license.softSeats)],
    ['Created (by the issuer)', when(license.createdAt, '—', now)],
    ['Starts', when(license.startsAt, 'at once', now)],
    ['Expires', when(license.expires, 'never', now)],
    ['Hard expiration', license.hardExpiration ? `yes: ${HARD_EXPIRATION_TEXT}` : 'no'],
    ['Hard delete', license.hardDelete ? `yes: ${HARD_DELETE_TEXT}` : 'no'],
    ['Notice', license.notice ?? '—'],
    ['Notice on expiry', license.noticeOnExpire ?? '—'],
    ['Supersedes', license.supersedes.length === 0 ? '—' : license.supersedes.join(', ')],
    ['Renewal token', license.renewalToken ?? '—'],
    ['Deleted', license.deleted ? 'yes' : 'no'],
    ['Invalidated', license.invalidated ? 'yes' : 'no'],
    ['Last changed', when(license.updatedAt, '—', now)],
  ];
  const history = all
    .map((other) => ({ other, why: relation(license, other) }))
    .filter((r): r is { other: LicenseListItem; why: string } => r.why !== null);
  ctx.root.append(
    h('p', {}, h('a', { href: '#/licenses' }, '← All licenses')),
    h(
      'div',
      { class: 'grid' },
      card(
        'Claims',
        h(
          'dl',
          { class: 'facts', id: 'license-claims' },
          ...facts.flatMap(([k, v]) => [h('dt', {}, k), h('dd', {}, v)]),
        ),
        h('h3', {}, 'Features'),
        chips(
          features.map(([name, f]) => (f.enabled ? name : `${name} (disabled)`)),
          'No feature.',
        ),
        h('h3', {}, 'Data handlers'),
        chips(Object.keys(license.handlers), 'No data handler.'),
      ),
      card(
        'History',
        h(
          'p',
          { class: 'muted' },
          'Every add of this key, and the licenses it supersedes or that supersede it, deleted ones included.',
        ),
        h(
          'div',
          { class: 'table-box', id: 'license-history' },
          table(
            'The history of this license',
            [
              {
                header: 'License',
                cell: (r) => (r.other.id === license.id ? `License ${r.other.id}` : link(r.other)),
              },
              { header: 'Relation', cell: (r) => r.why },
              { header: 'State', cell: (r) => stateBadge(r.other.state) },
              { header: 'Last changed', cell: (r) => formatDateTime(r.other.updatedAt) },
            ],
            history,
            { captionHidden: true, rowAttrs: (r) => ({ 'data-license-id': r.other.id }) },
          ),
        ),
      ),
      card(
        'Signed payload',
        h('p', { class: 'muted' }, 'Every claim of the key as signed, unknown ones included.'),
        h('pre', { class: 'payload' }, JSON.stringify(license.claims, null, 2)),
      ),
    ),
  );
}
