import { LicensorError } from './errors.js';
import type { Permission } from './permissions.js';

/** The token LICENSOR_ADMIN_TOKEN's secret belongs to, as every store creates it (docs/auth.md#the-first-administrator-token). */
export function bootstrapToken(hash: string): { name: string; hash: string; permissions: Permission[] } {
  return { name: 'bootstrap administrator', hash, permissions: ['APPLICATION_ADMIN'] };
}

/**
 * The rule for LICENSOR_ADMIN_TOKEN, given the stored token that already has its secret (if any):
 * a revoked secret stays revoked. An administrator who revoked a leaked token must not see it come
 * back because the old secret is still in a deployment's environment; the server refuses to start
 * and asks for a new secret instead.
 */
export function checkBootstrapSecret(existing: { bootstrap: boolean; revoked: boolean } | undefined): void {
  if (existing?.revoked)
    throw new LicensorError(
      'TOKEN_REVOKED',
      'LICENSOR_ADMIN_TOKEN is the secret of a revoked token; set a new secret to get in again',
    );
  if (existing && !existing.bootstrap)
    throw new LicensorError(
      'TOKEN_REVOKED',
      'LICENSOR_ADMIN_TOKEN is the secret of another token; set a new secret',
    );
}

/**
 * Whether token `id` may be revoked, given every live (not revoked) token: TOKEN_NOT_FOUND when it
 * is not among them, LAST_ADMIN_TOKEN when it is the only live APPLICATION_ADMIN token, since no
 * token could then manage licenses or tokens again (docs/auth.md#the-last-administrator-token
 * says how to get back in). A store calls this inside the transaction that revokes, with the live
 * tokens read under its lock, so two concurrent revokes of the last two cannot both pass.
 */
export function planRevokeToken<T extends { id: number; permissions: readonly string[] }>(
  id: number,
  liveTokens: readonly T[],
): T {
  const token = liveTokens.find((t) => t.id === id);
  if (token === undefined) throw new LicensorError('TOKEN_NOT_FOUND', `no live token with id ${id}`);
  const isAdmin = (t: T): boolean => t.permissions.includes('APPLICATION_ADMIN');
  if (isAdmin(token) && !liveTokens.some((t) => t.id !== id && isAdmin(t)))
    throw new LicensorError(
      'LAST_ADMIN_TOKEN',
      `token ${id} is the last live APPLICATION_ADMIN token; create another administrator token first (licensor tokens create NAME --permission APPLICATION_ADMIN)`,
    );
  return token;
}
