import type { AuditEntry, AuditQuery } from '../client/index.js';
import { allPages, downloadCsv, fileDay, toCsv } from './csv.js';
import { h, table } from './dom.js';
import { formatDateTime, plural, relativeTime } from './format.js';
import { badge, pager, refocusPager, type ViewContext } from './ui.js';

const PAGE_SIZE = 20;

/** The actions changes are recorded under (docs/audit.md); 403s add "METHOD /route" ones. */
const ACTIONS = [
  'license.add',
  'license.delete',
  'user.create',
  'user.update',
  'user.delete',
  'user.activity',
  'user.disable-inactive',
  'token.create',
  'token.revoke',
];

const DAY_MS = 86_400_000;

function actorText(e: AuditEntry): string {
  return e.actorName ?? (e.actorTokenId === null ? 'no valid token' : `token ${e.actorTokenId}`);
}

/** "user:3 (ada)": the id, and the name it had when the change was made. */
function targetText(e: AuditEntry): string {
  if (e.target === null) return '—';
  return e.targetName === null ? e.target : `${e.target} (${e.targetName})`;
}

export async function renderAudit(ctx: ViewContext): Promise<void> {
  let offset = 0;
  const box = h('div', { class: 'table-box', id: 'audit' });

  // Filters: all optional, combined with AND; dates are UTC days, "to" included.
  const action = h('input', {
    id: 'audit-action',
    type: 'text',
    name: 'action',
    list: 'audit-actions',
    autocomplete: 'off',
    maxlength: 200,
  });
  const actions = h('datalist', { id: 'audit-actions' }, ...ACTIONS.map((a) => h('option', { value: a })));
  const actor = h('input', {
    id: 'audit-actor',
    type: 'text',
    name: 'actor',
    autocomplete: 'off',
    maxlength: 128,
  });
  const outcome = h(
    'select',
    { id: 'audit-outcome', name: 'outcome' },
    h('option', { value: '' }, 'Any'),
    h('option', { value: 'success' }, 'Success'),
    h('option', { value: 'refused' }, 'Refused'),
  );
  const from = h('input', { id: 'audit-from', type: 'date', name: 'from' });
  const to = h('input', { id: 'audit-to', type: 'date', name: 'to' });
  const message = h('p', { class: 'form-error', role: 'alert', id: 'audit-filter-error' });
  const exportButton = h(
    'button',
    { type: 'button', class: 'button secondary', id: 'audit-export' },
    'Export CSV',
  );

  const filters = (): Omit<AuditQuery, 'offset' | 'size'> | null => {
    const q: Omit<AuditQuery, 'offset' | 'size'> = {};
    if (action.value.trim() !== '') q.action = action.value.trim();
    if (actor.value.trim() !== '') q.actor = actor.value.trim();
    if (outcome.value === 'success' || outcome.value === 'refused') q.outcome = outcome.value;
    if (from.value !== '') q.from = new Date(`${from.value}T00:00:00.000Z`).toISOString();
    if (to.value !== '') q.to = new Date(Date.parse(`${to.value}T00:00:00.000Z`) + DAY_MS).toISOString();
    if (q.from !== undefined && q.to !== undefined && q.from >= q.to) {
      message.textContent = 'The first day must not be after the last.';
      return null;
    }
    message.textContent = '';
    return q;
  };
  const filtered = (q: object): boolean => Object.keys(q).length > 0;

  const load = async (via?: 'previous' | 'next'): Promise<void> => {
    const q = filters();
    if (q === null) return;
    const page = await ctx.client.audit({ offset, size: PAGE_SIZE, ...q });
    const now = new Date();
    box.replaceChildren(
      page.entries.length === 0
        ? h(
            'p',
            { class: 'muted' },
            filtered(q) ? 'No entry matches these filters.' : 'The audit log is empty.',
          )
        : table(
            'Audit entries, newest first',
            [
              {
                header: 'When',
                cell: (e: AuditEntry) =>
                  h(
                    'time',
                    { datetime: e.at, title: e.at },
                    formatDateTime(e.at),
                    h('span', { class: 'relative' }, relativeTime(e.at, now)),
                  ),
              },
              { header: 'Actor', cell: (e) => h('span', { class: 'wrap' }, actorText(e)) },
              { header: 'Action', cell: (e) => h('code', { class: 'wrap' }, e.action) },
              { header: 'Target', cell: (e) => h('span', { class: 'wrap' }, targetText(e)) },
              {
                header: 'Outcome',
                cell: (e) =>
                  e.outcome === 'success'
                    ? badge('success', 'ok')
                    : h('span', {}, badge('refused', 'bad'), ' ', h('code', { class: 'wrap' }, e.code ?? '')),
              },
              { header: 'Client', cell: (e) => h('span', { class: 'wrap' }, e.clientAddress) },
            ],
            page.entries,
            { captionHidden: true },
          ),
      pager({ ...page, shown: page.entries.length }, 'entries', (next, how) => {
        offset = next;
        load(how).catch((err: unknown) => ctx.fail(err));
      }),
    );
    if (via !== undefined) refocusPager(box, via);
  };

  const restart = (): void => {
    offset = 0;
    ctx.clearError();
    load().catch((err: unknown) => ctx.fail(err));
  };
  const form = h(
    'form',
    { class: 'filters', role: 'search', 'aria-label': 'Filter the audit log', novalidate: true },
    h('div', { class: 'field' }, h('label', { for: 'audit-action' }, 'Action'), action, actions),
    h('div', { class: 'field' }, h('label', { for: 'audit-actor' }, 'Actor (token name)'), actor),
    h('div', { class: 'field' }, h('label', { for: 'audit-outcome' }, 'Outcome'), outcome),
    h('div', { class: 'field' }, h('label', { for: 'audit-from' }, 'From (UTC day)'), from),
    h('div', { class: 'field' }, h('label', { for: 'audit-to' }, 'To (UTC day, included)'), to),
    h(
      'div',
      { class: 'field field-button' },
      h('button', { type: 'submit', class: 'button' }, 'Filter'),
      h(
        'button',
        {
          type: 'reset',
          class: 'button secondary',
          // After the form has cleared its fields.
          onclick: () => setTimeout(restart, 0),
        },
        'Clear',
      ),
    ),
    message,
  );
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    restart();
  });
  outcome.addEventListener('change', restart);

  exportButton.addEventListener('click', () => {
    const q = filters();
    if (q === null) return;
    exportButton.disabled = true;
    allPages(async (start, size) => {
      const page = await ctx.client.audit({ offset: start, size, ...q });
      return { items: page.entries, total: page.total };
    })
      .then(({ items }) => {
        downloadCsv(
          `licensor-audit-${fileDay()}.csv`,
          toCsv(
            [
              'id',
              'at',
              'actorTokenId',
              'actorName',
              'action',
              'target',
              'targetName',
              'outcome',
              'code',
              'clientAddress',
            ],
            items.map((e) => [
              e.id,
              e.at,
              e.actorTokenId,
              e.actorName,
              e.action,
              e.target,
              e.targetName,
              e.outcome,
              e.code,
              e.clientAddress,
            ]),
          ),
        );
        ctx.notify(`Exported ${plural(items.length, 'entry', 'entries')} as CSV.`);
      })
      .catch((err: unknown) => ctx.fail(err))
      .finally(() => {
        exportButton.disabled = false;
      });
  });

  ctx.root.append(
    h(
      'section',
      { class: 'card', 'aria-labelledby': 'audit-title' },
      h('h2', { id: 'audit-title' }, 'Entries, newest first'),
      h(
        'p',
        { class: 'muted' },
        'Every change, every refused change, and every refused token. Targets show the name they had when the change was made.',
      ),
      form,
      h('div', { class: 'actions' }, exportButton),
      box,
    ),
  );
  await load();
}
