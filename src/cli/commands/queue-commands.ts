import type { Command } from 'commander';
import { call, connect, withConnectionOptions } from '../connect.js';
import { idArgument, pageOf, type PageOptions } from '../option-values.js';
import { pageLine } from '../output.js';
import { userTable, who } from './user-output.js';

/**
 * `licensor users pending|approve|reject`: the approval queue of a site whose seat settings queue
 * new users over the limit (docs/seats.md#user-cap-and-approval-queue).
 */
export function queueCommands(users: Command): void {
  withConnectionOptions(
    users
      .command('pending')
      .description('the users waiting for approval, in arrival order')
      .option('--offset <n>', 'index of the first user (default 0)')
      .option('--size <n>', 'users per page, 1 to 1000 (default 10)'),
  ).action(async (options: PageOptions, command: Command) => {
    const page = pageOf(options);
    const conn = connect(command);
    const list = await call(conn, (c) => c.listUsers({ ...page, state: 'pending' }));
    if (conn.out.json) {
      conn.out.printJson(list);
      return;
    }
    if (list.total === 0) {
      conn.out.print('No user is waiting for approval.');
      return;
    }
    if (list.users.length > 0) userTable(conn.out, list.users);
    conn.out.print(pageLine(list.offset, list.users.length, list.total, 'pending users'));
  });

  withConnectionOptions(
    users
      .command('approve')
      .description('approve a pending user: it takes a seat (refused when none is free)')
      .argument('<id>', 'the user id (see users pending)'),
  ).action(async (rawId: string, _options: unknown, command: Command) => {
    const id = idArgument('the user id', rawId);
    const conn = connect(command);
    const user = await call(conn, (c) => c.approveUser(id));
    if (conn.out.json) conn.out.printJson(user);
    else conn.out.print(`Approved user ${who(user)}; it takes a seat.`);
  });

  withConnectionOptions(
    users
      .command('reject')
      .description('reject a pending user: it is removed')
      .argument('<id>', 'the user id (see users pending)'),
  ).action(async (rawId: string, _options: unknown, command: Command) => {
    const id = idArgument('the user id', rawId);
    const conn = connect(command);
    const user = await call(conn, (c) => c.rejectUser(id));
    if (conn.out.json) conn.out.printJson(user);
    else conn.out.print(`Rejected user ${who(user)}; it is removed.`);
  });
}
