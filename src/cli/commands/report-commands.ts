import { readFileSync, writeFileSync } from 'node:fs';
import { checkOutputFile, writeFailed } from '../output-path.js';
import type { Command } from 'commander';
import {
  checkReport,
  peaksByType,
  reconcile,
  type PeaksByType,
  type Reconciliation,
} from '../../domain/usage-reconcile.js';
import type { UsageReport } from '../../domain/usage-report.js';
import {
  InstanceDocumentError,
  USAGE_REPORT_TYP,
  verifyInstanceDocument,
} from '../../keys/instance-signer.js';
import { KeyFileError, KeyRing } from '../../keys/key-ring.js';
import { RefusedError, UsageError } from '../cli-errors.js';
import { call, connect, outputFor, withConnectionOptions } from '../connect.js';
import type { Output } from '../output.js';

const DAY = /^\d{4}-\d{2}-\d{2}$/;

function readFile(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    throw new UsageError(`${path}: cannot be read`);
  }
}

function ringOf(path: string): KeyRing {
  try {
    return KeyRing.fromFiles([path]);
  } catch (err) {
    if (err instanceof KeyFileError) throw new UsageError(`--instance-key ${err.message}`);
    throw err;
  }
}

/** The payload without trusting it: for `show` with no key. */
function decodeUnverified(jws: string): Record<string, unknown> {
  const payload = jws.trim().split('.')[1];
  try {
    const value: unknown = JSON.parse(Buffer.from(payload ?? '', 'base64url').toString('utf8'));
    if (typeof value === 'object' && value !== null && !Array.isArray(value))
      return value as Record<string, unknown>;
  } catch {
    // Reported below.
  }
  throw new RefusedError('INVALID_REPORT', 'not a usage report (a compact JWS whose payload is JSON)');
}

/**
 * Reads and checks a report file: the signature against the instance key when one is given (the
 * whole point: a vendor has the key, a customer cannot forge it), then every day's chain and the
 * summary. Any failure is INVALID_REPORT, exit 1.
 */
function loadReport(path: string, keyPath: string | undefined): UsageReport {
  const jws = readFile(path);
  let payload: Record<string, unknown>;
  if (keyPath === undefined) payload = decodeUnverified(jws);
  else
    try {
      payload = verifyInstanceDocument(jws, ringOf(keyPath), USAGE_REPORT_TYP).payload;
    } catch (err) {
      if (err instanceof InstanceDocumentError)
        throw new RefusedError('INVALID_REPORT', `${path}: ${err.message}`);
      throw err;
    }
  const report = checkReport(payload);
  if (typeof report === 'string') throw new RefusedError('INVALID_REPORT', `${path}: ${report}`);
  return report;
}

/** A day's peak of one user type; '-' on a day recorded before the history kept them. */
function typePeak(peak: number | undefined): string {
  return peak === undefined ? '-' : String(peak);
}

function printDays(out: Output, report: UsageReport): void {
  out.table(
    [
      { header: 'DAY' },
      { header: 'PEAK', align: 'right' },
      { header: 'SEATS', align: 'right' },
      { header: 'HARD', align: 'right' },
      { header: 'OVER', align: 'right' },
      { header: 'DATA CONSUMERS', align: 'right' },
      { header: 'POLICY OWNERS', align: 'right' },
    ],
    report.days.map((d) => {
      const over = d.peakActive.all - d.hardSeats;
      return [
        d.day,
        String(d.peakActive.all),
        String(d.licenseSeats),
        String(d.hardSeats),
        over > 0 ? { text: String(over), style: 'red' } : '-',
        typePeak(d.peakActive.dataConsumer),
        typePeak(d.peakActive.policyOwner),
      ];
    }),
  );
  if (report.days.some((d) => d.peakActive.dataConsumer === undefined))
    out.print('-: a day recorded before the history kept peaks by user type');
}

function peaksByTypeLine(p: PeaksByType | null): string {
  if (p === null) return 'peaks by user type: none recorded in this period';
  return `peaks by user type: ${p.byType.dataConsumer} data consumers, ${p.byType.policyOwner} policy owners (${p.days} days from ${p.from})`;
}

function printReconciliation(out: Output, r: Reconciliation): void {
  out.print(
    `instance ${r.instanceId}, ${r.from} to ${r.to}: peak ${r.summary.peakActive}` +
      `${r.summary.peakDay === null ? '' : ` on ${r.summary.peakDay}`}, ${r.summary.daysOverSeats} days over seats, largest overage ${r.summary.maxOverage}`,
  );
  out.print(`${peaksByTypeLine(r.peaksByType)}; overage is judged on all users: seats are not per type`);
  if (r.licenses.length > 0)
    out.table(
      [
        { header: 'LICENSE' },
        { header: 'LICENSEE' },
        { header: 'DAYS OVER', align: 'right' },
        { header: 'PEAK OVERAGE', align: 'right' },
        { header: 'FIRST DAY OVER' },
      ],
      r.licenses.map((l) => [
        l.uuid,
        l.licensee ?? '-',
        String(l.daysOverSeats.length),
        String(l.peakOverage),
        l.daysOverSeats[0] ?? '-',
      ]),
    );
  if (r.previous) {
    const p = r.previous;
    if (p.agrees)
      out.print(
        p.overlapFrom === null
          ? `previous report: ${p.reason ?? 'no overlap'}`
          : `previous report: the days ${p.overlapFrom} to ${p.overlapTo} agree`,
      );
    else
      out.print(
        out.paint(
          'red',
          `previous report DISAGREES${p.firstDifferentDay === null ? '' : ` from ${p.firstDifferentDay}`}: ${p.reason ?? ''}`,
        ),
      );
  }
}

/** `licensor report export|verify|show|reconcile`: the signed usage report (docs/usage-report.md). */
export function reportCommands(program: Command): void {
  const report = program
    .command('report')
    .description('the usage report signed by the instance: export it, verify it, read it, reconcile it');

  withConnectionOptions(
    report
      .command('export')
      .description('download the signed usage report (APPLICATION_ADMIN); at most 400 days')
      .option('--from <day>', 'first day, YYYY-MM-DD (default: 89 days before --to)')
      .option('--to <day>', 'last day, YYYY-MM-DD (default: today, UTC)')
      .option('--out <file>', 'write it to this file (default: standard output)'),
  ).action(async (options: { from?: string; to?: string; out?: string }, command: Command) => {
    for (const name of ['from', 'to'] as const) {
      const value = options[name];
      if (value !== undefined && !DAY.test(value))
        throw new UsageError(`--${name} must be a day, YYYY-MM-DD`);
    }
    if (options.out !== undefined) checkOutputFile('--out', options.out);
    const conn = connect(command);
    const jws = await call(conn, (c) => c.usageReport({ from: options.from, to: options.to }));
    if (options.out === undefined) {
      process.stdout.write(`${jws}\n`);
      return;
    }
    try {
      writeFileSync(options.out, `${jws}\n`);
    } catch (err) {
      throw writeFailed('--out', options.out, err);
    }
    process.stdout.write(`wrote ${options.out}\n`);
  });

  report
    .command('verify')
    .description(
      'check a report offline: signature by the instance key, each day chained, summary; exit 0 valid, 1 not',
    )
    .argument('<file>', 'the report')
    .requiredOption('--instance-key <file>', "the instance's public key: the JWKS or a PEM file")
    .option('--json', 'print JSON')
    .action((file: string, options: { instanceKey: string }, command: Command) => {
      const r = loadReport(file, options.instanceKey);
      const out = outputFor(command);
      if (out.json)
        out.printJson({ valid: true, instanceId: r.instanceId, from: r.from, to: r.to, days: r.days.length });
      else out.print(`valid: instance ${r.instanceId}, ${r.from} to ${r.to}, ${r.days.length} days`);
    });

  report
    .command('show')
    .description('print a report as a table (verified when --instance-key is given)')
    .argument('<file>', 'the report')
    .option('--instance-key <file>', "the instance's public key: the JWKS or a PEM file")
    .option('--json', 'print JSON')
    .action((file: string, options: { instanceKey?: string }, command: Command) => {
      const r = loadReport(file, options.instanceKey);
      const out = outputFor(command);
      if (out.json) {
        out.printJson(r);
        return;
      }
      out.print(
        `instance ${r.instanceId}, ${r.from} to ${r.to}, generated ${r.generatedAt}`,
        `signature: ${options.instanceKey === undefined ? 'NOT CHECKED (give --instance-key)' : 'valid'}`,
      );
      for (const l of r.licenses)
        out.print(
          `license ${l.uuid}: ${l.seats} seats (+${l.softSeats} soft), ${l.startsAt} to ${l.expires ?? 'never'}`,
        );
      printDays(out, r);
      out.print(
        `peak ${r.summary.peakActive}${r.summary.peakDay === null ? '' : ` on ${r.summary.peakDay}`}, ${r.summary.daysOverSeats} days over seats, largest overage ${r.summary.maxOverage}`,
        peaksByTypeLine(peaksByType(r.days)),
      );
    });

  report
    .command('reconcile')
    .description(
      "the vendor's view: days over seats and peak overage per license; with --previous, whether the shared days agree (exit 1 when not)",
    )
    .argument('<file>', 'the report')
    .option('--previous <file>', 'an earlier report of the same instance')
    .option(
      '--instance-key <file>',
      "the instance's public key (JWKS or PEM): both reports must verify with it",
    )
    .option('--json', 'print JSON')
    .action((file: string, options: { previous?: string; instanceKey?: string }, command: Command) => {
      const current = loadReport(file, options.instanceKey);
      const previous =
        options.previous === undefined ? undefined : loadReport(options.previous, options.instanceKey);
      const result = reconcile(current, previous);
      const out = outputFor(command);
      if (out.json) out.printJson(result);
      else {
        if (options.instanceKey === undefined)
          out.print('signature: NOT CHECKED (give --instance-key); chains and summary checked');
        printReconciliation(out, result);
      }
      if (result.previous && !result.previous.agrees) process.exitCode = 1;
    });
}
