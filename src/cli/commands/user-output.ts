import type { User } from '../../client/types.js';
import { formatTime, printable, type Cell, type Output } from '../output.js';

/** How the user commands (users, pending queue) print a user. */
export function who(user: User): string {
  return `${user.id} (${printable(user.userid)} at ${printable(user.iamid)})`;
}

export function stateCell(user: User): Cell {
  if (user.state === 'pending') return { text: 'pending', style: 'cyan' };
  if (user.disabled) return { text: 'disabled', style: 'dim' };
  return user.active ? { text: 'active', style: 'green' } : { text: 'inactive', style: 'yellow' };
}

export function userTable(out: Output, users: User[]): void {
  out.table(
    [
      { header: 'ID', align: 'right' },
      { header: 'USERID' },
      { header: 'IAMID' },
      { header: 'TYPE' },
      { header: 'NAME' },
      { header: 'EMAIL' },
      { header: 'STATE' },
      { header: 'LAST ACTIVITY' },
    ],
    users.map((u) => [
      String(u.id),
      u.userid,
      u.iamid,
      u.userType,
      u.name ?? '-',
      u.email ?? '-',
      stateCell(u),
      formatTime(u.lastActivityAt),
    ]),
  );
}
