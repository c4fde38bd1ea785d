import type { Command } from 'commander';
import { isLicensorError, type ErrorCode } from '../../domain/errors.js';
import { checkLicenseKeyLimits, parseLicenseClaims } from '../../domain/license-claims.js';
import { KeyFileError, KeyRing } from '../../keys/key-ring.js';
import { decodeLicenseKeyUnverified, verifyLicenseKey } from '../../keys/license-jws.js';
import { RefusedError, UsageError } from '../cli-errors.js';
import { connectionOptions } from '../connect.js';
import { readKeyInput } from '../read-input.js';

/** What the two irreversible claims mean, in the words list, inspect and dry runs share. */
export const HARD_EXPIRATION = 'data access is blocked unless another license is active';
export const HARD_DELETE = 'once deleted, the key can never be added again';

interface InspectOptions {
  file?: string;
  trusted?: string;
  json: boolean;
}

interface Report {
  header: Record<string, unknown>;
  payload: Record<string, unknown>;
  claimsValid: boolean;
  claimsProblem: string | null;
  signature: 'not checked' | 'valid' | 'invalid';
  signatureProblem: { code: string; detail: string } | null;
  expires: string | null;
  expired: boolean;
}

function describe(report: Report, now: Date): string {
  const p = report.payload;
  const lines = [
    `uuid:       ${String(p.uuid)}`,
    `created:    ${String(p.createdAt)}`,
    `expires:    ${report.expires === null ? 'never (perpetual)' : `${report.expires}${report.expired ? ' (EXPIRED)' : ` (in ${Math.ceil((Date.parse(report.expires) - now.getTime()) / 86_400_000)} days)`}`}`,
    `seats:      ${String(p.seats)} (+${JSON.stringify(p.softSeats ?? 0)} soft)`,
    `features:   ${Object.keys((p.features as object | undefined) ?? {}).join(', ') || '-'}`,
    `handlers:   ${Object.keys((p.handlers as object | undefined) ?? {}).join(', ') || '-'}`,
    ...(typeof p.startsAt === 'string' ? [`starts:     ${p.startsAt}`] : []),
    `on expiry:  ${p.hardExpiration === true ? `HARD EXPIRATION: ${HARD_EXPIRATION}` : 'its seats, features and handlers end; data access goes on'}`,
    `on delete:  ${p.hardDelete === true ? `HARD DELETE: ${HARD_DELETE}` : 'may be added again'}`,
    `kid:        ${typeof report.header.kid === 'string' ? report.header.kid : '-'}`,
    `claims:     ${report.claimsValid ? 'valid' : `INVALID: ${report.claimsProblem ?? ''}`}`,
    `signature:  ${report.signature}${report.signatureProblem ? ` (${report.signatureProblem.code}: ${report.signatureProblem.detail})` : ''}`,
  ];
  return `${lines.join('\n')}\n`;
}

export function inspectCommand(program: Command): void {
  program
    .command('inspect')
    .description('decode a license key offline; with --trusted, say whether its signature verifies')
    .argument('[key]', 'the license key, or - to read stdin')
    .option('--file <file>', 'read the key from a file')
    .option('--trusted <pubfile>', 'issuer public key (PEM or JWKS) to verify the signature with')
    .option('--json', 'print JSON', false)
    .action((key: string | undefined, options: InspectOptions, command: Command) => {
      // `licensor --json inspect KEY` too: --json before the command name is the program's.
      const json = options.json || connectionOptions(command).json === true;
      const licenseKey = readKeyInput(key, options.file);
      const now = new Date();
      let decoded: ReturnType<typeof decodeLicenseKeyUnverified>;
      try {
        decoded = decodeLicenseKeyUnverified(licenseKey);
      } catch (err) {
        if (isLicensorError(err)) throw new RefusedError(err.code, err.detail);
        throw err;
      }
      const report: Report = {
        ...decoded,
        claimsValid: true,
        claimsProblem: null,
        signature: 'not checked',
        signatureProblem: null,
        expires: null,
        expired: false,
      };
      let claimsCode: ErrorCode = 'INVALID_CLAIMS';
      try {
        const claims = parseLicenseClaims(decoded.payload);
        report.expires = claims.expires?.toISOString() ?? null;
        report.expired = claims.expires !== null && now >= claims.expires;
        // A key over the limits is refused by every server however it is signed (docs/license-keys.md).
        checkLicenseKeyLimits(decoded.payload);
      } catch (err) {
        if (!isLicensorError(err)) throw err;
        report.claimsValid = false;
        report.claimsProblem = err.detail;
        claimsCode = err.code;
      }
      if (options.trusted !== undefined) {
        let ring: KeyRing;
        try {
          ring = KeyRing.fromFiles([options.trusted]);
        } catch (err) {
          if (err instanceof KeyFileError) throw new UsageError(`--trusted ${err.message}`);
          throw err;
        }
        try {
          verifyLicenseKey(licenseKey, ring);
          report.signature = 'valid';
        } catch (err) {
          if (!isLicensorError(err)) throw err;
          // A valid signature over invalid claims, or over a key too large, is still valid: both are
          // checked only once the signature verified.
          if (err.code === 'INVALID_CLAIMS' || err.code === 'LICENSE_KEY_TOO_LARGE')
            report.signature = 'valid';
          else {
            report.signature = 'invalid';
            report.signatureProblem = { code: err.code, detail: err.detail };
          }
        }
      }
      process.stdout.write(json ? `${JSON.stringify(report, null, 2)}\n` : describe(report, now));
      if (report.signatureProblem)
        throw new RefusedError(report.signatureProblem.code, 'the signature does not verify');
      if (!report.claimsValid) throw new RefusedError(claimsCode, report.claimsProblem ?? 'invalid claims');
    });
}
