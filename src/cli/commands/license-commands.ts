import { createInterface } from 'node:readline/promises';
import type { Command } from 'commander';
import type {
  License,
  LicenseImpact,
  LicenseListItem,
  LicenseState,
  LicenseStatus,
  UpcomingLicenseChanges,
  Usage,
} from '../../client/types.js';
import { HARD_DELETE, HARD_EXPIRATION } from './inspect.js';
import { RefusedError, UsageError } from '../cli-errors.js';
import { call, connect, withConnectionOptions } from '../connect.js';
import { dayOption, idArgument, pageOf, type PageOptions } from '../option-values.js';
import {
  formatTime,
  pageLine,
  plural,
  printable,
  relativeDays,
  type Cell,
  type Output,
  type Style,
} from '../output.js';
import { readKeyInput } from '../read-input.js';
import {
  CHECK_EXIT,
  checkStatus,
  DEFAULT_WARN_DAYS,
  uncheckable,
  warnDaysOption,
  type CheckResult,
} from './status-check.js';

/** How far ahead `status` looks for licenses that start or expire. */
const AHEAD_DAYS = 365;

const STATE_STYLE: Record<LicenseState, Style | undefined> = {
  active: 'green',
  grace: 'yellow',
  scheduled: 'cyan',
  expired: 'red',
  invalidated: 'dim',
  deleted: 'dim',
};

function stateCell(state: LicenseState): Cell {
  return { text: state, style: STATE_STYLE[state] };
}

function enabledNames(features: Record<string, { enabled: boolean }>): string[] {
  return Object.entries(features)
    .filter(([, f]) => f.enabled)
    .map(([name]) => name);
}

/** Who a license is for: the licensee's company or name, else its uuid. */
function licenseName(license: Pick<LicenseListItem, 'licensee' | 'uuid'>): string {
  return license.licensee?.company ?? license.licensee?.name ?? license.uuid;
}

function seatsPhrase(license: Pick<LicenseListItem, 'seats' | 'softSeats'>): string {
  return `${plural(license.seats, 'seat')} + ${license.softSeats} soft`;
}

function expiryPhrase(license: Pick<LicenseListItem, 'expires'>): string {
  return license.expires === null ? 'never expires' : `expires ${formatTime(license.expires)}`;
}

function describeAdded(out: Output, license: License): void {
  out.print(
    `Added license ${license.id} (uuid ${printable(license.uuid)}): ${seatsPhrase(license)}, ${expiryPhrase(license)}.`,
  );
  const licensee = [license.licensee?.name, license.licensee?.company].filter((v) => v !== undefined);
  if (licensee.length > 0) out.print(`Licensed to ${printable(licensee.join(', '))}.`);
  const features = enabledNames(license.features);
  if (features.length > 0) out.print(`Features: ${printable(features.join(', '))}.`);
  if (license.state === 'scheduled' && license.startsAt !== null)
    out.print(`It is not in force before ${formatTime(license.startsAt)}.`);
  if (license.supersedes.length > 0)
    out.print(`It invalidates: ${printable(license.supersedes.join(', '))}.`);
}

/** A dry run in sentences: seats before -> after, what is gained or lost, who is over the limit. */
function describeImpact(out: Output, impact: LicenseImpact, change: 'add' | 'delete'): void {
  const { before, after } = impact;
  const seats = (s: LicenseImpact['before']) =>
    `${s.licenseSeats} (${s.hardSeats} + ${s.licenseSeats - s.hardSeats} soft)`;
  const subject = impact.license;
  if (change === 'add')
    out.print(
      subject === null
        ? 'Dry run: the key cannot be read.'
        : `Dry run: adding license uuid ${printable(subject.uuid)} (${seatsPhrase(subject)}, ${expiryPhrase(subject)}).`,
    );
  else if (subject !== null)
    out.print(
      `Dry run: deleting license ${subject.id ?? '?'} (uuid ${printable(subject.uuid)}).` +
        (subject.hardDelete ? ' Its key could never be added again (hardDelete).' : ''),
    );
  const pairs: [string, Cell][] = [
    ['Seats', `${seats(before)} -> ${seats(after)}`],
    ['Active users', String(impact.activeUserCount)],
  ];
  const list = (names: string[]) => printable(names.join(', '));
  if (impact.featuresGained.length > 0) pairs.push(['Features gained', list(impact.featuresGained)]);
  if (impact.featuresLost.length > 0)
    pairs.push(['Features lost', { text: list(impact.featuresLost), style: 'yellow' }]);
  if (impact.handlersGained.length > 0) pairs.push(['Handlers gained', list(impact.handlersGained)]);
  if (impact.handlersLost.length > 0)
    pairs.push(['Handlers lost', { text: list(impact.handlersLost), style: 'yellow' }]);
  if (impact.invalidates.length > 0)
    pairs.push([
      'Invalidates',
      { text: list(impact.invalidates.map((l) => `${l.id} (${l.uuid})`)), style: 'yellow' },
    ]);
  if (impact.usersOverLimitAfter > 0)
    pairs.push([
      'Over the limit',
      { text: `${plural(impact.usersOverLimitAfter, 'active user')} beyond the seats`, style: 'red' },
    ]);
  if (after.dataAccessBlocked && !before.dataAccessBlocked)
    pairs.push(['Data access', { text: 'would be BLOCKED', style: 'red' }]);
  if (subject?.hardExpiration === true)
    pairs.push([
      'Hard expiration',
      {
        text: `once it expires${subject.expires === null ? '' : ` (${formatTime(subject.expires)})`}, ${HARD_EXPIRATION}`,
        style: 'yellow',
      },
    ]);
  if (subject?.hardDelete === true) pairs.push(['Hard delete', { text: HARD_DELETE, style: 'yellow' }]);
  if (impact.atStart !== null)
    pairs.push([
      'On its start',
      { text: `${formatTime(impact.atStart.at)}: ${shiftPhrase(impact.atStart)}`, style: 'cyan' },
    ]);
  out.fields(pairs);
  out.print(
    impact.refusal === null ? 'Nothing was changed.' : 'Nothing was changed; adding would be refused.',
  );
}

/** The irreversible claims of a license, as short badges: `hard-expiry`, `hard-delete`. */
function hardBadges(license: Pick<LicenseListItem, 'hardExpiration' | 'hardDelete'>): string[] {
  return [...(license.hardExpiration ? ['hard-expiry'] : []), ...(license.hardDelete ? ['hard-delete'] : [])];
}

function describeList(out: Output, licenses: LicenseListItem[], all: boolean): void {
  if (licenses.length === 0) {
    out.print(all ? 'No licenses were ever added.' : 'No licenses.');
    return;
  }
  out.table(
    [
      { header: 'ID', align: 'right' },
      { header: 'UUID' },
      { header: 'LICENSEE' },
      { header: 'STATE' },
      { header: 'SEATS', align: 'right' },
      { header: 'SOFT', align: 'right' },
      { header: 'STARTS' },
      { header: 'EXPIRES' },
      { header: 'HARD' },
      { header: all ? 'UPDATED' : 'FEATURES' },
    ],
    licenses.map((l) => [
      String(l.id),
      l.uuid,
      l.licensee?.company ?? l.licensee?.name ?? '-',
      stateCell(l.state),
      String(l.seats),
      String(l.softSeats),
      l.startsAt === null ? '-' : formatTime(l.startsAt),
      l.expires === null ? 'never' : formatTime(l.expires),
      hardBadges(l).length > 0 ? { text: hardBadges(l).join(','), style: 'yellow' } : '-',
      all ? formatTime(l.updatedAt) : enabledNames(l.features).join(',') || '-',
    ]),
  );
  if (licenses.some((l) => l.hardExpiration || l.hardDelete))
    out.print('', `hard-expiry: once it expires, ${HARD_EXPIRATION}. hard-delete: ${HARD_DELETE}.`);
}

/** What one instant changes, in a phrase: seats before -> after, features and handlers, blocking. */
function shiftPhrase(shift: LicenseShift): string {
  const parts = [`seats ${shift.before.licenseSeats} -> ${shift.after.licenseSeats}`];
  const names = (list: string[]) => printable(list.join(', '));
  if (shift.featuresGained.length > 0) parts.push(`gains features ${names(shift.featuresGained)}`);
  if (shift.featuresLost.length > 0) parts.push(`loses features ${names(shift.featuresLost)}`);
  if (shift.handlersGained.length > 0) parts.push(`gains handlers ${names(shift.handlersGained)}`);
  if (shift.handlersLost.length > 0) parts.push(`loses handlers ${names(shift.handlersLost)}`);
  if (shift.after.dataAccessBlocked && !shift.before.dataAccessBlocked) parts.push('DATA ACCESS BLOCKED');
  if (shift.usersOverLimitAfter > 0)
    parts.push(`${plural(shift.usersOverLimitAfter, 'active user')} over the seats`);
  return parts.join('; ');
}

type LicenseShift = NonNullable<LicenseImpact['atStart']>;

/** The changes ahead, one line each: when, which licenses start or expire, what changes. */
function describeAhead(out: Output, ahead: UpcomingLicenseChanges, now: Date): void {
  for (const change of ahead.changes) {
    const who = (refs: UpcomingLicenseChanges['changes'][number]['starting'], verb: string) =>
      refs.map((r) => `license ${r.id} (${printable(licenseName(r))}) ${verb}`);
    const what = [...who(change.starting, 'starts'), ...who(change.expiring, 'expires')].join(', ');
    out.print(
      `Ahead: ${formatTime(change.at)} (${relativeDays(change.at, now)}): ${what}: ${shiftPhrase(change)}.`,
    );
  }
}

function describeStatus(out: Output, status: LicenseStatus, now: Date): void {
  const seats =
    `${status.activeUserCount} used of ${status.licenseSeats} ` +
    `(${status.hardSeats} licensed + ${status.licenseSeats - status.hardSeats} soft)`;
  const state: Cell = status.dataAccessBlocked
    ? { text: 'DATA ACCESS BLOCKED: no active license, and an expired one has hardExpiration', style: 'red' }
    : status.activeLicenses === 0
      ? { text: 'no active license', style: 'yellow' }
      : { text: `${plural(status.activeLicenses, 'active license')}`, style: 'green' };
  const nextExpiry =
    status.nextExpiry !== null
      ? `${formatTime(status.nextExpiry)} (${relativeDays(status.nextExpiry, now)})`
      : status.activeLicenses > 0
        ? 'never (perpetual)'
        : '-';
  const pairs: [string, Cell][] = [
    ['Seats', seats],
    [
      'New users',
      status.canAddUser
        ? { text: 'can be added', style: 'green' }
        : {
            text:
              status.licenseSeats === 0
                ? 'cannot be added (no active license)'
                : 'cannot be added (no free seat)',
            style: 'yellow',
          },
    ],
    ['State', state],
    ['Next expiry', nextExpiry],
    ['Features', enabledNames(status.features).join(', ') || '-'],
    ['Handlers', Object.keys(status.handlers).join(', ') || '-'],
  ];
  if (status.grace !== null)
    pairs.push([
      'Grace',
      {
        text: `in grace until ${formatTime(status.grace.until)} (${relativeDays(status.grace.until, now)}): ${status.grace.licenses.join(', ')}`,
        style: 'yellow',
      },
    ]);
  if (status.overage > 0)
    pairs.push([
      'Overage',
      {
        text: `${plural(status.overage, 'user')} above the ${status.hardSeats} licensed seats`,
        style: 'yellow',
      },
    ]);
  out.fields(pairs);
}

/**
 * Deleting a hardDelete license can never be undone: on a terminal the administrator types the
 * license id to go on; elsewhere (a script, a pipe) --yes is required. Refusing is a usage error
 * (exit 2) and deletes nothing (docs/licenses.md#hard-delete).
 */
async function confirmHardDelete(license: License): Promise<void> {
  const what = `license ${license.id} (${printable(licenseName(license))}) has hardDelete: once deleted, its key can never be added again`;
  if (process.stdin.isTTY !== true || process.stderr.isTTY !== true)
    throw new UsageError(`${what}; pass --yes to delete it`);
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  try {
    const answer = await rl.question(`${what}.\nType the license id (${license.id}) to delete it: `);
    if (answer.trim() !== String(license.id)) throw new UsageError('not confirmed; nothing was deleted');
  } finally {
    rl.close();
  }
}

function describeUsage(out: Output, usage: Usage): void {
  if (usage.users.length > 0)
    out.table(
      [
        { header: 'ID', align: 'right' },
        { header: 'USERID' },
        { header: 'IAMID' },
        { header: 'TYPE' },
        { header: 'NAME' },
        { header: 'EMAIL' },
        { header: 'ACTIVE' },
      ],
      usage.users.map((u) => [
        String(u.id),
        u.userid,
        u.iamid,
        u.userType,
        u.name ?? '-',
        u.email ?? '-',
        u.active ? { text: 'yes', style: 'green' } : { text: 'no', style: 'dim' },
      ]),
    );
  const { dataConsumers, policyOwners } = usage.summary;
  out.print(
    ...(usage.users.length > 0 ? [''] : []),
    `Data consumers: ${dataConsumers.activeCount} active of ${dataConsumers.totalCount}. ` +
      `Policy owners: ${policyOwners.activeCount} active of ${policyOwners.totalCount}.`,
    `Active users: ${usage.activeUserCount}; peak ${usage.peak.activeUsers}` +
      (usage.peak.termStart === null ? ' (no active license term).' : ` since ${usage.peak.termStart}.`),
    usage.total === 0 ? 'No users.' : pageLine(usage.offset, usage.users.length, usage.total, 'users'),
  );
}

export function licenseCommands(program: Command): void {
  withConnectionOptions(
    program
      .command('add')
      .description('add a license key to the server (from the argument, --file, or stdin)')
      .argument('[key]', 'the license key, or - to read it from stdin')
      .option('--file <file>', 'read the key from a file')
      .option('--dry-run', 'add nothing: say what adding would change, or why it would be refused'),
  ).action(
    async (key: string | undefined, options: { file?: string; dryRun?: boolean }, command: Command) => {
      const licenseKey = readKeyInput(key, options.file);
      const conn = connect(command);
      if (options.dryRun === true) {
        const impact = await call(conn, (c) => c.validateLicense(licenseKey));
        if (conn.out.json) conn.out.printJson(impact);
        else describeImpact(conn.out, impact, 'add');
        // A key that would be refused is a refused operation: exit 1 with its code, as add would.
        if (impact.refusal !== null)
          throw new RefusedError(impact.refusal.code, printable(impact.refusal.detail));
        return;
      }
      const license = await call(conn, (c) => c.addLicense(licenseKey));
      if (conn.out.json) conn.out.printJson(license);
      else describeAdded(conn.out, license);
    },
  );

  withConnectionOptions(
    program
      .command('list')
      .description('list the licenses that are not deleted (never their keys)')
      .option('--all', 'every license ever added: deleted, superseded and invalidated ones too'),
  ).action(async (options: { all?: boolean }, command: Command) => {
    const conn = connect(command);
    const all = options.all === true;
    const licenses = await call(conn, (c) => c.listLicenses({ all }));
    if (conn.out.json) conn.out.printJson(licenses);
    else describeList(conn.out, licenses, all);
  });

  withConnectionOptions(
    program
      .command('status')
      .description('seats used and licensed, state, next expiry, features, scheduled licenses')
      .option(
        '--check',
        'for monitoring: print one line and exit 0 OK, 1 WARNING (a license expires within --warn-days, seats at 90 % or more, no active license), 2 CRITICAL (data access blocked, active users over the seats), 3 UNKNOWN (server unreachable or refusing)',
      )
      .option(
        '--warn-days <n>',
        `with --check: warn this many days before an expiry (default ${DEFAULT_WARN_DAYS})`,
      ),
  ).action(async (options: { check?: boolean; warnDays?: string }, command: Command) => {
    if (options.check === true) {
      let result: CheckResult;
      try {
        const warnDays = warnDaysOption(options.warnDays);
        const conn = connect(command);
        result = checkStatus(await call(conn, (c) => c.licenseStatus()), warnDays, new Date());
      } catch (err) {
        result = uncheckable(err);
      }
      process.stdout.write(`${result.line}\n`);
      process.exitCode = CHECK_EXIT[result.state];
      return;
    }
    if (options.warnDays !== undefined) throw new UsageError('--warn-days goes with --check');
    const conn = connect(command);
    if (conn.out.json) {
      conn.out.printJson(await call(conn, (c) => c.licenseStatus()));
      return;
    }
    const [status, ahead] = await call(conn, (c) =>
      Promise.all([c.licenseStatus(), c.upcomingLicenseChanges({ days: AHEAD_DAYS })]),
    );
    const now = new Date();
    describeStatus(conn.out, status, now);
    describeAhead(conn.out, ahead, now);
  });

  withConnectionOptions(
    program
      .command('delete')
      .description(
        'delete a license (soft: the record stays, marked deleted); a hardDelete license asks first',
      )
      .argument('<id>', 'the license id (see licensor list)')
      .option('--dry-run', 'delete nothing: say what deleting would change')
      .option(
        '--yes',
        'delete a hardDelete license without asking (required when not on a terminal): its key can never be added again',
      ),
  ).action(async (rawId: string, options: { dryRun?: boolean; yes?: boolean }, command: Command) => {
    const id = idArgument('the license id', rawId);
    const conn = connect(command);
    if (options.dryRun === true) {
      const impact = await call(conn, (c) => c.deleteLicenseDryRun(id));
      if (conn.out.json) conn.out.printJson(impact);
      else describeImpact(conn.out, impact, 'delete');
      return;
    }
    if (options.yes !== true) {
      const target = await call(conn, (c) => c.getLicense(id));
      if (target.deleted) throw new RefusedError('LICENSE_NOT_FOUND', `no license with id ${id}`);
      if (target.hardDelete) await confirmHardDelete(target);
    }
    const license = await call(conn, (c) => c.deleteLicense(id));
    if (conn.out.json) conn.out.printJson(license);
    else
      conn.out.print(
        `Deleted license ${license.id} (uuid ${printable(license.uuid)}). ` +
          (license.hardDelete
            ? 'Its key can never be added again (hardDelete).'
            : 'The same key may be added again.'),
      );
  });

  withConnectionOptions(
    program
      .command('usage')
      .description('a page of users with whether each is active, and the seat summary over all users')
      .option('--offset <n>', 'index of the first user (default 0)')
      .option('--size <n>', 'users per page, 1 to 1000 (default 10)'),
  ).action(async (options: PageOptions, command: Command) => {
    const page = pageOf(options);
    const conn = connect(command);
    const usage = await call(conn, (c) => c.usage(page));
    if (conn.out.json) conn.out.printJson(usage);
    else describeUsage(conn.out, usage);
  });

  withConnectionOptions(
    program
      .command('history')
      .description('the daily peak of active users against seats (default: the last 90 days)')
      .option('--from <day>', 'first day, YYYY-MM-DD (default: 89 days before --to)')
      .option('--to <day>', 'last day, YYYY-MM-DD (default: today, UTC)')
      .option(
        '--csv',
        "print the server's CSV (day,peakActiveUsers,licenseSeats,hardSeats,peakDataConsumers,peakPolicyOwners)",
      ),
  ).action(async (options: { from?: string; to?: string; csv?: boolean }, command: Command) => {
    const range = { from: dayOption('--from', options.from), to: dayOption('--to', options.to) };
    const conn = connect(command);
    if (options.csv === true && conn.out.json) throw new UsageError('give --csv or --json, not both');
    if (options.csv === true) {
      process.stdout.write(await call(conn, (c) => c.usageHistoryCsv(range)));
      return;
    }
    const history = await call(conn, (c) => c.usageHistory(range));
    if (conn.out.json) {
      conn.out.printJson(history);
      return;
    }
    if (history.days.length === 0) {
      conn.out.print(`No usage recorded from ${history.from} to ${history.to}.`);
      return;
    }
    conn.out.table(
      [
        { header: 'DAY' },
        { header: 'PEAK ACTIVE', align: 'right' },
        { header: 'SEATS', align: 'right' },
        { header: 'HARD SEATS', align: 'right' },
      ],
      history.days.map((d) => [
        d.day,
        d.peakActiveUsers > d.licenseSeats
          ? { text: String(d.peakActiveUsers), style: 'red' }
          : String(d.peakActiveUsers),
        String(d.licenseSeats),
        String(d.hardSeats),
      ]),
    );
  });

  withConnectionOptions(
    program.command('notices').description('the login-page notices, as end users see them (no token needed)'),
  ).action(async (_options: unknown, command: Command) => {
    const conn = connect(command);
    const { notices } = await call(conn, (c) => c.notices());
    if (conn.out.json) conn.out.printJson({ notices });
    else if (notices.length === 0) conn.out.print('No notices.');
    else
      conn.out.print(
        ...notices.map((n) =>
          n.kind === 'notice'
            ? `notice: ${printable(n.text, { keepNewlines: true })}`
            : `${conn.out.paint('yellow', 'expired:')} ${printable(n.text, { keepNewlines: true })}`,
        ),
      );
  });
}
