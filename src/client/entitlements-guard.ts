import type { LicensorClient } from './licensor-client.js';
import type { InstancePublicKey, SignedEntitlements } from './types.js';

/**
 * Keeps a host product's licensing decisions going while Licensor is unreachable
 * (docs/host-products.md): it fetches the entitlements signed by the instance with a fresh random
 * nonce, verifies them against a pinned instance public key with WebCrypto Ed25519 (no
 * dependencies: Node 20+ and browsers), checks the nonce and `exp`, keeps the last verified copy
 * (in memory, and in a file when asked) and refreshes it in the background before it expires.
 * Once `exp` has passed with no fresh copy it fails closed: no feature, no new user, data access
 * blocked.
 */

/** Where a decision came from: a copy the last refresh fetched, an older copy, or none (closed). */
export type DecisionSource = 'fresh' | 'cached' | 'none';

export interface GuardDecision {
  value: boolean;
  source: DecisionSource;
  /** When the copy the decision came from expires; null when there is none. */
  expiresAt: Date | null;
}

export interface EntitlementsGuardOptions {
  client: LicensorClient;
  /**
   * The pinned instance public key(s), from GET /admin/instance or the JWKS, taken when the host
   * product was set up (never fetched at run time: a key fetched from the server it checks proves
   * nothing). Pin the new key beside the old one during a rotation.
   */
  instanceKeys: InstancePublicKey | readonly InstancePublicKey[];
  /** When given, a copy from another instance is refused. */
  instanceId?: string | undefined;
  /** A file (Node only) that keeps the last verified copy across restarts; checked again on load. */
  cacheFile?: string | undefined;
  /** Wait this long before trying again after a failed refresh; 30 s by default. */
  retryMs?: number | undefined;
  /** The time in ms since the epoch; Date.now by default (tests pass their own). */
  now?: (() => number) | undefined;
  /** Told of each refused or failed refresh; the guard keeps its copy meanwhile. */
  onError?: ((error: Error) => void) | undefined;
}

/** Why a copy was refused. */
export class EntitlementsGuardError extends Error {
  override readonly name = 'EntitlementsGuardError';
}

const TYP = 'entitlements+jws';

function decodeBase64url(text: string): Uint8Array<ArrayBuffer> {
  if (!/^[A-Za-z0-9_-]*$/.test(text) || text.length % 4 === 1)
    throw new EntitlementsGuardError('not base64url');
  const binary = atob(text.replace(/-/g, '+').replace(/_/g, '/'));
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}

function encodeBase64url(bytes: Uint8Array): string {
  let binary = '';
  for (const b of bytes) binary += String.fromCharCode(b);
  return btoa(binary).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

function decodeJson(segment: string, what: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(decodeBase64url(segment)));
  } catch {
    throw new EntitlementsGuardError(`the ${what} is not base64url JSON`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw new EntitlementsGuardError(`the ${what} is not a JSON object`);
  return value as Record<string, unknown>;
}

function isEntitlements(p: Record<string, unknown>): p is Record<string, unknown> & SignedEntitlements {
  const features = p.features;
  return (
    typeof features === 'object' &&
    features !== null &&
    Object.values(features).every((f) => typeof (f as { enabled?: unknown })?.enabled === 'boolean') &&
    typeof p.handlers === 'object' &&
    p.handlers !== null &&
    !Array.isArray(p.handlers) &&
    typeof p.canAddUser === 'boolean' &&
    typeof p.dataAccessBlocked === 'boolean' &&
    typeof p.instanceId === 'string' &&
    Number.isSafeInteger(p.iat) &&
    Number.isSafeInteger(p.exp) &&
    typeof p.nonce === 'string'
  );
}

/**
 * Verifies a signed entitlements copy: EdDSA and `typ entitlements+jws`, a signature by one of
 * `keys`, the expected instance, not expired at `nowMs`, and the nonce when one is expected.
 * Throws EntitlementsGuardError naming the failed check.
 */
export async function verifySignedEntitlements(
  jws: string,
  keys: readonly InstancePublicKey[],
  check: { nowMs: number; nonce?: string | undefined; instanceId?: string | undefined },
): Promise<SignedEntitlements> {
  const segments = jws.trim().split('.');
  if (segments.length !== 3) throw new EntitlementsGuardError('not a compact JWS');
  const [headerB64, payloadB64, signatureB64] = segments as [string, string, string];
  const header = decodeJson(headerB64, 'header');
  if (header.alg !== 'EdDSA' || header.typ !== TYP)
    throw new EntitlementsGuardError(`not an EdDSA ${TYP} document`);
  if (header.crit !== undefined || header.b64 !== undefined)
    throw new EntitlementsGuardError('the "crit" and "b64" headers are not supported');
  const signature = decodeBase64url(signatureB64);
  const input = new TextEncoder().encode(`${headerB64}.${payloadB64}`);
  let verified = false;
  for (const jwk of keys) {
    const key = await crypto.subtle.importKey(
      'jwk',
      { kty: 'OKP', crv: 'Ed25519', x: jwk.x },
      { name: 'Ed25519' },
      false,
      ['verify'],
    );
    if (await crypto.subtle.verify({ name: 'Ed25519' }, key, signature, input)) {
      verified = true;
      break;
    }
  }
  if (!verified) throw new EntitlementsGuardError('the signature is not by a pinned instance key');
  const payload = decodeJson(payloadB64, 'payload');
  if (!isEntitlements(payload)) throw new EntitlementsGuardError('the payload is not signed entitlements');
  if (check.instanceId !== undefined && payload.instanceId !== check.instanceId)
    throw new EntitlementsGuardError('the copy comes from another instance');
  if (check.nonce !== undefined && payload.nonce !== check.nonce)
    throw new EntitlementsGuardError('the nonce is not the one sent: a replayed copy');
  if (payload.exp * 1000 <= check.nowMs) throw new EntitlementsGuardError('the copy has expired');
  return payload;
}

function freshNonce(): string {
  return encodeBase64url(crypto.getRandomValues(new Uint8Array(16)));
}

export class EntitlementsGuard {
  readonly #client: LicensorClient;
  readonly #keys: readonly InstancePublicKey[];
  readonly #instanceId: string | undefined;
  readonly #cacheFile: string | undefined;
  readonly #retryMs: number;
  readonly #now: () => number;
  readonly #onError: (error: Error) => void;
  #copy: { jws: string; entitlements: SignedEntitlements } | undefined;
  /** Whether the copy in use came from the last refresh, which succeeded. */
  #fresh = false;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #stopped = true;

  constructor(options: EntitlementsGuardOptions) {
    const keys = Array.isArray(options.instanceKeys)
      ? (options.instanceKeys as readonly InstancePublicKey[])
      : [options.instanceKeys as InstancePublicKey];
    if (
      keys.length === 0 ||
      keys.some((k) => k.kty !== 'OKP' || k.crv !== 'Ed25519' || typeof k.x !== 'string')
    )
      throw new TypeError('instanceKeys must be Ed25519 public JWKs (kty OKP, crv Ed25519, x)');
    this.#client = options.client;
    this.#keys = keys;
    this.#instanceId = options.instanceId;
    this.#cacheFile = options.cacheFile;
    this.#retryMs = options.retryMs ?? 30_000;
    // The published client cannot import the server's Clock: `now` is this guard's clock.
    // eslint-disable-next-line no-restricted-properties
    this.#now = options.now ?? (() => Date.now());
    this.#onError = options.onError ?? (() => undefined);
  }

  /** The verified copy in use, while it has not expired. */
  get current(): SignedEntitlements | undefined {
    const copy = this.#copy;
    return copy && copy.entitlements.exp * 1000 > this.#now() ? copy.entitlements : undefined;
  }

  /**
   * Loads the cached file (when there is one and it still verifies), refreshes once, and keeps
   * refreshing in the background until stop(). Resolves even when the server is unreachable.
   */
  async start(): Promise<void> {
    this.#stopped = false;
    await this.#loadFile();
    await this.refresh();
  }

  stop(): void {
    this.#stopped = true;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  /**
   * Fetches a copy with a fresh nonce and keeps it when it verifies. Returns whether it did; on a
   * failure the previous copy stays (now answering as "cached") and onError is told why.
   */
  async refresh(): Promise<boolean> {
    const nonce = freshNonce();
    let ok = false;
    try {
      const jws = await this.#client.signedEntitlements(nonce);
      const entitlements = await verifySignedEntitlements(jws, this.#keys, {
        nowMs: this.#now(),
        nonce,
        instanceId: this.#instanceId,
      });
      this.#copy = { jws, entitlements };
      this.#fresh = true;
      ok = true;
      await this.#saveFile(jws);
    } catch (err) {
      if (!ok) this.#fresh = false;
      this.#onError(err instanceof Error ? err : new Error(String(err)));
    }
    this.#schedule(ok);
    return ok;
  }

  isEnabled(feature: string): GuardDecision {
    return this.#decide(
      (e) => Object.hasOwn(e.features, feature) && e.features[feature]?.enabled === true,
      false,
    );
  }

  canAddUser(): GuardDecision {
    return this.#decide((e) => e.canAddUser, false);
  }

  /** `value` true: data access is blocked. With no valid copy it is (fail closed). */
  dataAccessBlocked(): GuardDecision {
    return this.#decide((e) => e.dataAccessBlocked, true);
  }

  #decide(read: (e: SignedEntitlements) => boolean, closed: boolean): GuardDecision {
    const current = this.current;
    if (!current) return { value: closed, source: 'none', expiresAt: null };
    return {
      value: read(current),
      source: this.#fresh ? 'fresh' : 'cached',
      expiresAt: new Date(current.exp * 1000),
    };
  }

  /** Next refresh: halfway through the copy's life after a success, retryMs after a failure. */
  #schedule(succeeded: boolean): void {
    if (this.#stopped) return;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    const copy = this.#copy?.entitlements;
    let delay = this.#retryMs;
    if (succeeded && copy) delay = Math.max(1000, ((copy.exp - copy.iat) * 1000) / 2);
    this.#timer = setTimeout(() => void this.refresh(), delay);
    // In Node, a pending refresh must not keep the host's process alive.
    (this.#timer as { unref?: () => void }).unref?.();
  }

  async #loadFile(): Promise<void> {
    if (this.#cacheFile === undefined) return;
    try {
      const { readFile } = await import('node:fs/promises');
      const jws = await readFile(this.#cacheFile, 'utf8');
      // No nonce to compare: this copy's nonce was checked when it was fetched and saved.
      const entitlements = await verifySignedEntitlements(jws, this.#keys, {
        nowMs: this.#now(),
        instanceId: this.#instanceId,
      });
      this.#copy = { jws, entitlements };
      this.#fresh = false;
    } catch (err) {
      if ((err as { code?: unknown }).code !== 'ENOENT')
        this.#onError(err instanceof Error ? err : new Error(String(err)));
    }
  }

  async #saveFile(jws: string): Promise<void> {
    if (this.#cacheFile === undefined) return;
    const { rename, writeFile } = await import('node:fs/promises');
    const temp = `${this.#cacheFile}.${encodeBase64url(crypto.getRandomValues(new Uint8Array(6)))}.tmp`;
    await writeFile(temp, jws, { mode: 0o600 });
    await rename(temp, this.#cacheFile);
  }
}
