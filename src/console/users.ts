import type { DisableInactiveResult, User, UserList, UserListQuery } from '../client/index.js';
import { allPages, downloadCsv, fileDay, toCsv } from './csv.js';
import { confirmDialog } from './dialog.js';
import { focusOn, h, table } from './dom.js';
import { formatDateTime, plural, relativeTime } from './format.js';
import { badge, pager, refocusPager, type ViewContext } from './ui.js';

const PAGE_SIZE = 20;

type Status = '' | 'active' | 'inactive' | 'disabled';

/** The list query of a status filter: "inactive" means not active and not disabled. */
function statusQuery(status: Status): Pick<UserListQuery, 'active' | 'disabled'> {
  if (status === 'active') return { active: true };
  if (status === 'inactive') return { active: false, disabled: false };
  if (status === 'disabled') return { disabled: true };
  return {};
}

function statusText(user: User): 'active' | 'inactive' | 'disabled' {
  return user.disabled ? 'disabled' : user.active ? 'active' : 'inactive';
}

function statusBadge(user: User): HTMLElement {
  const text = statusText(user);
  return badge(text, text === 'active' ? 'ok' : 'neutral');
}

/** "ada (Ada Lovelace)", or the userid alone. */
function who(user: User): string {
  return user.name === null || user.name === '' ? user.userid : `${user.userid} (${user.name})`;
}

/**
 * Users: search, a status filter, pages; disable, enable or remove one after a confirmation; the
 * users inactive for N days disabled at once after a preview of the seats that frees; CSV export of
 * the users the filter shows.
 */
export async function renderUsers(ctx: ViewContext): Promise<void> {
  const { client } = ctx;
  let offset = 0;
  const search = h('input', {
    id: 'users-search',
    type: 'search',
    name: 'q',
    maxlength: 256,
    autocomplete: 'off',
  });
  const status = h(
    'select',
    { id: 'users-status', name: 'status' },
    h('option', { value: '' }, 'All users'),
    h('option', { value: 'active' }, 'Active (holding a seat)'),
    h('option', { value: 'inactive' }, 'Inactive'),
    h('option', { value: 'disabled' }, 'Disabled'),
  );
  const exportButton = h(
    'button',
    { type: 'button', class: 'button secondary', id: 'users-export' },
    'Export CSV',
  );
  const box = h('div', { class: 'table-box', id: 'users-table' });

  const query = (): Omit<UserListQuery, 'offset' | 'size'> => {
    const q = search.value.trim();
    return { ...(q !== '' && { q }), ...statusQuery(status.value as Status) };
  };

  const act = async (user: User, action: 'disable' | 'enable' | 'remove'): Promise<void> => {
    const texts = {
      disable: {
        title: `Disable ${user.userid}?`,
        body: [
          h(
            'p',
            {},
            user.active
              ? `${who(user)} holds a seat now; disabling frees it.`
              : `${who(user)} holds no seat now.`,
          ),
          h('p', {}, 'A disabled user cannot log in (its activity is refused) until it is enabled again.'),
        ],
        confirm: 'Disable',
        done: `${user.userid} is disabled.`,
      },
      enable: {
        title: `Enable ${user.userid}?`,
        body: [
          h(
            'p',
            {},
            `${who(user)} can log in again. If its last activity is within the activity window, it takes a seat now, and enabling is refused when none is free.`,
          ),
        ],
        confirm: 'Enable',
        done: `${user.userid} is enabled.`,
      },
      remove: {
        title: `Remove ${user.userid}?`,
        body: [
          h('p', {}, `${who(user)} is removed for good${user.active ? ', freeing its seat' : ''}.`),
          h(
            'p',
            {},
            'This cannot be undone: the host product must register the user again, and it then takes a new seat.',
          ),
        ],
        confirm: 'Remove',
        done: `${user.userid} is removed.`,
      },
    }[action];
    const confirmed = await confirmDialog({
      title: texts.title,
      body: texts.body,
      confirmLabel: texts.confirm,
      danger: action !== 'enable',
    });
    if (!confirmed) return;
    ctx.clearError();
    try {
      if (action === 'remove') await client.deleteUser(user.id);
      else await client.updateUser(user.id, { disabled: action === 'disable' });
    } catch (err) {
      ctx.fail(err);
      return;
    }
    await load();
    ctx.notify(texts.done);
  };

  const load = async (via?: 'previous' | 'next'): Promise<void> => {
    let page: UserList;
    try {
      page = await client.listUsers({ offset, size: PAGE_SIZE, ...query() });
    } catch (err) {
      ctx.fail(err);
      return;
    }
    const now = new Date();
    const q = search.value.trim();
    box.replaceChildren(
      page.users.length === 0
        ? h('p', { class: 'muted' }, q === '' ? 'No users.' : `No user matches “${q}”.`)
        : table(
            'Users in id order',
            [
              { header: 'ID', cell: (u: User) => String(u.id), className: 'num' },
              { header: 'User ID', cell: (u) => h('span', { class: 'wrap' }, u.userid) },
              { header: 'Name', cell: (u) => u.name ?? '—' },
              { header: 'Email', cell: (u) => h('span', { class: 'wrap' }, u.email ?? '—') },
              { header: 'Identity provider', cell: (u) => u.iamid },
              {
                header: 'Last activity',
                cell: (u) =>
                  h(
                    'time',
                    { datetime: u.lastActivityAt, title: formatDateTime(u.lastActivityAt) },
                    relativeTime(u.lastActivityAt, now),
                  ),
              },
              { header: 'Status', cell: statusBadge },
              {
                header: 'Actions',
                cell: (u) =>
                  h(
                    'span',
                    { class: 'row-actions' },
                    h(
                      'button',
                      {
                        type: 'button',
                        class: 'button secondary small',
                        'aria-label': `${u.disabled ? 'Enable' : 'Disable'} ${u.userid}`,
                        onclick: () => void act(u, u.disabled ? 'enable' : 'disable'),
                      },
                      u.disabled ? 'Enable' : 'Disable',
                    ),
                    h(
                      'button',
                      {
                        type: 'button',
                        class: 'button danger small',
                        'aria-label': `Remove ${u.userid}`,
                        onclick: () => void act(u, 'remove'),
                      },
                      'Remove',
                    ),
                  ),
              },
            ],
            page.users,
            { captionHidden: true, rowAttrs: (u) => ({ 'data-userid': u.userid }) },
          ),
      pager({ ...page, shown: page.users.length }, 'users', (next, how) => {
        offset = next;
        void load(how);
      }),
    );
    if (via !== undefined) refocusPager(box, via);
  };

  let debounce: ReturnType<typeof setTimeout> | undefined;
  const restart = (): void => {
    offset = 0;
    void load();
  };
  search.addEventListener('input', () => {
    clearTimeout(debounce);
    debounce = setTimeout(restart, 250);
  });
  status.addEventListener('change', restart);
  const filters = h(
    'form',
    { class: 'filters', role: 'search', 'aria-label': 'Find users' },
    h(
      'div',
      { class: 'field' },
      h('label', { for: 'users-search' }, 'Search by user ID, name or email'),
      search,
    ),
    h('div', { class: 'field' }, h('label', { for: 'users-status' }, 'Show'), status),
  );
  filters.addEventListener('submit', (event) => {
    event.preventDefault();
    clearTimeout(debounce);
    restart();
  });

  exportButton.addEventListener('click', () => {
    exportButton.disabled = true;
    allPages(async (from, size) => {
      const page = await client.listUsers({ offset: from, size, ...query() });
      return { items: page.users, total: page.total };
    })
      .then(({ items }) => {
        downloadCsv(
          `licensor-users-${fileDay()}.csv`,
          toCsv(
            ['id', 'userid', 'iamid', 'name', 'email', 'userType', 'status', 'lastActivityAt', 'createdAt'],
            items.map((u) => [
              u.id,
              u.userid,
              u.iamid,
              u.name,
              u.email,
              u.userType,
              statusText(u),
              u.lastActivityAt,
              u.createdAt,
            ]),
          ),
        );
        ctx.notify(`Exported ${plural(items.length, 'user')} as CSV.`);
      })
      .catch((err: unknown) => ctx.fail(err))
      .finally(() => {
        exportButton.disabled = false;
      });
  });

  ctx.root.append(
    h(
      'section',
      { class: 'card', 'aria-labelledby': 'users-title' },
      h('h2', { id: 'users-title' }, 'Users'),
      h(
        'p',
        { class: 'muted' },
        'An active user holds a seat. Disabling or removing one frees its seat; a disabled user cannot log in until it is enabled.',
      ),
      filters,
      h('div', { class: 'actions' }, exportButton),
      box,
    ),
    bulkDisableCard(ctx, () => load()),
  );
  await load();
}

/** The users inactive for N days: a preview (a dry run) first, then the change after a confirmation. */
function bulkDisableCard(ctx: ViewContext, reload: () => Promise<void>): HTMLElement {
  const days = h('input', {
    id: 'inactive-days',
    type: 'number',
    name: 'inactiveDays',
    min: 1,
    max: 3650,
    step: 1,
    value: 90,
    required: true,
    inputmode: 'numeric',
  });
  const message = h('p', { class: 'form-error', role: 'alert', id: 'inactive-days-error' });
  const preview = h('div', { id: 'bulk-preview', 'aria-live': 'polite' });
  const previewButton = h('button', { type: 'submit', class: 'button secondary' }, 'Preview');
  const form = h(
    'form',
    { class: 'filters', 'aria-labelledby': 'bulk-title', novalidate: true },
    h(
      'div',
      { class: 'field' },
      h('label', { for: 'inactive-days' }, 'Inactive for more than (days)'),
      days,
      message,
    ),
    h('div', { class: 'field field-button' }, previewButton),
  );

  const readDays = (): number | null => {
    const n = Number(days.value);
    if (days.value.trim() === '' || !Number.isInteger(n) || n < 1 || n > 3650) {
      message.textContent = 'Enter a whole number of days from 1 to 3650.';
      days.focus();
      return null;
    }
    message.textContent = '';
    return n;
  };

  const showPreview = (result: DisableInactiveResult): void => {
    const now = new Date();
    const disableButton = h(
      'button',
      { type: 'button', class: 'button danger', disabled: result.count === 0 },
      `Disable ${plural(result.count, 'user')}`,
    );
    disableButton.addEventListener('click', () => void run(result));
    const panel = h(
      'div',
      { class: 'preview', tabindex: -1 },
      h('h3', {}, 'Preview'),
      h(
        'p',
        { class: 'summary', id: 'bulk-summary' },
        result.count === 0
          ? `No user has been inactive for more than ${plural(result.inactiveDays, 'day')}.`
          : `${plural(result.count, 'user')} inactive for more than ${plural(result.inactiveDays, 'day')} would be disabled, freeing ${plural(result.seatsFreed, 'seat')}.`,
      ),
      result.count > result.seatsFreed
        ? h(
            'p',
            { class: 'muted' },
            `${plural(result.count - result.seatsFreed, 'of them holds', 'of them hold')} no seat already (inactive for longer than the activity window); disabling keeps their next login from taking one.`,
          )
        : null,
      result.users.length === 0
        ? null
        : table(
            result.count > result.users.length
              ? `The first ${result.users.length} of ${result.count} users`
              : 'The users',
            [
              { header: 'User ID', cell: (u: User) => h('span', { class: 'wrap' }, u.userid) },
              { header: 'Name', cell: (u) => u.name ?? '—' },
              {
                header: 'Last activity',
                cell: (u) =>
                  h(
                    'time',
                    { datetime: u.lastActivityAt, title: formatDateTime(u.lastActivityAt) },
                    relativeTime(u.lastActivityAt, now),
                  ),
              },
              { header: 'Seat', cell: (u) => (u.active ? 'holds one' : 'none') },
            ],
            result.users,
          ),
      h('div', { class: 'actions' }, disableButton),
    );
    preview.replaceChildren(panel);
    focusOn(panel);
  };

  const run = async (previewed: DisableInactiveResult): Promise<void> => {
    const confirmed = await confirmDialog({
      title: `Disable ${plural(previewed.count, 'user')}?`,
      body: [
        h(
          'p',
          {},
          `Every user inactive for more than ${plural(previewed.inactiveDays, 'day')} is disabled now, freeing ${plural(previewed.seatsFreed, 'seat')} (users who log in meanwhile are left alone).`,
        ),
        h('p', {}, 'Each can be enabled again from this screen.'),
      ],
      confirmLabel: 'Disable',
      danger: true,
    });
    if (!confirmed) return;
    ctx.clearError();
    let done: DisableInactiveResult;
    try {
      done = await ctx.client.disableInactiveUsers({ inactiveDays: previewed.inactiveDays });
    } catch (err) {
      ctx.fail(err);
      return;
    }
    preview.replaceChildren();
    await reload();
    ctx.notify(`Disabled ${plural(done.count, 'user')}, freeing ${plural(done.seatsFreed, 'seat')}.`);
  };

  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const n = readDays();
    if (n === null) return;
    previewButton.disabled = true;
    ctx.clearError();
    ctx.client
      .disableInactiveUsers({ inactiveDays: n, dryRun: true })
      .then(showPreview)
      .catch((err: unknown) => ctx.fail(err))
      .finally(() => {
        previewButton.disabled = false;
      });
  });

  return h(
    'section',
    { class: 'card', 'aria-labelledby': 'bulk-title' },
    h('h2', { id: 'bulk-title' }, 'Disable inactive users'),
    h(
      'p',
      { class: 'muted' },
      'Preview first: nothing changes until you confirm. Users active within the activity window hold a seat, so disabling them frees it.',
    ),
    form,
    preview,
  );
}
