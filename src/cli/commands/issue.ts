import { createPrivateKey, createPublicKey, randomUUID, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { isLicensorError } from '../../domain/errors.js';
import {
  KEY_LIMITS,
  checkLicenseKeyLimits,
  parseLicenseClaims,
  parseRfc3339,
} from '../../domain/license-claims.js';
import { signLicenseKey } from '../../keys/license-jws.js';
import { UsageError } from '../cli-errors.js';
import { repeatable } from '../option-values.js';

interface IssueOptions {
  key: string;
  seats: string;
  softSeats?: string;
  expires?: string;
  graceDays?: string;
  startsAt?: string;
  feature: string[];
  handler: string[];
  supersedes: string[];
  hardExpiration: boolean;
  hardDelete: boolean;
  notice?: string;
  noticeOnExpire?: string;
  renewalToken?: string;
  uuid?: string;
  licenseeName?: string;
  licenseeEmail?: string;
  licenseeCompany?: string;
}

/**
 * RFC 3339, or a bare date as an issuer would type it: for --starts-at the start of that day UTC,
 * for --expires its end (23:59:59 UTC), so `--expires 2027-12-31` covers all of 2027-12-31.
 */
function timeOption(flag: string, value: string | undefined, bareDate: 'start' | 'end'): string | null {
  if (value === undefined) return null;
  const text = /^\d{4}-\d{2}-\d{2}$/.test(value)
    ? `${value}T${bareDate === 'start' ? '00:00:00' : '23:59:59'}Z`
    : value;
  const date = parseRfc3339(text);
  if (!date)
    throw new UsageError(
      `${flag} must be an RFC 3339 time such as 2027-01-01T00:00:00Z, or a date such as 2027-01-01`,
    );
  return date.toISOString();
}

function countOption(flag: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  if (!/^\d+$/.test(value)) throw new UsageError(`${flag} must be a whole number of 0 or more`);
  return Number(value);
}

function loadPrivateKey(path: string): KeyObject {
  let pem: string;
  try {
    pem = readFileSync(path, 'utf8');
  } catch {
    throw new UsageError(`--key ${path}: cannot be read`);
  }
  let key: KeyObject;
  try {
    key = createPrivateKey(pem);
  } catch {
    throw new UsageError(`--key ${path}: is not a PEM private key (use the issuer.key from licensor keygen)`);
  }
  if (key.asymmetricKeyType !== 'ed25519') throw new UsageError(`--key ${path}: is not an Ed25519 key`);
  return key;
}

/** Builds the payload from the flags; optional claims are left out unless given. */
export function payloadFromOptions(options: IssueOptions, now: Date): Record<string, unknown> {
  const payload: Record<string, unknown> = {
    uuid: options.uuid ?? randomUUID(),
    createdAt: now.toISOString(),
    expires: timeOption('--expires', options.expires, 'end'),
    seats: countOption('--seats', options.seats),
    softSeats: countOption('--soft-seats', options.softSeats) ?? 0,
    features: Object.fromEntries(options.feature.map((name) => [name, { enabled: true }])),
    handlers: Object.fromEntries(options.handler.map((name) => [name, {}])),
    hardExpiration: options.hardExpiration,
    hardDelete: options.hardDelete,
    notice: options.notice ?? null,
    noticeOnExpire: options.noticeOnExpire ?? null,
    renewalToken: options.renewalToken ?? null,
  };
  const startsAt = timeOption('--starts-at', options.startsAt, 'start');
  if (startsAt !== null) payload.startsAt = startsAt;
  const graceDays = countOption('--grace-days', options.graceDays);
  if (graceDays !== undefined) {
    if (payload.expires === null)
      throw new UsageError('--grace-days needs --expires: a perpetual license has no grace');
    payload.graceDays = graceDays;
  }
  if (options.supersedes.length > 0) payload.supersedes = options.supersedes;
  const licensee = Object.fromEntries(
    Object.entries({
      name: options.licenseeName,
      email: options.licenseeEmail,
      company: options.licenseeCompany,
    }).filter(([, v]) => v !== undefined),
  );
  if (Object.keys(licensee).length > 0) payload.licensee = licensee;
  return payload;
}

export function issueCommand(program: Command): void {
  program
    .command('issue')
    .description('sign a license key with an issuer private key and print it on stdout')
    .requiredOption('--key <file>', 'issuer private key (issuer.key from licensor keygen)')
    .requiredOption('--seats <n>', 'licensed (hard) seats')
    .option('--soft-seats <n>', 'users allowed beyond --seats without blocking access')
    .option(
      '--expires <time>',
      'expiry: RFC 3339, or YYYY-MM-DD for the end of that day (23:59:59 UTC); perpetual when left out',
    )
    .option(
      '--grace-days <n>',
      'days the license stays in force after --expires (0 to 365); hard expiration waits for their end',
    )
    .option(
      '--starts-at <time>',
      'not in force before this time: RFC 3339, or YYYY-MM-DD for the start of that day (00:00 UTC)',
    )
    .option('--feature <name>', 'enable a feature (repeatable)', repeatable, [])
    .option('--handler <name>', 'cover a data handler (repeatable)', repeatable, [])
    .option(
      '--supersedes <uuid>',
      'invalidate this license when the new one is added (repeatable)',
      repeatable,
      [],
    )
    .option('--hard-expiration', 'block all data access once the license expires', false)
    .option('--hard-delete', 'once deleted, the key can never be added again', false)
    .option('--notice <text>', 'login-page notice while the license is active')
    .option('--notice-on-expire <text>', 'login-page notice after it expires')
    .option('--renewal-token <text>', 'opaque renewal token, stored and returned')
    .option('--uuid <uuid>', 'the license uuid (a random one when left out)')
    .option('--licensee-name <text>', 'who the license is issued to')
    .option('--licensee-email <text>', 'licensee contact email')
    .option('--licensee-company <text>', 'licensee company')
    .action((options: IssueOptions) => {
      const privateKey = loadPrivateKey(options.key);
      const payload = payloadFromOptions(options, new Date());
      // The server's checks, in its order: a key it would refuse is not issued.
      try {
        checkLicenseKeyLimits(payload);
        parseLicenseClaims(payload);
      } catch (err) {
        if (isLicensorError(err)) throw new UsageError(err.detail);
        throw err;
      }
      const licenseKey = signLicenseKey(payload, privateKey, createPublicKey(privateKey));
      if (licenseKey.length > KEY_LIMITS.keyLength)
        throw new UsageError(
          `the key would be ${licenseKey.length} characters; servers refuse keys over ${KEY_LIMITS.keyLength} (shorten notices, features, handlers or supersedes)`,
        );
      process.stdout.write(`${licenseKey}\n`);
    });
}
