import { Option, type Command } from 'commander';
import type { User, UserType } from '../../client/types.js';
import { UsageError } from '../cli-errors.js';
import { connect, withConnectionOptions } from '../connect.js';
import { identityFold } from '../../domain/user-identity.js';
import { RefusedError } from '../cli-errors.js';
import { call, type Connection } from '../connect.js';
import { MAX_PAGE_SIZE, pageOf, type PageOptions } from '../option-values.js';
import { formatTime, pageLine, printable } from '../output.js';
import { queueCommands } from './queue-commands.js';
import { stateCell, userTable, who } from './user-output.js';

const USER_TYPES: readonly UserType[] = ['dataConsumer', 'policyOwner'];

/**
 * A user argument: a positive integer is the numeric id; anything else is a userid, looked up as
 * the server compares identities (case, width and Unicode form ignored). A userid registered at
 * more than one identity provider is ambiguous: --iamid picks one, else the ids are listed.
 */
async function resolveUser(conn: Connection, raw: string, iamid: string | undefined): Promise<number> {
  if (/^[1-9][0-9]{0,15}$/.test(raw) && Number.isSafeInteger(Number(raw)) && iamid === undefined)
    return Number(raw);
  if (raw.trim() === '') throw new UsageError('the user must be a numeric id or a userid, not empty');
  const wanted = identityFold(raw.trim());
  const matches: User[] = [];
  for (let offset = 0; ; offset += MAX_PAGE_SIZE) {
    const page = await call(conn, (c) => c.listUsers({ offset, size: MAX_PAGE_SIZE, q: raw.trim() }));
    matches.push(
      ...page.users.filter(
        (u) =>
          identityFold(u.userid) === wanted &&
          (iamid === undefined || identityFold(u.iamid) === identityFold(iamid)),
      ),
    );
    if (offset + page.users.length >= page.total || page.users.length === 0) break;
  }
  const [only, ...more] = matches;
  if (only === undefined)
    throw new RefusedError(
      'USER_NOT_FOUND',
      `no user with userid "${printable(raw)}"${iamid === undefined ? '' : ` at ${printable(iamid)}`}`,
    );
  if (more.length > 0)
    throw new UsageError(
      `userid "${printable(raw)}" is registered at ${matches.length} identity providers: ` +
        `${matches.map(who).join(', ')}; give the numeric id or --iamid`,
    );
  return only.id;
}

const USER_ARGUMENT = 'the user: its numeric id, or its userid (see users list)';
const IAMID_OPTION = [
  '--iamid <idp>',
  'with a userid registered at several identity providers: this one',
] as const;

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
    users
      .command('show')
      .description('one user')
      .argument('<user>', USER_ARGUMENT)
      .option(...IAMID_OPTION),
  ).action(async (raw: string, options: { iamid?: string }, command: Command) => {
    const conn = connect(command);
    const id = await resolveUser(conn, raw, options.iamid);
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
      .argument('<user>', USER_ARGUMENT)
      .option(...IAMID_OPTION),
  ).action(async (raw: string, options: { iamid?: string }, command: Command) => {
    const conn = connect(command);
    const id = await resolveUser(conn, raw, options.iamid);
    const user = await call(conn, (c) => c.updateUser(id, { disabled: true }));
    if (conn.out.json) conn.out.printJson(user);
    else conn.out.print(`Disabled user ${who(user)}; it no longer takes a seat.`);
  });

  withConnectionOptions(
    users
      .command('enable')
      .description('re-enable a disabled user (takes a seat again if recently active)')
      .argument('<user>', USER_ARGUMENT)
      .option(...IAMID_OPTION),
  ).action(async (raw: string, options: { iamid?: string }, command: Command) => {
    const conn = connect(command);
    const id = await resolveUser(conn, raw, options.iamid);
    const user = await call(conn, (c) => c.updateUser(id, { disabled: false }));
    if (conn.out.json) conn.out.printJson(user);
    else
      conn.out.print(
        `Enabled user ${who(user)}; ` +
          (user.active ? 'it takes a seat again.' : 'it takes a seat at its next activity.'),
      );
  });

  withConnectionOptions(
    users
      .command('remove')
      .description('remove a user, freeing its seat')
      .argument('<user>', USER_ARGUMENT)
      .option(...IAMID_OPTION),
  ).action(async (raw: string, options: { iamid?: string }, command: Command) => {
    const conn = connect(command);
    const id = await resolveUser(conn, raw, options.iamid);
    const user = await call(conn, (c) => c.deleteUser(id));
    if (conn.out.json) conn.out.printJson(user);
    else conn.out.print(`Removed user ${who(user)}.`);
  });

  queueCommands(users);
}
