/**
 * `licensor/client`: a typed client for the Licensor HTTP API, for Node 20 and browsers.
 *
 * ```ts
 * import { LicensorClient, LicensorApiError } from 'licensor/client';
 * const client = new LicensorClient({ baseUrl: 'http://127.0.0.1:8080', token });
 * try {
 *   const status = await client.licenseStatus();
 * } catch (err) {
 *   if (err instanceof LicensorApiError && err.code === 'UNAUTHORIZED') ...
 * }
 * ```
 */
export { LicensorClient, type LicensorClientOptions } from './licensor-client.js';
export {
  isLicensorApiError,
  isLicensorConnectionError,
  LicensorApiError,
  LicensorConnectionError,
  type ClientProblemCode,
} from './client-error.js';
export type * from './types.js';
export {
  EntitlementsGuard,
  EntitlementsGuardError,
  verifySignedEntitlements,
  type DecisionSource,
  type EntitlementsGuardOptions,
  type GuardDecision,
} from './entitlements-guard.js';
