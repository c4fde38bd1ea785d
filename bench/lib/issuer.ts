import { generateKeyPairSync, randomUUID } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { KeyRing } from '../../src/keys/key-ring.js';
import { signLicenseKey } from '../../src/keys/license-jws.js';

const DAY_MS = 86_400_000;

const FEATURES = [
  'FPE',
  'nativeSqlTeradata',
  'nativeSqlSnowflake',
  'nativeSqlDatabricks',
  'auditExport',
  'sensitiveDataDiscovery',
  'projectWorkspaces',
  'externalCatalogs',
];
const HANDLERS = ['snowflake', 'databricks', 'redshift', 'teradata', 'bigquery'];

/** The bench's vendor: an Ed25519 key pair whose public half the servers trust. */
export interface BenchIssuer {
  publicKeyFile: string;
  ring: KeyRing;
  /**
   * A license key: unique uuid, valid from yesterday for a year, `seats` seats, a few features and
   * handlers (license `n` varies which), as a vendor would issue it.
   */
  sign(n: number, seats: number): string;
}

export function createIssuer(dir: string): BenchIssuer {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  const publicKeyFile = join(dir, 'issuer.pub');
  writeFileSync(publicKeyFile, publicKey.export({ type: 'spki', format: 'pem' }));
  return {
    publicKeyFile,
    ring: KeyRing.fromPublicKeys([publicKey]),
    sign: (n, seats) => signLicenseKey(payload(n, seats), privateKey, publicKey),
  };
}

function payload(n: number, seats: number): Record<string, unknown> {
  // Evaluated per key, so a long run never signs keys that are "created in the future".
  const now = new Date();
  const features: Record<string, { enabled: boolean }> = {};
  FEATURES.forEach((name, i) => {
    if ((n + i) % 3 !== 0) features[name] = { enabled: (n + i) % 4 !== 0 };
  });
  const handlers: Record<string, Record<string, unknown>> = {};
  HANDLERS.forEach((name, i) => {
    if ((n + i) % 2 === 0) handlers[name] = { maxConnections: 10 + i };
  });
  return {
    uuid: randomUUID(),
    createdAt: new Date(now.getTime() - DAY_MS).toISOString(),
    expires: new Date(now.getTime() + 365 * DAY_MS).toISOString(),
    seats,
    softSeats: 0,
    features,
    handlers,
    licensee: { name: 'Bench Corp', company: 'Bench Corp' },
    ...(n % 7 === 0 && { notice: `Bench license ${n % 3}` }),
  };
}
