import { createHash, createPublicKey, type JsonWebKey, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { base64urlEncode } from './base64url.js';

/** An issuer public key the server accepts signatures from. */
export interface TrustedKey {
  /** RFC 7638 JWK thumbprint (SHA-256, base64url): what a key's `kid` header names. */
  kid: string;
  key: KeyObject;
  /** Where it was loaded from, for messages. */
  source: string;
}

/** Thrown when a trusted-key file cannot be used; the message names the file and why. */
export class KeyFileError extends Error {
  override readonly name = 'KeyFileError';
}

/** RFC 7638 thumbprint of an Ed25519 public key: SHA-256 over {"crv","kty","x"} in that order. */
export function thumbprint(publicKey: KeyObject): string {
  const jwk = publicKey.export({ format: 'jwk' });
  const canonical = JSON.stringify({ crv: jwk.crv, kty: jwk.kty, x: jwk.x });
  return base64urlEncode(createHash('sha256').update(canonical).digest());
}

function isEd25519Public(key: KeyObject): boolean {
  return key.type === 'public' && key.asymmetricKeyType === 'ed25519';
}

export class KeyRing {
  readonly keys: readonly TrustedKey[];
  readonly #byKid: ReadonlyMap<string, TrustedKey>;

  constructor(keys: readonly TrustedKey[]) {
    this.keys = keys;
    this.#byKid = new Map(keys.map((k) => [k.kid, k]));
  }

  get(kid: string): TrustedKey | undefined {
    return this.#byKid.get(kid);
  }

  static fromPublicKeys(keys: readonly KeyObject[], source = 'memory'): KeyRing {
    return new KeyRing(keys.map((key) => ({ kid: thumbprint(key), key, source })));
  }

  /**
   * Loads PEM SPKI files and JWKS files. A private key, a key of another type or an unreadable
   * file is a KeyFileError: a server that silently trusts less than it was told to is worse than
   * one that refuses to start.
   */
  static fromFiles(paths: readonly string[]): KeyRing {
    const keys = new Map<string, TrustedKey>();
    for (const path of paths) {
      for (const key of loadKeyFile(path)) keys.set(key.kid, key);
    }
    return new KeyRing([...keys.values()]);
  }
}

function loadKeyFile(path: string): TrustedKey[] {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new KeyFileError(`${path}: cannot be read (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
  }
  if (text.includes('PRIVATE KEY'))
    throw new KeyFileError(`${path}: is a private key; trust the public key (issuer.pub) instead`);
  if (text.includes('-----BEGIN')) return [fromPem(path, text)];
  return fromJwks(path, text);
}

function fromPem(path: string, text: string): TrustedKey {
  let key: KeyObject;
  try {
    key = createPublicKey({ key: text, format: 'pem' });
  } catch {
    throw new KeyFileError(`${path}: is not a PEM public key`);
  }
  if (!isEd25519Public(key)) throw new KeyFileError(`${path}: is not an Ed25519 public key`);
  return { kid: thumbprint(key), key, source: path };
}

function fromJwks(path: string, text: string): TrustedKey[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new KeyFileError(`${path}: is neither a PEM public key nor a JWKS JSON file`);
  }
  const list: unknown =
    typeof parsed === 'object' && parsed !== null && 'keys' in parsed ? parsed.keys : undefined;
  if (!Array.isArray(list)) throw new KeyFileError(`${path}: a JWKS file needs a "keys" array`);
  const keys: TrustedKey[] = [];
  for (const jwk of list as unknown[]) {
    if (typeof jwk !== 'object' || jwk === null) continue;
    const { kty, crv, d } = jwk as Record<string, unknown>;
    // Keys of other types may share a JWKS with ours; they can never verify an EdDSA license.
    if (kty !== 'OKP' || crv !== 'Ed25519') continue;
    if (d !== undefined) throw new KeyFileError(`${path}: holds a private key; publish only public keys`);
    let key: KeyObject;
    try {
      key = createPublicKey({ key: jwk as JsonWebKey, format: 'jwk' });
    } catch {
      throw new KeyFileError(`${path}: holds an Ed25519 JWK that is not valid`);
    }
    keys.push({ kid: thumbprint(key), key, source: path });
  }
  if (keys.length === 0) throw new KeyFileError(`${path}: holds no Ed25519 public key`);
  return keys;
}
