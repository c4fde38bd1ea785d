import { sign, verify, type KeyObject } from 'node:crypto';
import { LicensorError } from '../domain/errors.js';
import {
  KEY_LIMITS,
  checkLicenseKeyLimits,
  parseLicenseClaims,
  type LicenseClaims,
} from '../domain/license-claims.js';
import { checkKeyTimes } from '../domain/license.js';
import { base64urlDecode, base64urlEncode } from './base64url.js';
import { thumbprint, type KeyRing } from './key-ring.js';
import { findDuplicateMember, maxNestingDepth } from './strict-json.js';

/** The one algorithm. It is fixed here and never taken from the key being verified. */
export const LICENSE_ALG = 'EdDSA';
export const LICENSE_TYP = 'license+jws';
/** Longer keys are refused before any decoding work (KEY_LIMITS.keyLength). */
export const MAX_LICENSE_KEY_LENGTH = KEY_LIMITS.keyLength;
/**
 * Deepest nesting of arrays and objects a header or payload may have (KEY_LIMITS.jsonDepth). A
 * 64 KiB key can nest tens of thousands of levels, which JSON.parse accepts but JSON.stringify
 * cannot write back.
 */
export const MAX_JSON_DEPTH = KEY_LIMITS.jsonDepth;

const ED25519_SIGNATURE_BYTES = 64;

export interface VerifiedLicenseKey {
  header: Record<string, unknown>;
  /** The whole payload, unknown claims included. */
  payload: Record<string, unknown>;
  claims: LicenseClaims;
  /** Thumbprint of the trusted key whose signature verified. */
  kid: string;
}

function malformed(detail: string): LicensorError {
  return new LicensorError('MALFORMED_LICENSE_KEY', detail);
}

function decodeJsonSegment(segment: string, what: string): Record<string, unknown> {
  const bytes = base64urlDecode(segment);
  if (!bytes) throw malformed(`the ${what} is not canonical base64url`);
  const text = bytes.toString('utf8');
  if (!Buffer.from(text, 'utf8').equals(bytes)) throw malformed(`the ${what} is not UTF-8`);
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw malformed(`the ${what} is not JSON`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw malformed(`the ${what} is not a JSON object`);
  if (maxNestingDepth(text) > MAX_JSON_DEPTH)
    throw malformed(`the ${what} nests deeper than ${MAX_JSON_DEPTH} levels`);
  const duplicate = findDuplicateMember(text);
  if (duplicate !== undefined) throw malformed(`the ${what} names "${duplicate}" twice`);
  return value as Record<string, unknown>;
}

function checkHeader(header: Record<string, unknown>): void {
  if (header.alg !== LICENSE_ALG)
    throw new LicensorError(
      'UNSUPPORTED_ALGORITHM',
      `license keys are signed with EdDSA (Ed25519); "alg" ${JSON.stringify(header.alg) ?? 'is missing'} is not accepted`,
    );
  // No extension is understood, so a critical one must be refused (RFC 7515 §4.1.11); b64 would
  // change what was signed (RFC 7797).
  if (header.crit !== undefined || header.b64 !== undefined)
    throw new LicensorError('UNSUPPORTED_KEY_HEADER', 'the "crit" and "b64" headers are not supported');
  if (header.typ !== undefined) {
    const typ = typeof header.typ === 'string' ? header.typ.toLowerCase() : '';
    if (typ !== LICENSE_TYP && typ !== `application/${LICENSE_TYP}`)
      throw new LicensorError('UNSUPPORTED_KEY_HEADER', `"typ" must be "${LICENSE_TYP}"`);
  }
  if (header.kid !== undefined && typeof header.kid !== 'string')
    throw new LicensorError('UNSUPPORTED_KEY_HEADER', '"kid" must be a string');
}

/**
 * Verifies a license key: compact JWS, EdDSA only, signed by a trusted key, within the size limits
 * (KEY_LIMITS), claims valid. Every refusal is a LicensorError with its own code; nothing about the
 * key is trusted before the signature is checked except what is needed to find the key. Time rules are the caller's
 * (see checkKeyTimes), so a key can be inspected whatever the clock says.
 */
export function verifyLicenseKey(licenseKey: string, ring: KeyRing): VerifiedLicenseKey {
  if (licenseKey.length === 0) throw malformed('the license key is empty');
  if (licenseKey.length > MAX_LICENSE_KEY_LENGTH)
    throw malformed(`the license key is longer than ${MAX_LICENSE_KEY_LENGTH} characters`);
  const segments = licenseKey.split('.');
  if (segments.length !== 3)
    throw malformed(`a license key is a compact JWS of 3 segments, this has ${segments.length}`);
  const [headerB64, payloadB64, signatureB64] = segments as [string, string, string];

  const header = decodeJsonSegment(headerB64, 'header');
  checkHeader(header);

  const signature = base64urlDecode(signatureB64);
  if (!signature) throw malformed('the signature is not canonical base64url');
  if (payloadB64.length === 0) throw malformed('the payload is empty');

  const kid = header.kid as string | undefined;
  const candidates = kid === undefined ? ring.keys : [ring.get(kid)].filter((k) => k !== undefined);
  if (ring.keys.length === 0)
    throw new LicensorError(
      'UNTRUSTED_ISSUER',
      'this server trusts no issuer key yet; set LICENSOR_TRUSTED_KEYS to the issuer public key',
    );
  if (candidates.length === 0)
    throw new LicensorError(
      'UNTRUSTED_ISSUER',
      `the key was signed by an issuer key this server does not trust (kid ${kid})`,
    );

  const signingInput = Buffer.from(`${headerB64}.${payloadB64}`, 'ascii');
  const signer =
    signature.length === ED25519_SIGNATURE_BYTES
      ? candidates.find((c) => verify(null, signingInput, c.key, signature))
      : undefined;
  if (!signer) throw new LicensorError('INVALID_SIGNATURE', 'the signature does not verify');

  const payload = decodeJsonSegment(payloadB64, 'payload');
  // Before the claims are read, and before the caller stores anything.
  checkLicenseKeyLimits(payload);
  return { header, payload, claims: parseLicenseClaims(payload), kid: signer.kid };
}

/**
 * Decodes a key without trusting it, for `licensor inspect`: header and payload as far as they
 * parse. Never use the result to grant anything.
 */
export function decodeLicenseKeyUnverified(licenseKey: string): {
  header: Record<string, unknown>;
  payload: Record<string, unknown>;
} {
  if (licenseKey.length > MAX_LICENSE_KEY_LENGTH)
    throw malformed(`the license key is longer than ${MAX_LICENSE_KEY_LENGTH} characters`);
  const segments = licenseKey.split('.');
  if (segments.length !== 3)
    throw malformed(`a license key is a compact JWS of 3 segments, this has ${segments.length}`);
  return {
    header: decodeJsonSegment(segments[0] as string, 'header'),
    payload: decodeJsonSegment(segments[1] as string, 'payload'),
  };
}

/** Signs a license payload as `licensor issue` does: EdDSA, typ license+jws, kid = thumbprint. */
export function signLicenseKey(
  payload: Record<string, unknown>,
  privateKey: KeyObject,
  publicKey: KeyObject,
): string {
  return signCompactJws(
    { alg: LICENSE_ALG, typ: LICENSE_TYP, kid: thumbprint(publicKey) },
    payload,
    privateKey,
  );
}

/**
 * The one compact JWS encoder (RFC 7515): header and payload as JSON, base64url, signed with
 * Ed25519. License keys and the instance's documents (instance-signer.ts) both use it.
 */
export function signCompactJws(
  header: Record<string, unknown>,
  payload: Record<string, unknown>,
  privateKey: KeyObject,
): string {
  const signingInput = `${base64urlEncode(JSON.stringify(header))}.${base64urlEncode(JSON.stringify(payload))}`;
  const signature = sign(null, Buffer.from(signingInput, 'ascii'), privateKey);
  return `${signingInput}.${base64urlEncode(signature)}`;
}

/**
 * Everything POST /admin/license checks before storing: the signature and claims, then the time
 * rules at `now` (expired, created in the future). The dry run (POST /admin/license/validate) takes
 * the same two steps apart, verifyLicenseKey then additionImpact's checkKeyTimes, so it can still
 * describe an expired key: a check added here belongs there too.
 */
export function verifyLicenseKeyForAdd(licenseKey: string, ring: KeyRing, now: Date): VerifiedLicenseKey {
  const verified = verifyLicenseKey(licenseKey, ring);
  checkKeyTimes(verified.claims, now);
  return verified;
}
