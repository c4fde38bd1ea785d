import type { User, UserList } from '../client/index.js';
import { chartLegend, historyChart } from './charts.js';
import { h, table } from './dom.js';
import { formatDateTime, plural, relativeTime } from './format.js';
import { badge, card, pager, refocusPager, type ViewContext } from './ui.js';

const PAGE_SIZE = 10;

function statusCell(user: User): HTMLElement {
  if (user.disabled) return badge('disabled', 'neutral');
  return user.active ? badge('active', 'ok') : badge('inactive', 'neutral');
}

/**
 * "Export signed report": the last 90 days as the usage report signed by the instance
 * (docs/usage-report.md), saved as a file the vendor verifies offline.
 */
function exportReport(ctx: ViewContext): HTMLElement {
  const message = h('span', { class: 'muted', role: 'status', id: 'report-status' });
  const button = h(
    'button',
    {
      type: 'button',
      class: 'button secondary',
      id: 'export-report',
      onclick: () => {
        button.disabled = true;
        message.textContent = 'Signing...';
        ctx.client
          .usageReport()
          .then((jws) => {
            const url = URL.createObjectURL(new Blob([`${jws}\n`], { type: 'application/jose' }));
            const link = h('a', { href: url, download: 'usage-report.jws' });
            document.body.append(link);
            link.click();
            link.remove();
            setTimeout(() => URL.revokeObjectURL(url), 1000);
            message.textContent = 'Saved usage-report.jws: verify it with licensor report verify.';
          })
          .catch((err: unknown) => {
            message.textContent = `Could not export the report: ${err instanceof Error ? err.message : String(err)}`;
          })
          .finally(() => {
            button.disabled = false;
          });
      },
    },
    'Export signed report',
  );
  return h('p', { class: 'export-report' }, button, ' ', message);
}

export async function renderUsage(ctx: ViewContext): Promise<void> {
  const { client } = ctx;
  const [usage, history] = await Promise.all([client.usage({ size: 1 }), client.usageHistory()]);
  const { dataConsumers, policyOwners } = usage.summary;

  const chartBox = h('div', { class: 'chart-box' });
  const numbers = h(
    'details',
    {},
    h('summary', {}, 'Show the numbers'),
    history.days.length === 0
      ? h('p', { class: 'muted' }, 'No days recorded yet.')
      : // In a table box, so on a phone it becomes one card per day, as every table does.
        h(
          'div',
          { class: 'table-box', id: 'usage-numbers' },
          table(
            'Daily peak active users against seats',
            [
              { header: 'Day', cell: (d) => d.day },
              { header: 'Peak active users', cell: (d) => String(d.peakActiveUsers), className: 'num' },
              { header: 'Seats', cell: (d) => String(d.licenseSeats), className: 'num' },
              { header: 'Hard seats', cell: (d) => String(d.hardSeats), className: 'num' },
              // A day recorded before the history kept peaks by type has none (docs/usage-report.md).
              {
                header: 'Peak data consumers',
                cell: (d) => (d.peakByType === null ? '—' : String(d.peakByType.dataConsumer)),
                className: 'num',
              },
              {
                header: 'Peak policy owners',
                cell: (d) => (d.peakByType === null ? '—' : String(d.peakByType.policyOwner)),
                className: 'num',
              },
            ],
            [...history.days].reverse(),
          ),
        ),
  );

  // Users: search, filter and pages.
  let offset = 0;
  const search = h('input', {
    id: 'user-search',
    type: 'search',
    name: 'q',
    maxlength: 256,
    autocomplete: 'off',
  });
  const filter = h(
    'select',
    { id: 'user-filter', name: 'active' },
    h('option', { value: '' }, 'All users'),
    h('option', { value: 'true' }, 'Active only'),
    h('option', { value: 'false' }, 'Inactive only'),
  );
  const usersBox = h('div', { class: 'table-box', id: 'users' });

  const loadUsers = async (via?: 'previous' | 'next'): Promise<void> => {
    const q = search.value.trim();
    let page: UserList;
    try {
      page = await client.listUsers({
        offset,
        size: PAGE_SIZE,
        q: q === '' ? undefined : q,
        active: filter.value === '' ? undefined : filter.value === 'true',
      });
    } catch (err) {
      ctx.fail(err);
      return;
    }
    const now = new Date();
    usersBox.replaceChildren(
      page.users.length === 0
        ? h('p', { class: 'muted' }, q === '' ? 'No users.' : `No user matches “${q}”.`)
        : table(
            'Users in id order',
            [
              { header: 'ID', cell: (u) => String(u.id), className: 'num' },
              { header: 'User ID', cell: (u) => u.userid },
              { header: 'Identity provider', cell: (u) => u.iamid },
              { header: 'Name', cell: (u) => u.name ?? '—' },
              { header: 'Email', cell: (u) => u.email ?? '—' },
              {
                header: 'Type',
                cell: (u) => (u.userType === 'policyOwner' ? 'policy owner' : 'data consumer'),
              },
              {
                header: 'Last activity',
                cell: (u) =>
                  h(
                    'time',
                    { datetime: u.lastActivityAt, title: formatDateTime(u.lastActivityAt) },
                    relativeTime(u.lastActivityAt, now),
                  ),
              },
              { header: 'Status', cell: statusCell },
            ],
            page.users,
            { captionHidden: true },
          ),
      pager({ ...page, shown: page.users.length }, 'users', (next, how) => {
        offset = next;
        void loadUsers(how);
      }),
    );
    if (via !== undefined) refocusPager(usersBox, via);
  };

  let debounce: ReturnType<typeof setTimeout> | undefined;
  const restart = (): void => {
    offset = 0;
    void loadUsers();
  };
  search.addEventListener('input', () => {
    clearTimeout(debounce);
    debounce = setTimeout(restart, 250);
  });
  filter.addEventListener('change', restart);
  const form = h(
    'form',
    { class: 'filters', role: 'search', 'aria-label': 'Find users' },
    h('div', { class: 'field' }, h('label', { for: 'user-search' }, 'Search users'), search),
    h('div', { class: 'field' }, h('label', { for: 'user-filter' }, 'Show'), filter),
  );
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    clearTimeout(debounce);
    restart();
  });

  ctx.root.append(
    h(
      'div',
      { class: 'grid' },
      card(
        'Summary',
        h(
          'dl',
          { class: 'facts' },
          h('dt', {}, 'Active users now'),
          h('dd', { id: 'active-now' }, String(usage.activeUserCount)),
          h('dt', {}, 'Peak this term'),
          h(
            'dd',
            {},
            usage.peak.termStart === null
              ? `${usage.peak.activeUsers} (no active license term)`
              : `${usage.peak.activeUsers} since ${usage.peak.termStart}`,
          ),
          h('dt', {}, 'Data consumers'),
          h('dd', {}, `${dataConsumers.activeCount} active of ${dataConsumers.totalCount}`),
          h('dt', {}, 'Policy owners'),
          h('dd', {}, `${policyOwners.activeCount} active of ${policyOwners.totalCount}`),
          h('dt', {}, 'All users'),
          h('dd', {}, plural(usage.total, 'user')),
        ),
      ),
      card(
        'Daily active users against seats',
        h(
          'p',
          { class: 'muted' },
          "Each bar is a day's peak of active users (UTC days); the lines are the seats that day.",
        ),
        chartBox,
        chartLegend(),
        numbers,
        exportReport(ctx),
      ),
    ),
    h(
      'section',
      { class: 'card', 'aria-labelledby': 'users-title' },
      h('h2', { id: 'users-title' }, 'Users'),
      h(
        'p',
        { class: 'muted' },
        'To free a seat (disable, enable or remove a user), or to export users, open ',
        h('a', { href: '#/users' }, 'Users'),
        '.',
      ),
      form,
      usersBox,
    ),
  );
  // Drawn once the box has a width, so the chart's text keeps its size on a phone.
  chartBox.append(historyChart(history, Math.max(280, Math.min(900, chartBox.clientWidth))));
  await loadUsers();
}
