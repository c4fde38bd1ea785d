import { LicensorError } from './errors.js';

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
