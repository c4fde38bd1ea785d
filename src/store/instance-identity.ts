import { generateKeyPairSync, randomUUID } from 'node:crypto';

/** One Ed25519 key pair of the instance identity, as stored (docs/instance-identity.md). */
export interface InstanceKeyRecord {
  /** PKCS #8 PEM. It never leaves the store except to sign. */
  privateKeyPem: string;
  /** The public key's `x` (base64url, RFC 8037). */
  publicX: string;
  createdAt: Date;
}

/**
 * Who this installation is: one id and its signing keys, shared by every instance on one database.
 * The newest key signs; every stored key is published, so documents signed by an older one still
 * verify until it is removed (docs/instance-identity.md#rotation).
 */
export interface InstanceIdentity {
  instanceId: string;
  createdAt: Date;
  /** Oldest first; never empty. */
  keys: InstanceKeyRecord[];
}

/** A candidate identity for a store that has none yet: only one candidate is ever kept. */
export function newInstanceIdentity(now: Date): {
  instanceId: string;
  createdAt: Date;
  key: InstanceKeyRecord;
} {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  const x = publicKey.export({ format: 'jwk' }).x;
  if (x === undefined) throw new Error('an Ed25519 public key exports no "x"');
  return {
    instanceId: randomUUID(),
    createdAt: now,
    key: {
      privateKeyPem: privateKey.export({ format: 'pem', type: 'pkcs8' }).toString(),
      publicX: x,
      createdAt: now,
    },
  };
}
