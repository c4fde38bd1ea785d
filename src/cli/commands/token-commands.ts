import type { Command } from 'commander';
import type { Permission } from '../../client/types.js';
import { PERMISSIONS, isPermission } from '../../domain/permissions.js';
import { UsageError } from '../cli-errors.js';
import { call, connect, withConnectionOptions } from '../connect.js';
import { idArgument, repeatable } from '../option-values.js';
import { formatTime, printable } from '../output.js';

/** `--permission` values, repeated or comma-separated, each one of PERMISSIONS, no duplicates. */
function permissionsOf(values: string[]): Permission[] {
  const names = values.flatMap((v) => v.split(',')).map((v) => v.trim().toUpperCase());
  const permissions: Permission[] = [];
  for (const name of names) {
    if (!isPermission(name))
      throw new UsageError(`--permission must be one of ${PERMISSIONS.join(', ')}, not "${name}"`);
    if (!permissions.includes(name)) permissions.push(name);
  }
  if (permissions.length === 0)
    throw new UsageError(`give at least one --permission (${PERMISSIONS.join(', ')})`);
  return permissions;
}

/** `licensor tokens ...`: API tokens for administrators and the host product. */
export function tokenCommands(program: Command): void {
  const tokens = program
    .command('tokens')
    .description('create, list or revoke API tokens (APPLICATION_ADMIN)')
    .usage('<create|list|revoke> [options]');

  withConnectionOptions(
    tokens
      .command('create')
      .description('create a token; its secret is printed once and never again')
      .argument('<name>', 'what the token is for, e.g. "host product"')
      .option(
        '--permission <permission>',
        `${PERMISSIONS.join(' or ')} (repeatable; APPLICATION_ADMIN includes USER_ADMIN)`,
        repeatable,
        [],
      ),
  ).action(async (name: string, options: { permission: string[] }, command: Command) => {
    const permissions = permissionsOf(options.permission);
    const conn = connect(command);
    const token = await call(conn, (c) => c.createToken({ name, permissions }));
    if (conn.out.json) {
      conn.out.printJson(token);
      return;
    }
    conn.out.print(
      `Created token ${token.id} "${printable(token.name)}" with ${token.permissions.join(', ')}. ` +
        'Its secret is shown only now:',
      token.secret,
    );
  });

  withConnectionOptions(
    tokens.command('list').description('the tokens that are not revoked (never their secrets)'),
  ).action(async (_options: unknown, command: Command) => {
    const conn = connect(command);
    const list = await call(conn, (c) => c.listTokens());
    if (conn.out.json) {
      conn.out.printJson(list);
      return;
    }
    if (list.length === 0) {
      conn.out.print('No tokens.');
      return;
    }
    conn.out.table(
      [
        { header: 'ID', align: 'right' },
        { header: 'NAME' },
        { header: 'PERMISSIONS' },
        { header: 'CREATED' },
        { header: 'NOTE' },
      ],
      list.map((t) => [
        String(t.id),
        t.name,
        t.permissions.join(','),
        formatTime(t.createdAt),
        t.bootstrap ? 'bootstrap (LICENSOR_ADMIN_TOKEN or first start)' : '',
      ]),
    );
  });

  withConnectionOptions(
    tokens
      .command('revoke')
      .description('revoke a token: it is refused (401) from then on')
      .argument('<id>', 'the token id (see tokens list)'),
  ).action(async (rawId: string, _options: unknown, command: Command) => {
    const id = idArgument('the token id', rawId);
    const conn = connect(command);
    const token = await call(conn, (c) => c.revokeToken(id));
    if (conn.out.json) conn.out.printJson(token);
    else conn.out.print(`Revoked token ${token.id} "${printable(token.name)}"; it is refused from now on.`);
  });
}
