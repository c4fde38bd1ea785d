/**
 * Request and response types of the HTTP API, derived from the wire contract's schemas (src/api),
 * the ones the server validates with. Only types are imported (erased at build time), so a browser
 * bundle of the client pulls in neither the schemas nor any server code.
 */
import type { Static } from 'typebox';
import type { ProblemCode } from '../api/common-schemas.js';
import type {
  AddLicenseBody as AddLicenseBodySchema,
  License as LicenseSchema,
  LicenseImpact as LicenseImpactSchema,
  LicenseListItem as LicenseListItemSchema,
  LicenseStatus as LicenseStatusSchema,
  Upcoming as UpcomingSchema,
} from '../api/license-schemas.js';
import type { SeatSettings as SeatSettingsSchema } from '../api/settings-schemas.js';
import type {
  Usage as UsageSchema,
  UsageHistory as UsageHistorySchema,
  UsageHistoryQuery as UsageHistoryQuerySchema,
  UsageQuery as UsageQuerySchema,
} from '../api/usage-schemas.js';
import type {
  CreateUserBody as CreateUserBodySchema,
  DisableInactiveBody as DisableInactiveBodySchema,
  DisableInactiveResult as DisableInactiveResultSchema,
  UpdateUserBody as UpdateUserBodySchema,
  User as UserSchema,
  UserList as UserListSchema,
  UserListQuery as UserListQuerySchema,
} from '../api/user-schemas.js';
import type { EventPage as EventPageSchema } from '../api/event-schemas.js';
import type {
  CreatedWebhook as CreatedWebhookSchema,
  CreateWebhookBody as CreateWebhookBodySchema,
  DeliveryPage as DeliveryPageSchema,
  PatchWebhookBody as PatchWebhookBodySchema,
  QueuedPing as QueuedPingSchema,
  Webhook as WebhookSchema,
} from '../api/webhook-schemas.js';

/** POST and DELETE /admin/license, GET /admin/license/{id}: every field, the key included. */
export type License = Static<typeof LicenseSchema>;
/** GET /admin/license items: never the license key. */
export type LicenseListItem = Static<typeof LicenseListItemSchema>;
export type LicenseState = License['state'];
export type LicenseStatus = Static<typeof LicenseStatusSchema>;
export type AddLicenseBody = Static<typeof AddLicenseBodySchema>;
/** POST /admin/license/validate and DELETE /admin/license/{id}?dryRun=true: what would change. */
export type LicenseImpact = Static<typeof LicenseImpactSchema>;
/** GET /admin/license/upcoming: what changes by itself ahead. */
export type UpcomingLicenseChanges = Static<typeof UpcomingSchema>;

/** GET and PUT /admin/settings/seats. */
export type SeatSettings = Static<typeof SeatSettingsSchema>;

export type Usage = Static<typeof UsageSchema>;
export type UsageUser = Usage['users'][number];
export type UsageHistory = Static<typeof UsageHistorySchema>;

export type User = Static<typeof UserSchema>;
export type UserType = User['userType'];
export type UserList = Static<typeof UserListSchema>;
export type CreateUserBody = Static<typeof CreateUserBodySchema>;
export type UpdateUserBody = Static<typeof UpdateUserBodySchema>;
/** POST /admin/users/disable-inactive: `dryRun` defaults to false. */
export type DisableInactiveBody = Omit<Static<typeof DisableInactiveBodySchema>, 'dryRun'> & {
  dryRun?: boolean;
};
export type DisableInactiveResult = Static<typeof DisableInactiveResultSchema>;

/** Paging: both have server defaults (offset 0, size 10), so both are optional here. */
export type PageQuery = Partial<Static<typeof UsageQuerySchema>>;
export type UserListQuery = Partial<Static<typeof UserListQuerySchema>>;
export type UsageHistoryQuery = Static<typeof UsageHistoryQuerySchema>;

/** Every problem code the API answers with (docs/errors.md). */
export type { ProblemCode };

/** The RFC 9457 body of every refusal. */
export interface Problem {
  type: string;
  title: string;
  status: number;
  detail: string;
  code: ProblemCode;
  requestId?: string;
}

/*
 * The schemas below are declared inline in their route files (admin-routes.ts, host-routes.ts,
 * meta-routes.ts) and not exported, so they are restated here. test/cli/client.test.ts checks each
 * one's field list against what the server really sends, so a drift fails a test.
 */

export type Permission = 'APPLICATION_ADMIN' | 'USER_ADMIN';

/** GET /admin/tokens items (never their secrets). */
export interface Token {
  id: number;
  name: string;
  permissions: Permission[];
  createdAt: string;
  revokedAt: string | null;
  /** The administrator token from LICENSOR_ADMIN_TOKEN or first start. */
  bootstrap: boolean;
}

/** POST /admin/tokens: the token and its secret, shown only in this response. */
export interface CreatedToken extends Token {
  secret: string;
}

export interface CreateTokenBody {
  name: string;
  permissions: Permission[];
}

export interface AuditEntry {
  id: number;
  at: string;
  actorTokenId: number | null;
  actorName: string | null;
  /** e.g. license.add, user.create, GET /admin/license */
  action: string;
  /** e.g. license:3 */
  target: string | null;
  /** The target's name when the change was made, e.g. the user's userid; null for refusals. */
  targetName: string | null;
  outcome: 'success' | 'refused';
  /** The problem code of a refusal. */
  code: string | null;
  clientAddress: string;
}

/** GET /admin/audit filters; all optional, combined with AND. */
export interface AuditQuery extends PageQuery {
  action?: string;
  /** The token name. */
  actor?: string;
  outcome?: 'success' | 'refused';
  /** ISO 8601 instants: at or after `from`, before `to`. */
  from?: string;
  to?: string;
}

/** GET /admin/audit, newest first. */
export interface AuditPage {
  offset: number;
  size: number;
  total: number;
  entries: AuditEntry[];
}

/** GET /license/notices (public). */
export interface Notices {
  notices: { kind: 'notice' | 'noticeOnExpire'; text: string }[];
}

/** GET /license/entitlements (any valid token). */
export interface Entitlements {
  features: Record<string, { enabled: boolean }>;
  /** The data handlers covered, NAME -> description: the same shape as in licenseStatus. */
  handlers: Record<string, Record<string, unknown>>;
  canAddUser: boolean;
  dataAccessBlocked: boolean;
  /** Licenses in force in their grace after expiry: the earliest end of grace and their uuids. */
  grace: { until: string; licenses: string[] } | null;
}

export interface Health {
  status: 'ok';
}

export interface Readiness {
  status: 'ready';
  store: string;
}

/** An instance public key (RFC 8037 JWK), as GET /admin/instance and the JWKS publish it. */
export interface InstancePublicKey {
  kty: 'OKP';
  crv: 'Ed25519';
  x: string;
  kid?: string;
  alg?: 'EdDSA';
  use?: 'sig';
}

/** GET /admin/instance (any valid token). */
export interface Instance {
  instanceId: string;
  kid: string;
  publicKey: InstancePublicKey;
  createdAt: string;
}

/** The payload of GET /license/entitlements.jws, once verified. */
export interface SignedEntitlements extends Entitlements {
  instanceId: string;
  /** Issued at, in seconds since the epoch. */
  iat: number;
  /** Valid until, in seconds since the epoch: after it the copy is not used. */
  exp: number;
  nonce: string;
}

/** GET /admin/events, newest first (docs/events.md). */
export type EventPage = Static<typeof EventPageSchema>;
export interface EventQuery extends PageQuery {
  type?: string;
}
/** GET /admin/webhooks items: never the secret. */
export type Webhook = Static<typeof WebhookSchema>;
/** POST /admin/webhooks: the endpoint and its signing secret, shown only in this response. */
export type CreatedWebhook = Static<typeof CreatedWebhookSchema>;
export type CreateWebhookBody = Static<typeof CreateWebhookBodySchema>;
export type UpdateWebhookBody = Static<typeof PatchWebhookBodySchema>;
/** POST /admin/webhooks/{id}/test: the ping queued. */
export type QueuedPing = Static<typeof QueuedPingSchema>;
/** GET /admin/webhooks/{id}/deliveries, newest first. */
export type WebhookDeliveryPage = Static<typeof DeliveryPageSchema>;
