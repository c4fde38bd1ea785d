import { generateKeyPairSync, randomUUID, type KeyObject } from 'node:crypto';
import { KeyRing } from '../../src/keys/key-ring.js';
import { signLicenseKey, verifyLicenseKey } from '../../src/keys/license-jws.js';
import type { NewLicense } from '../../src/store/store.js';

/** A vendor's signing key pair for tests, and a way to issue keys with chosen claims. */
export interface TestIssuer {
  privateKey: KeyObject;
  publicKey: KeyObject;
  ring: KeyRing;
  /** Signs a payload built from sensible defaults (20 seats, 1 year) and `claims` on top. */
  issue(claims?: Record<string, unknown>, at?: Date): string;
  payload(claims?: Record<string, unknown>, at?: Date): Record<string, unknown>;
  /** A key issued as `issue` does, verified against `ring`, as the routes hand one to a store. */
  newLicense(claims?: Record<string, unknown>, at?: Date): NewLicense;
}

export const DAY = 24 * 60 * 60 * 1000;

/** `now` sets the default time keys are issued at (the app's clock in app tests). */
export function createIssuer(now: () => Date = () => new Date()): TestIssuer {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  const payload = (claims: Record<string, unknown> = {}, at = now()): Record<string, unknown> => ({
    uuid: randomUUID(),
    createdAt: new Date(at.getTime() - DAY).toISOString(),
    expires: new Date(at.getTime() + 365 * DAY).toISOString(),
    seats: 20,
    softSeats: 0,
    features: {},
    handlers: {},
    ...claims,
  });
  const ring = KeyRing.fromPublicKeys([publicKey]);
  const issue = (claims?: Record<string, unknown>, at?: Date): string =>
    signLicenseKey(payload(claims, at), privateKey, publicKey);
  return {
    privateKey,
    publicKey,
    ring,
    payload,
    issue,
    newLicense: (claims, at) => {
      const licenseKey = issue(claims, at);
      const verified = verifyLicenseKey(licenseKey, ring);
      return { licenseKey, payload: verified.payload, claims: verified.claims };
    },
  };
}
