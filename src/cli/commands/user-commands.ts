import { Option, type Command } from 'commander';
import type { UserType } from '../../client/types.js';
import { UsageError } from '../cli-errors.js';
import { call, connect, withConnectionOptions } from '../connect.js';
import { idArgument, pageOf, type PageOptions } from '../option-values.js';
import { queueCommands } from './queue-commands.js';
import { formatTime, pageLine } from '../output.js';
import { stateCell, userTable, who } from './user-output.js';

const USER_TYPES: readonly UserType[] = ['dataConsumer', 'policyOwner'];

interface ListOptions extends PageOptions {
  active?: boolean;
  inactive?: boolean;
  search?: string;
}

interface AddOptions {
  iamid: string;
  name?: string;
  email?: string;
  type?: UserType;
}

/** `licensor users ...`: the users the host product registered, and their seats. */
export function userCommands(program: Command): void {
  const users = program
    .command('users')
    .description('list, add, disable, enable or remove users (USER_ADMIN)')
    .usage('<list|show|add|disable|enable|remove|pending|approve|reject> [options]');

  withConnectionOptions(
    users
      .command('list')
      .description('a page of users, in id order')
      .option('--active', 'only active users')
      .option('--inactive', 'only inactive users (disabled, or no activity within the window)')
      .option('--search <text>', 'only users whose userid, name or email contains this')
      .option('--offset <n>', 'index of the first user (default 0)')
      .option('--size <n>', 'users per page, 1 to 1000 (default 10)'),
  ).action(async (options: ListOptions, command: Command) => {
    if (options.active === true && options.inactive === true)
      throw new UsageError('give --active or --inactive, not both');
    const page = pageOf(options);
    const active = options.active === true ? true : options.inactive === true ? false : undefined;
    const conn = connect(command);
    const list = await call(conn, (c) => c.listUsers({ ...page, active, q: options.search }));
    if (conn.out.json) {
      conn.out.printJson(list);
      return;
    }
    const filtered = active !== undefined || options.search !== undefined;
    if (list.total === 0) {
      conn.out.print(filtered ? 'No users match.' : 'No users.');
      return;
    }
    if (list.users.length > 0) userTable(conn.out, list.users);
    conn.out.print(
      pageLine(list.offset, list.users.length, list.total, filtered ? 'matching users' : 'users'),
    );
  });

  withConnectionOptions(
    users.command('show').description('one user').argument('<id>', 'the user id (see users list)'),
  ).action(async (rawId: string, _options: unknown, command: Command) => {
    const id = idArgument('the user id', rawId);
    const conn = connect(command);
    const user = await call(conn, (c) => c.getUser(id));
    if (conn.out.json) {
      conn.out.printJson(user);
      return;
    }
    conn.out.fields([
      ['ID', String(user.id)],
      ['User id', user.userid],
      ['IAM id', user.iamid],
      ['Name', user.name ?? '-'],
      ['Email', user.email ?? '-'],
      ['Type', user.userType],
      ['State', stateCell(user)],
      ['Created', formatTime(user.createdAt)],
      ['Last activity', formatTime(user.lastActivityAt)],
    ]);
  });

  withConnectionOptions(
    users
      .command('add')
      .description('register a user; it is active from now on and takes a seat')
      .argument('<userid>', 'the username in its identity provider')
      .requiredOption('--iamid <idp>', 'the identity provider the user belongs to')
      .option('--name <name>', 'display name')
      .option('--email <email>', 'email address')
      .addOption(new Option('--type <type>', 'user type (default dataConsumer)').choices(USER_TYPES)),
  ).action(async (userid: string, options: AddOptions, command: Command) => {
    const conn = connect(command);
    const user = await call(conn, (c) =>
      c.createUser({
        userid,
        iamid: options.iamid,
        ...(options.name !== undefined && { name: options.name }),
        ...(options.email !== undefined && { email: options.email }),
        ...(options.type !== undefined && { userType: options.type }),
      }),
    );
    if (conn.out.json) conn.out.printJson(user);
    else if (user.state === 'pending')
      conn.out.print(
        `Queued user ${who(user)}: no seat is free under the limit; it waits for approval (licensor users approve ${user.id}).`,
      );
    else conn.out.print(`Added user ${who(user)} as ${user.userType}; it takes a seat.`);
  });

  withConnectionOptions(
    users
      .command('disable')
      .description('disable a user: it stops counting against the seats')
      .argument('<id>', 'the user id'),
  ).action(async (rawId: string, _options: unknown, command: Command) => {
    const id = idArgument('the user id', rawId);
    const conn = connect(command);
    const user = await call(conn, (c) => c.updateUser(id, { disabled: true }));
    if (conn.out.json) conn.out.printJson(user);
    else conn.out.print(`Disabled user ${who(user)}; it no longer takes a seat.`);
  });

  withConnectionOptions(
    users
      .command('enable')
      .description('re-enable a disabled user (takes a seat again if recently active)')
      .argument('<id>', 'the user id'),
  ).action(async (rawId: string, _options: unknown, command: Command) => {
    const id = idArgument('the user id', rawId);
    const conn = connect(command);
    const user = await call(conn, (c) => c.updateUser(id, { disabled: false }));
    if (conn.out.json) conn.out.printJson(user);
    else
      conn.out.print(
        `Enabled user ${who(user)}; ` +
          (user.active ? 'it takes a seat again.' : 'it takes a seat at its next activity.'),
      );
  });

  withConnectionOptions(
    users.command('remove').description('remove a user, freeing its seat').argument('<id>', 'the user id'),
  ).action(async (rawId: string, _options: unknown, command: Command) => {
    const id = idArgument('the user id', rawId);
    const conn = connect(command);
    const user = await call(conn, (c) => c.deleteUser(id));
    if (conn.out.json) conn.out.printJson(user);
    else conn.out.print(`Removed user ${who(user)}.`);
  });

  queueCommands(users);
}
