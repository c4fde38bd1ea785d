import { createHash, randomBytes } from 'node:crypto';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { LicensorError } from '../domain/errors.js';
import { grants, type Permission } from '../domain/permissions.js';
import type { Store, TokenRecord } from '../store/store.js';
import type { AuthFailureLimiter } from './auth-failure-limiter.js';
import { documentPageErrors, strictQueryIntegers } from './paging.js';

/** Who may call a route. Every route declares one; a route without is refused at startup. */
export type Access = 'public' | 'token' | Permission;

declare module 'fastify' {
  interface FastifyContextConfig {
    access?: Access;
  }
  interface FastifyRequest {
    /** The token the request authenticated with; null on public routes. */
    principal: TokenRecord | null;
  }
  interface FastifyInstance {
    /** Every route the app registered, with the access it declared; for tests and docs. */
    readonly accessTable: readonly RouteAccess[];
  }
}

export interface RouteAccess {
  method: string;
  url: string;
  access: Access;
  /** Left out of the OpenAPI document (`schema.hide`). */
  hidden: boolean;
}

/** A new random token secret: 256 bits, URL-safe, with a prefix that makes leaks easy to scan for. */
export function generateTokenSecret(): string {
  return `lsr_${randomBytes(32).toString('base64url')}`;
}

/**
 * Tokens are stored only as SHA-256 hashes. Secrets are long and random, so a plain hash is enough
 * (no password stretching needed), and looking up by hash means no secret is ever compared byte by
 * byte against a stored one: the timing of the lookup says nothing about the secret.
 */
export function hashTokenSecret(secret: string): string {
  return createHash('sha256').update(secret, 'utf8').digest('hex');
}

const BEARER = /^Bearer +([\x21-\x7e]{1,512}) *$/i;

/**
 * Authorization headers of tokens that authenticated lately, with the hashes of their secrets, so
 * that a client's every request neither parses its header nor hashes its secret again (the header
 * decides the secret, so the header decides the hash). Only headers whose token matched get in,
 * so a flood of bad tokens cannot fill it; a revoked token's entry is harmless, since its hash
 * finds no token. Secrets are in this process's memory whenever a request carries them anyway
 * (docs/security.md).
 */
const HASH_CACHE_SIZE = 1024;

class SecretHashes {
  readonly #hashes = new Map<string, string>();

  /** The hash of the secret `header` presents, when it authenticated lately. */
  known(header: string): string | undefined {
    return this.#hashes.get(header);
  }

  remember(header: string, hash: string): void {
    if (this.#hashes.has(header)) return;
    if (this.#hashes.size >= HASH_CACHE_SIZE) this.#hashes.clear();
    this.#hashes.set(header, hash);
  }
}

/** The secret an Authorization header presents, or why it presents none. */
function bearerSecret(header: string): { secret: string } | string {
  const match = BEARER.exec(header);
  if (!match) return 'the Authorization header is not "Bearer <token>"';
  return { secret: match[1] as string };
}

/**
 * Checks every request against its route's declared access, first thing: before the body is read
 * or validated, so an anonymous caller learns nothing about what a route accepts.
 */
export function registerAuth(app: FastifyInstance, store: Store, limiter?: AuthFailureLimiter): void {
  app.decorateRequest('principal', null);
  const table: RouteAccess[] = [];
  app.decorate('accessTable', table);
  app.addHook('onRoute', (route) => {
    const access = route.config?.access;
    if (access === undefined)
      throw new Error(`route ${String(route.method)} ${route.url} declares no access (config.access)`);
    const hidden = route.schema?.hide === true;
    for (const method of [route.method].flat()) table.push({ method, url: route.url, access, hidden });
  });
  // This is the hook that sees every route as it is added, before its schema is compiled.
  app.addHook('onRoute', documentPageErrors);
  app.addHook('onRoute', strictQueryIntegers);
  const hashes = new SecretHashes();
  // Decides a request once its token is known. The token is looked up first: a valid token is
  // served whatever its address has done (one bad script behind a shared proxy address must not
  // lock everyone out). Only a request that fails is counted, and it is checked and counted in one
  // synchronous step after the lookup, so concurrent failures cannot all pass a check made before
  // any of them was counted.
  const decide = (
    request: FastifyRequest,
    access: Exclude<Access, 'public'>,
    token: TokenRecord | string,
  ): LicensorError | null => {
    if (typeof token === 'string') {
      const retryAfter = limiter?.recordFailure(request.ip) ?? 0;
      if (retryAfter > 0)
        return new LicensorError(
          'RATE_LIMITED',
          `too many failed authentications from ${request.ip}; try again later`,
          {
            retryAfterSeconds: retryAfter,
          },
        );
      return new LicensorError('UNAUTHORIZED', token);
    }
    request.principal = token;
    if (access !== 'token' && !grants(token.permissions, access))
      return new LicensorError('FORBIDDEN', `this token lacks the ${access} permission`);
    return null;
  };
  const UNKNOWN = 'the token is unknown or revoked';
  const NO_TOKEN = 'send a token as "Authorization: Bearer <token>"';
  // What the token looked up by the hash of the header's secret decides (defined once, not a
  // closure per request).
  const found = (
    request: FastifyRequest,
    access: Exclude<Access, 'public'>,
    header: string,
    hash: string,
    token: TokenRecord | null | undefined,
  ): LicensorError | undefined => {
    if (token == null) return decide(request, access, UNKNOWN) ?? undefined;
    hashes.remember(header, hash);
    return decide(request, access, token) ?? undefined;
  };
  // A callback hook, not an async one: a token the snapshot holds is decided without a promise.
  app.addHook('onRequest', (request, _reply, done) => {
    const access = request.routeOptions.config.access;
    // Only the not-found handler has no access: onRoute refuses every route without one.
    if (access === 'public' || access === undefined) {
      done();
      return;
    }
    const header = request.headers.authorization;
    if (header === undefined) {
      done(decide(request, access, NO_TOKEN) ?? undefined);
      return;
    }
    let hash = hashes.known(header);
    if (hash === undefined) {
      const presented = bearerSecret(header);
      if (typeof presented === 'string') {
        done(decide(request, access, presented) ?? undefined);
        return;
      }
      hash = hashTokenSecret(presented.secret);
    }
    const current = store.currentToken(hash);
    if (current !== undefined) {
      done(found(request, access, header, hash, current));
      return;
    }
    const presentedHash = hash;
    store.findTokenByHash(hash).then(
      (token) => done(found(request, access, header, presentedHash, token)),
      (err: unknown) => done(err instanceof Error ? err : new Error(String(err))),
    );
  });
}
