import type { LicenseStatus, User } from '../client/index.js';
import { confirmDialog } from './dialog.js';
import { h, table } from './dom.js';
import { formatDateTime, plural, relativeTime } from './format.js';
import { pager, refocusPager, type ViewContext } from './ui.js';

/**
 * The approval queue (docs/seats.md#user-cap-and-approval-queue): users created over the seat
 * limit in queue mode wait here, in arrival order, for an administrator to approve (a seat is
 * taken, refused when none is free) or reject (the user is removed). Kept apart from the users
 * screen so each can change alone.
 */

const PAGE_SIZE = 20;

/** The seat limit in one sentence, for the queue's header. */
export function seatLimitInWords(status: LicenseStatus): string {
  const limit =
    status.userCap !== null && status.userCap < status.licenseSeats
      ? `the user cap of ${status.userCap} (the licenses allow ${status.licenseSeats})`
      : `the ${plural(status.licenseSeats, 'license seat')}`;
  const free = Math.max(0, status.seatLimit - status.activeUserCount);
  return `${status.activeUserCount} active of ${limit}: ${free === 0 ? 'no seat is free' : `${plural(free, 'seat')} free`}.`;
}

/** The overview's notice when anyone is waiting; null when the queue is empty. */
export function pendingNotice(waiting: number): string | null {
  if (waiting === 0) return null;
  return `${plural(waiting, 'user')} ${waiting === 1 ? 'is' : 'are'} waiting for approval.`;
}

export async function renderPending(ctx: ViewContext): Promise<void> {
  let offset = 0;
  const box = h('div', { class: 'table-box', id: 'pending' });
  const limitLine = h('p', { id: 'seat-limit' });

  const load = async (via?: 'previous' | 'next'): Promise<void> => {
    const [page, status] = await Promise.all([
      ctx.client.listUsers({ state: 'pending', offset, size: PAGE_SIZE }),
      ctx.client.licenseStatus(),
    ]);
    limitLine.textContent = seatLimitInWords(status);
    const now = new Date();
    const act = async (user: User, verb: 'approve' | 'reject'): Promise<void> => {
      if (verb === 'reject') {
        const ok = await confirmDialog({
          title: `Reject ${user.userid}?`,
          body: [h('p', {}, `${user.userid} at ${user.iamid} is removed; it held no seat.`)],
          confirmLabel: 'Reject',
          danger: true,
        });
        if (!ok) return;
      }
      try {
        if (verb === 'approve') await ctx.client.approveUser(user.id);
        else await ctx.client.rejectUser(user.id);
        ctx.clearError();
        ctx.notify(`${verb === 'approve' ? 'Approved' : 'Rejected'} ${user.userid} at ${user.iamid}.`);
        await load();
      } catch (err) {
        ctx.fail(err);
      }
    };
    box.replaceChildren(
      page.users.length === 0
        ? h('p', { class: 'muted' }, 'Nobody is waiting for approval.')
        : table(
            'Users waiting for approval, in arrival order',
            [
              {
                header: 'User',
                cell: (u: User) => h('span', {}, h('strong', {}, u.userid), ` at ${u.iamid}`),
              },
              { header: 'Name', cell: (u) => u.name ?? '—' },
              { header: 'Type', cell: (u) => u.userType },
              {
                header: 'Waiting since',
                cell: (u) =>
                  h(
                    'time',
                    { datetime: u.createdAt, title: u.createdAt },
                    formatDateTime(u.createdAt),
                    h('span', { class: 'relative' }, relativeTime(u.createdAt, now)),
                  ),
              },
              {
                header: 'Decision',
                cell: (u) =>
                  h(
                    'span',
                    { class: 'actions' },
                    h(
                      'button',
                      {
                        type: 'button',
                        class: 'button small',
                        'aria-label': `Approve ${u.userid}`,
                        onclick: () => void act(u, 'approve'),
                      },
                      'Approve',
                    ),
                    ' ',
                    h(
                      'button',
                      {
                        type: 'button',
                        class: 'button secondary small',
                        'aria-label': `Reject ${u.userid}`,
                        onclick: () => void act(u, 'reject'),
                      },
                      'Reject',
                    ),
                  ),
              },
            ],
            page.users,
            { captionHidden: true },
          ),
      pager({ ...page, shown: page.users.length }, 'pending users', (next, how) => {
        offset = next;
        load(how).catch((err: unknown) => ctx.fail(err));
      }),
    );
    if (via !== undefined) refocusPager(box, via);
  };

  ctx.root.append(
    h(
      'section',
      { class: 'card', 'aria-labelledby': 'pending-title' },
      h('h2', { id: 'pending-title' }, 'Waiting for approval'),
      h(
        'p',
        { class: 'muted' },
        'New users created while the site is full, in queue mode. Approving takes a seat; rejecting removes the user.',
      ),
      limitLine,
      box,
    ),
  );
  await load();
}
