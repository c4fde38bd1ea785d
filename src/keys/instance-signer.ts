import { createPrivateKey, createPublicKey, verify, type KeyObject } from 'node:crypto';
import { base64urlDecode } from './base64url.js';
import { KeyRing, thumbprint } from './key-ring.js';
import { LICENSE_ALG, signCompactJws } from './license-jws.js';

/** The identity as the store keeps it (store/instance-identity.ts has the same shape). */
export interface StoredInstanceIdentity {
  instanceId: string;
  createdAt: Date;
  keys: readonly { privateKeyPem: string; publicX: string; createdAt: Date }[];
}

/** A public key as JWKS and /admin/instance publish it (RFC 8037). */
export interface InstancePublicJwk {
  kty: 'OKP';
  crv: 'Ed25519';
  x: string;
  kid: string;
  alg: 'EdDSA';
  use: 'sig';
}

interface SigningKey {
  kid: string;
  privateKey: KeyObject;
  publicKey: KeyObject;
  jwk: InstancePublicJwk;
  createdAt: Date;
}

/** The `typ` of each document the instance signs (docs/instance-identity.md). */
export const USAGE_REPORT_TYP = 'usage-report+jws';
export const ENTITLEMENTS_TYP = 'entitlements+jws';

/**
 * Signs the instance's documents with its newest key and publishes every stored key, so a
 * document signed before a rotation still verifies until its key is removed.
 */
export class InstanceSigner {
  readonly instanceId: string;
  readonly createdAt: Date;
  readonly #keys: readonly SigningKey[];

  constructor(identity: StoredInstanceIdentity) {
    if (identity.keys.length === 0) throw new Error('the instance identity has no key');
    this.instanceId = identity.instanceId;
    this.createdAt = identity.createdAt;
    this.#keys = identity.keys.map((k) => {
      const publicKey = createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: k.publicX }, format: 'jwk' });
      const kid = thumbprint(publicKey);
      return {
        kid,
        publicKey,
        privateKey: createPrivateKey(k.privateKeyPem),
        jwk: { kty: 'OKP', crv: 'Ed25519', x: k.publicX, kid, alg: 'EdDSA', use: 'sig' },
        createdAt: k.createdAt,
      };
    });
  }

  /** The key that signs now: the newest. */
  get current(): { kid: string; jwk: InstancePublicJwk } {
    const key = this.#keys.at(-1) as SigningKey;
    return { kid: key.kid, jwk: key.jwk };
  }

  /** Every published key, newest first. */
  jwks(): { keys: InstancePublicJwk[] } {
    return { keys: this.#keys.map((k) => k.jwk).reverse() };
  }

  /** The public keys, for verifying what this instance signed. */
  keyRing(): KeyRing {
    return new KeyRing(this.#keys.map((k) => ({ kid: k.kid, key: k.publicKey, source: 'instance' })));
  }

  /** A compact JWS of `payload`, header `alg EdDSA`, `typ` and the signing key's `kid`. */
  sign(typ: string, payload: Record<string, unknown>): string {
    const key = this.#keys.at(-1) as SigningKey;
    return signCompactJws({ alg: LICENSE_ALG, typ, kid: key.kid }, payload, key.privateKey);
  }
}

/** Why an instance document does not verify; the message says which check failed. */
export class InstanceDocumentError extends Error {
  override readonly name = 'InstanceDocumentError';
}

function decodeJson(segment: string, what: string): Record<string, unknown> {
  const bytes = base64urlDecode(segment);
  if (!bytes) throw new InstanceDocumentError(`the ${what} is not canonical base64url`);
  let value: unknown;
  try {
    value = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
  } catch {
    throw new InstanceDocumentError(`the ${what} is not UTF-8 JSON`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw new InstanceDocumentError(`the ${what} is not a JSON object`);
  return value as Record<string, unknown>;
}

/**
 * Verifies a compact JWS the instance signed: EdDSA only (never taken from the header's choice of
 * key), the expected `typ`, a `kid` naming one of `ring`'s keys, a signature that verifies. Nothing
 * in the payload is read before the signature is checked.
 */
export function verifyInstanceDocument(
  jws: string,
  ring: KeyRing,
  typ: string,
): { header: Record<string, unknown>; payload: Record<string, unknown>; kid: string } {
  const segments = jws.trim().split('.');
  if (segments.length !== 3) throw new InstanceDocumentError('not a compact JWS of 3 segments');
  const [headerB64, payloadB64, signatureB64] = segments as [string, string, string];
  const header = decodeJson(headerB64, 'header');
  if (header.alg !== LICENSE_ALG) throw new InstanceDocumentError('"alg" is not EdDSA');
  if (header.typ !== typ) throw new InstanceDocumentError(`"typ" is not ${typ}`);
  if (header.crit !== undefined || header.b64 !== undefined)
    throw new InstanceDocumentError('the "crit" and "b64" headers are not supported');
  const key = typeof header.kid === 'string' ? ring.get(header.kid) : undefined;
  if (!key) throw new InstanceDocumentError('signed by a key that is not the instance key given');
  const signature = base64urlDecode(signatureB64);
  const input = Buffer.from(`${headerB64}.${payloadB64}`, 'ascii');
  if (!signature || signature.length !== 64 || !verify(null, input, key.key, signature))
    throw new InstanceDocumentError('the signature does not verify');
  return { header, payload: decodeJson(payloadB64, 'payload'), kid: key.kid };
}
