import type { Registry } from 'prom-client';
import type { Clock } from '../domain/clock.js';
import type { InstanceSigner } from '../keys/instance-signer.js';
import type { KeyRing } from '../keys/key-ring.js';
import type { Store } from '../store/store.js';

/**
 * What every route plugin is registered with (docs/architecture.md). A module of its own, so the
 * route plugins and app.ts, which registers them, do not import each other.
 */
export interface AppContext {
  store: Store;
  /** Prometheus registry of this app (set by buildApp). */
  metrics?: Registry;
  keyRing: KeyRing;
  clock: Clock;
  activityWindowDays: number;
  /** Signs the instance's documents (docs/instance-identity.md); set by buildApp from the store. */
  instance: InstanceSigner;
  /** How long a signed entitlements copy is valid (LICENSOR_ENTITLEMENTS_TTL_SECONDS). */
  entitlementsTtlSeconds: number;
  /** Whether the server is draining after SIGTERM: readiness then says so (set by server.ts). */
  draining?: () => boolean;
}
