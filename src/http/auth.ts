import { createHash, randomBytes } from 'node:crypto';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { LicensorError } from '../domain/errors.js';
import { grants, type Permission } from '../domain/permissions.js';
import type { Store, TokenRecord } from '../store/store.js';

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

async function authenticate(request: FastifyRequest, store: Store): Promise<TokenRecord> {
  const header = request.headers.authorization;
  if (header === undefined)
    throw new LicensorError('UNAUTHORIZED', 'send a token as "Authorization: Bearer <token>"');
  const match = BEARER.exec(header);
  if (!match) throw new LicensorError('UNAUTHORIZED', 'the Authorization header is not "Bearer <token>"');
  const token = await store.findTokenByHash(hashTokenSecret(match[1] as string));
  if (!token) throw new LicensorError('UNAUTHORIZED', 'the token is unknown or revoked');
  return token;
}

/**
 * Checks every request against its route's declared access, first thing: before the body is read
 * or validated, so an anonymous caller learns nothing about what a route accepts.
 */
export function registerAuth(app: FastifyInstance, store: Store): void {
  app.decorateRequest('principal', null);
  app.addHook('onRoute', (route) => {
    if (route.config?.access === undefined)
      throw new Error(`route ${String(route.method)} ${route.url} declares no access (config.access)`);
  });
  app.addHook('onRequest', async (request) => {
    const access = request.routeOptions.config.access;
    // Only the not-found handler has no access: onRoute refuses every route without one.
    if (access === 'public' || access === undefined) return;
    const token = await authenticate(request, store);
    request.principal = token;
    if (access !== 'token' && !grants(token.permissions, access))
      throw new LicensorError('FORBIDDEN', `this token lacks the ${access} permission`);
  });
}
