import type { Command } from 'commander';
import type {
  License,
  LicenseImpact,
  LicenseListItem,
  LicenseState,
  LicenseStatus,
  Usage,
} from '../../client/types.js';
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
  out.fields(pairs);
  out.print(
    impact.refusal === null ? 'Nothing was changed.' : 'Nothing was changed; adding would be refused.',
  );
}

function describeList(out: Output, licenses: LicenseListItem[]): void {
  if (licenses.length === 0) {
    out.print('No licenses.');
    return;
  }
  out.table(
    [
      { header: 'ID', align: 'right' },
      { header: 'UUID' },
      { header: 'STATE' },
      { header: 'SEATS', align: 'right' },
      { header: 'SOFT', align: 'right' },
      { header: 'EXPIRES' },
      { header: 'FEATURES' },
    ],
    licenses.map((l) => [
      String(l.id),
      l.uuid,
      stateCell(l.state),
      String(l.seats),
      String(l.softSeats),
      l.expires === null ? 'never' : formatTime(l.expires),
      enabledNames(l.features).join(',') || '-',
    ]),
  );
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
        : { text: 'cannot be added (no free seat)', style: 'yellow' },
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
    program.command('list').description('list the licenses that are not deleted (never their keys)'),
  ).action(async (_options: unknown, command: Command) => {
    const conn = connect(command);
    const licenses = await call(conn, (c) => c.listLicenses());
    if (conn.out.json) conn.out.printJson(licenses);
    else describeList(conn.out, licenses);
  });

  withConnectionOptions(
    program.command('status').description('seats used and licensed, state, next expiry, features'),
  ).action(async (_options: unknown, command: Command) => {
    const conn = connect(command);
    const status = await call(conn, (c) => c.licenseStatus());
    if (conn.out.json) conn.out.printJson(status);
    else describeStatus(conn.out, status, new Date());
  });

  withConnectionOptions(
    program
      .command('delete')
      .description('delete a license (soft: the record stays, marked deleted)')
      .argument('<id>', 'the license id (see licensor list)')
      .option('--dry-run', 'delete nothing: say what deleting would change'),
  ).action(async (rawId: string, options: { dryRun?: boolean }, command: Command) => {
    const id = idArgument('the license id', rawId);
    const conn = connect(command);
    if (options.dryRun === true) {
      const impact = await call(conn, (c) => c.deleteLicenseDryRun(id));
      if (conn.out.json) conn.out.printJson(impact);
      else describeImpact(conn.out, impact, 'delete');
      return;
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
      .option('--csv', "print the server's CSV (day,peakActiveUsers,licenseSeats,hardSeats)"),
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
