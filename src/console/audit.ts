import type { AuditEntry } from '../client/index.js';
import { h, table } from './dom.js';
import { formatDateTime, relativeTime } from './format.js';
import { badge, pager, refocusPager, type ViewContext } from './ui.js';

const PAGE_SIZE = 20;

export async function renderAudit(ctx: ViewContext): Promise<void> {
  let offset = 0;
  const box = h('div', { class: 'table-box', id: 'audit' });

  const load = async (via?: 'previous' | 'next'): Promise<void> => {
    const page = await ctx.client.audit({ offset, size: PAGE_SIZE });
    const now = new Date();
    box.replaceChildren(
      page.entries.length === 0
        ? h('p', { class: 'muted' }, 'The audit log is empty.')
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
              {
                header: 'Actor',
                cell: (e) =>
                  e.actorName ?? (e.actorTokenId === null ? 'no valid token' : `token ${e.actorTokenId}`),
              },
              { header: 'Action', cell: (e) => h('code', {}, e.action) },
              { header: 'Target', cell: (e) => e.target ?? '—' },
              {
                header: 'Outcome',
                cell: (e) =>
                  e.outcome === 'success'
                    ? badge('success', 'ok')
                    : h('span', {}, badge('refused', 'bad'), ' ', h('code', {}, e.code ?? '')),
              },
              { header: 'Client', cell: (e) => e.clientAddress },
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

  ctx.root.append(
    h(
      'section',
      { class: 'card', 'aria-labelledby': 'audit-title' },
      h('h2', { id: 'audit-title' }, 'Entries, newest first'),
      h('p', { class: 'muted' }, 'Every change, every refused change, and every refused token.'),
      box,
    ),
  );
  await load();
}
