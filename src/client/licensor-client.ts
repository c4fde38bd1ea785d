import { LicensorApiError, LicensorConnectionError } from './client-error.js';
import type {
  AuditQuery,
  DisableInactiveBody,
  DisableInactiveResult,
  SeatSettings,
  AuditPage,
  CreatedToken,
  CreatedWebhook,
  CreateWebhookBody,
  EventPage,
  EventQuery,
  QueuedPing,
  UpdateWebhookBody,
  Webhook,
  WebhookDeliveryPage,
  CreateTokenBody,
  CreateUserBody,
  Entitlements,
  Health,
  Instance,
  InstancePublicKey,
  License,
  LicenseImpact,
  LicenseListItem,
  LicenseStatus,
  UpcomingLicenseChanges,
  Notices,
  PageQuery,
  ProblemCode,
  Readiness,
  Token,
  UpdateUserBody,
  Usage,
  UsageHistory,
  UsageHistoryQuery,
  User,
  UserList,
  UserListQuery,
} from './types.js';

/** Optional fields that also take `undefined`, so callers can pass through what they may not have. */
type Loose<T> = { [K in keyof T]?: T[K] | undefined };

type FetchLike = (input: string, init: RequestInit) => Promise<Response>;

export interface LicensorClientOptions {
  /** The server's base URL, e.g. http://127.0.0.1:8080 or https://example.com/licensor. */
  baseUrl: string | URL;
  /** A bearer token; public routes (notices, health) work without one. */
  token?: string | undefined;
  /** Another fetch (a test double, one with a proxy agent); the global fetch by default. */
  fetch?: FetchLike | undefined;
  /** Give up on a request after this long (a LicensorConnectionError); no limit by default. */
  timeoutMs?: number | undefined;
}

type Query = Record<string, string | number | boolean | undefined>;

interface RequestOptions {
  query?: Query;
  body?: unknown;
  accept?: string;
}

/**
 * A typed client for every route of the Licensor HTTP API. Works wherever `fetch` does (Node 20,
 * browsers). Refusals throw LicensorApiError (with the problem's `code`, `status`, `detail`);
 * an unreachable server throws LicensorConnectionError.
 */
export class LicensorClient {
  /** The base URL without a trailing slash. */
  readonly baseUrl: string;
  readonly #token: string | undefined;
  readonly #fetch: FetchLike;
  readonly #timeoutMs: number | undefined;

  constructor(options: LicensorClientOptions) {
    const url = new URL(String(options.baseUrl));
    if (url.protocol !== 'http:' && url.protocol !== 'https:')
      throw new TypeError(`baseUrl must be an http:// or https:// URL, not "${String(options.baseUrl)}"`);
    if (url.search !== '' || url.hash !== '')
      throw new TypeError('baseUrl must not have a query string or fragment');
    this.baseUrl = `${url.origin}${url.pathname.replace(/\/+$/, '')}`;
    this.#token = options.token === '' ? undefined : options.token;
    // Called unbound: browsers refuse a fetch whose `this` is not the window.
    this.#fetch = options.fetch ?? ((input, init) => globalThis.fetch(input, init));
    this.#timeoutMs = options.timeoutMs;
  }

  /** Whether requests carry a bearer token. */
  get hasToken(): boolean {
    return this.#token !== undefined;
  }

  // Licenses (APPLICATION_ADMIN)

  /** POST /admin/license: verify and store a license key. */
  addLicense(licenseKey: string): Promise<License> {
    return this.#json('POST', '/admin/license', { body: { licenseKey } });
  }

  /**
   * POST /admin/license/validate: what adding the key would change, storing nothing. A key that
   * would be refused is answered (not thrown) with `refusal` set to the code and detail.
   */
  validateLicense(licenseKey: string): Promise<LicenseImpact> {
    return this.#json('POST', '/admin/license/validate', { body: { licenseKey } });
  }

  /**
   * GET /admin/license: every license that is not deleted, in id order (never the key); with
   * `all: true`, the deleted ones too.
   */
  listLicenses(options: { all?: boolean } = {}): Promise<LicenseListItem[]> {
    return this.#json('GET', '/admin/license', options.all === true ? { query: { all: true } } : {});
  }

  /** GET /admin/license/upcoming: the licenses that start or expire within `days`, and what changes. */
  upcomingLicenseChanges(options: { days?: number } = {}): Promise<UpcomingLicenseChanges> {
    return this.#json('GET', '/admin/license/upcoming', { query: { days: options.days } });
  }

  /** GET /admin/license/licenseStatus: seats and the effective license. */
  licenseStatus(): Promise<LicenseStatus> {
    return this.#json('GET', '/admin/license/licenseStatus');
  }

  /** GET /admin/license/{id}: one license, deleted or not. */
  getLicense(id: number): Promise<License> {
    return this.#json('GET', `/admin/license/${segment(id)}`);
  }

  /** DELETE /admin/license/{id}: soft delete; returns the deleted license. */
  deleteLicense(id: number): Promise<License> {
    return this.#json('DELETE', `/admin/license/${segment(id)}`);
  }

  /** DELETE /admin/license/{id}?dryRun=true: what deleting would change; deletes nothing. */
  deleteLicenseDryRun(id: number): Promise<LicenseImpact> {
    return this.#json('DELETE', `/admin/license/${segment(id)}`, { query: { dryRun: true } });
  }

  /** GET /admin/license/usage: a page of users and a summary over all users. */
  usage(page: Loose<PageQuery> = {}): Promise<Usage> {
    return this.#json('GET', '/admin/license/usage', { query: { offset: page.offset, size: page.size } });
  }

  /** GET /admin/license/usage/history: the daily peak of active users against seats. */
  usageHistory(range: Loose<UsageHistoryQuery> = {}): Promise<UsageHistory> {
    return this.#json('GET', '/admin/license/usage/history', { query: { from: range.from, to: range.to } });
  }

  /** The same history as CSV (day,peakActiveUsers,licenseSeats,hardSeats,peakDataConsumers,peakPolicyOwners). */
  usageHistoryCsv(range: Loose<UsageHistoryQuery> = {}): Promise<string> {
    return this.#text('GET', '/admin/license/usage/history', {
      query: { from: range.from, to: range.to },
      accept: 'text/csv',
    });
  }

  // Events and webhooks (APPLICATION_ADMIN; docs/webhooks.md)

  /** GET /admin/events: the event log, newest first, optionally of one type. */
  events(query: Loose<EventQuery> = {}): Promise<EventPage> {
    const { offset, size, type } = query;
    return this.#json('GET', '/admin/events', { query: { offset, size, type } });
  }

  /** POST /admin/webhooks: add an endpoint; its signing secret is in this response only. */
  createWebhook(webhook: CreateWebhookBody): Promise<CreatedWebhook> {
    return this.#json('POST', '/admin/webhooks', { body: webhook });
  }

  listWebhooks(): Promise<Webhook[]> {
    return this.#json('GET', '/admin/webhooks');
  }

  getWebhook(id: number): Promise<Webhook> {
    return this.#json('GET', `/admin/webhooks/${segment(id)}`);
  }

  /** PATCH /admin/webhooks/{id}: url, events, description, enabled. */
  updateWebhook(id: number, changes: UpdateWebhookBody): Promise<Webhook> {
    return this.#json('PATCH', `/admin/webhooks/${segment(id)}`, { body: changes });
  }

  deleteWebhook(id: number): Promise<Webhook> {
    return this.#json('DELETE', `/admin/webhooks/${segment(id)}`);
  }

  /** POST /admin/webhooks/{id}/test: queue a ping to this endpoint. */
  testWebhook(id: number): Promise<QueuedPing> {
    return this.#json('POST', `/admin/webhooks/${segment(id)}/test`);
  }

  /** GET /admin/webhooks/{id}/deliveries: its delivery attempts, newest first. */
  webhookDeliveries(id: number, page: Loose<PageQuery> = {}): Promise<WebhookDeliveryPage> {
    return this.#json('GET', `/admin/webhooks/${segment(id)}/deliveries`, {
      query: { offset: page.offset, size: page.size },
    });
  }

  // Users (USER_ADMIN)

  /**
   * POST /admin/users: register a user; it takes a seat (SEAT_LIMIT_REACHED when none is free),
   * or, when the seat settings queue, comes back with `state: "pending"` (HTTP 202).
   */
  createUser(user: CreateUserBody): Promise<User> {
    return this.#json('POST', '/admin/users', { body: user });
  }

  /**
   * GET /admin/users: a page of users, optionally only (in)active ones, only disabled (or not
   * disabled) ones, or those matching `q`.
   */
  listUsers(query: Loose<UserListQuery> = {}): Promise<UserList> {
    const { offset, size, active, disabled, q, state } = query;
    return this.#json('GET', '/admin/users', { query: { offset, size, active, disabled, q, state } });
  }

  /**
   * POST /admin/users/disable-inactive: disable the users inactive for `inactiveDays` days; with
   * `dryRun`, only say which (and the seats that frees). APPLICATION_ADMIN.
   */
  disableInactiveUsers(body: DisableInactiveBody): Promise<DisableInactiveResult> {
    return this.#json('POST', '/admin/users/disable-inactive', { body });
  }

  /** POST /admin/users/{id}/approve: a pending user takes a seat (SEAT_LIMIT_REACHED when none is free). */
  approveUser(id: number): Promise<User> {
    return this.#json('POST', `/admin/users/${segment(id)}/approve`);
  }

  /** POST /admin/users/{id}/reject: a pending user is removed. */
  rejectUser(id: number): Promise<User> {
    return this.#json('POST', `/admin/users/${segment(id)}/reject`);
  }

  /** GET /admin/settings/seats: the user cap and what a full site does. */
  seatSettings(): Promise<SeatSettings> {
    return this.#json('GET', '/admin/settings/seats');
  }

  /** PUT /admin/settings/seats: replaces both settings. */
  setSeatSettings(settings: SeatSettings): Promise<SeatSettings> {
    return this.#json('PUT', '/admin/settings/seats', { body: settings });
  }

  getUser(id: number): Promise<User> {
    return this.#json('GET', `/admin/users/${segment(id)}`);
  }

  /** PATCH /admin/users/{id}: change fields; `{disabled: true|false}` disables or re-enables. */
  updateUser(id: number, changes: UpdateUserBody): Promise<User> {
    return this.#json('PATCH', `/admin/users/${segment(id)}`, { body: changes });
  }

  /** DELETE /admin/users/{id}: remove a user, freeing its seat. */
  deleteUser(id: number): Promise<User> {
    return this.#json('DELETE', `/admin/users/${segment(id)}`);
  }

  /** POST /admin/users/{id}/activity: record a login or other activity now. */
  recordActivity(id: number): Promise<User> {
    return this.#json('POST', `/admin/users/${segment(id)}/activity`);
  }

  // Host product

  /** GET /license/notices: the login-page notices (public). */
  notices(): Promise<Notices> {
    return this.#json('GET', '/license/notices');
  }

  /** GET /license/entitlements: features, handlers, canAddUser, dataAccessBlocked (any token). */
  entitlements(): Promise<Entitlements> {
    return this.#json('GET', '/license/entitlements');
  }

  /**
   * GET /license/entitlements.jws: the entitlements signed by the instance, as a compact JWS
   * (any token). Verify it before use: EntitlementsGuard does, against a pinned key.
   */
  signedEntitlements(nonce: string): Promise<string> {
    return this.#text('GET', '/license/entitlements.jws', { query: { nonce }, accept: 'application/jose' });
  }

  /** GET /admin/instance: the instance id and the public key that signs its documents (any token). */
  instance(): Promise<Instance> {
    return this.#json('GET', '/admin/instance');
  }

  /** GET /.well-known/jwks.json: every published instance key, newest first (public). */
  instanceKeys(): Promise<{ keys: InstancePublicKey[] }> {
    return this.#json('GET', '/.well-known/jwks.json');
  }

  /** GET /admin/license/usage/report: the usage report signed by the instance, a compact JWS. */
  usageReport(query: Loose<UsageHistoryQuery> = {}): Promise<string> {
    return this.#text('GET', '/admin/license/usage/report', {
      query: { from: query.from, to: query.to },
      accept: 'application/jose',
    });
  }

  // Tokens and audit (APPLICATION_ADMIN)

  /** POST /admin/tokens: the secret is in this response only. */
  createToken(token: CreateTokenBody): Promise<CreatedToken> {
    return this.#json('POST', '/admin/tokens', { body: token });
  }

  listTokens(): Promise<Token[]> {
    return this.#json('GET', '/admin/tokens');
  }

  /** DELETE /admin/tokens/{id}: the token is refused from then on. */
  revokeToken(id: number): Promise<Token> {
    return this.#json('DELETE', `/admin/tokens/${segment(id)}`);
  }

  /** GET /admin/audit: the audit log, newest first, optionally filtered. */
  audit(query: Loose<AuditQuery> = {}): Promise<AuditPage> {
    const { offset, size, action, actor, outcome, from, to } = query;
    return this.#json('GET', '/admin/audit', { query: { offset, size, action, actor, outcome, from, to } });
  }

  // Operations

  /** GET /healthz: the process is alive. */
  health(): Promise<Health> {
    return this.#json('GET', '/healthz');
  }

  /** GET /readyz: the store answers (STORE_UNAVAILABLE otherwise). */
  ready(): Promise<Readiness> {
    return this.#json('GET', '/readyz');
  }

  /** GET /metrics: Prometheus text format (any token). */
  metrics(): Promise<string> {
    return this.#text('GET', '/metrics', { accept: 'text/plain' });
  }

  async #json<T>(method: string, path: string, options: RequestOptions = {}): Promise<T> {
    const response = await this.#send(method, path, { accept: 'application/json', ...options });
    const text = await this.#read(response, path);
    try {
      return JSON.parse(text) as T;
    } catch {
      throw new LicensorApiError({
        code: 'UNEXPECTED_RESPONSE',
        status: response.status,
        detail: `${method} ${path} answered ${response.status} with a body that is not JSON`,
      });
    }
  }

  async #text(method: string, path: string, options: RequestOptions = {}): Promise<string> {
    return this.#read(await this.#send(method, path, options), path);
  }

  async #send(method: string, path: string, options: RequestOptions): Promise<Response> {
    const url = `${this.baseUrl}${path}${queryString(options.query)}`;
    const headers: Record<string, string> = { accept: options.accept ?? 'application/json' };
    if (this.#token !== undefined) headers.authorization = `Bearer ${this.#token}`;
    const init: RequestInit = { method, headers };
    if (options.body !== undefined) {
      headers['content-type'] = 'application/json';
      init.body = JSON.stringify(options.body);
    }
    if (this.#timeoutMs !== undefined) init.signal = AbortSignal.timeout(this.#timeoutMs);
    let response: Response;
    try {
      response = await this.#fetch(url, init);
    } catch (err) {
      throw new LicensorConnectionError(this.baseUrl, connectionReason(err, this.#timeoutMs), { cause: err });
    }
    if (!response.ok) throw await problemOf(response, method, path);
    return response;
  }

  async #read(response: Response, path: string): Promise<string> {
    try {
      return await response.text();
    } catch (err) {
      // The connection dropped (or timed out) while the body was arriving.
      throw new LicensorConnectionError(`${this.baseUrl}${path}`, connectionReason(err, this.#timeoutMs), {
        cause: err,
      });
    }
  }
}

/** An id as a path segment; anything odd is sent encoded and refused by the server (INVALID_ID). */
function segment(id: number): string {
  return encodeURIComponent(String(id));
}

function queryString(query: Query | undefined): string {
  if (query === undefined) return '';
  const params = new URLSearchParams();
  for (const [name, value] of Object.entries(query))
    if (value !== undefined) params.append(name, String(value));
  const text = params.toString();
  return text === '' ? '' : `?${text}`;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The problem in a refusal; anything else (a proxy's error page) as UNEXPECTED_RESPONSE. */
async function problemOf(response: Response, method: string, path: string): Promise<LicensorApiError> {
  let body: unknown;
  try {
    body = JSON.parse(await response.text());
  } catch {
    body = undefined;
  }
  if (isRecord(body) && typeof body.code === 'string' && typeof body.detail === 'string')
    return new LicensorApiError({
      // A code newer than this client is passed on as it is.
      code: body.code as ProblemCode,
      status: typeof body.status === 'number' ? body.status : response.status,
      detail: body.detail,
      requestId: typeof body.requestId === 'string' ? body.requestId : undefined,
    });
  const statusText = response.statusText === '' ? '' : ` ${response.statusText}`;
  return new LicensorApiError({
    code: 'UNEXPECTED_RESPONSE',
    status: response.status,
    detail: `${method} ${path} answered ${response.status}${statusText} without a problem body`,
  });
}

/** A short reason from whatever fetch threw: Node puts the system error code in `cause`. */
function connectionReason(err: unknown, timeoutMs: number | undefined): string {
  if (isRecord(err) || err instanceof Error) {
    const e = err as { name?: unknown; message?: unknown; cause?: unknown };
    if (e.name === 'TimeoutError' || e.name === 'AbortError')
      return timeoutMs === undefined ? 'aborted' : `no answer within ${timeoutMs} ms`;
    const cause = e.cause as { code?: unknown; errors?: unknown; message?: unknown } | undefined;
    if (cause !== undefined && cause !== null) {
      if (typeof cause.code === 'string') return cause.code;
      if (Array.isArray(cause.errors)) {
        const first = cause.errors[0] as { code?: unknown } | undefined;
        if (typeof first?.code === 'string') return first.code;
      }
      if (typeof cause.message === 'string' && cause.message !== '') return cause.message;
    }
    if (typeof e.message === 'string' && e.message !== '') return e.message;
  }
  return String(err);
}
