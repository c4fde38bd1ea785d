import type { Command } from 'commander';
import { Option } from 'commander';
import type { SeatSettings } from '../../client/types.js';
import { UsageError } from '../cli-errors.js';
import { call, connect, withConnectionOptions } from '../connect.js';

interface SeatOptions {
  /** A string from --cap N; false from --no-cap (commander's negation of the same option). */
  cap?: string | false;
  whenFull?: SeatSettings['whenFull'];
}

function capOption(raw: string): number {
  if (!/^\d{1,10}$/.test(raw) || Number(raw) > 1_000_000_000)
    throw new UsageError(`--cap must be a whole number from 0 to 1000000000, not "${raw}"`);
  return Number(raw);
}

/**
 * `licensor settings seats [--cap N|--no-cap] [--when-full refuse|queue]`: shows the seat settings,
 * or changes the ones given (docs/seats.md#user-cap-and-approval-queue).
 */
export function settingsCommands(program: Command): void {
  const settings = program
    .command('settings')
    .description('site settings (APPLICATION_ADMIN)')
    .usage('seats [options]');

  // --cap and --no-cap set one value, the last given winning; both at once is a contradiction.
  const capFlags = new Set<string>();
  const seats = settings.command('seats');
  seats.on('option:cap', () => capFlags.add('--cap'));
  seats.on('option:no-cap', () => capFlags.add('--no-cap'));
  withConnectionOptions(
    seats
      .description('show the user cap and what a full site does; change them with the options')
      .option('--cap <n>', 'at most this many active users, below the licenses')
      .option('--no-cap', 'remove the cap: the licenses alone set the limit')
      .addOption(
        new Option(
          '--when-full <mode>',
          'a new user over the limit: refuse it, or queue it for approval',
        ).choices(['refuse', 'queue']),
      ),
  ).action(async (options: SeatOptions, command: Command) => {
    if (capFlags.size > 1) throw new UsageError('give --cap or --no-cap, not both');
    const noCap = options.cap === false;
    const cap = typeof options.cap === 'string' ? capOption(options.cap) : undefined;
    const conn = connect(command);
    let current = await call(conn, (c) => c.seatSettings());
    const changing = cap !== undefined || noCap || options.whenFull !== undefined;
    if (changing) {
      const next: SeatSettings = {
        userCap: noCap ? null : (cap ?? current.userCap),
        whenFull: options.whenFull ?? current.whenFull,
      };
      current = await call(conn, (c) => c.setSeatSettings(next));
    }
    if (conn.out.json) {
      conn.out.printJson(current);
      return;
    }
    conn.out.fields([
      ['User cap', current.userCap === null ? 'none (the licenses set the limit)' : String(current.userCap)],
      [
        'When full',
        current.whenFull === 'queue'
          ? 'queue new users for approval (licensor users pending)'
          : 'refuse new users (SEAT_LIMIT_REACHED)',
      ],
    ]);
  });
}
