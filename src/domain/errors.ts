/**
 * Every error Licensor reports has a stable machine-readable code. This table is the only place a
 * code gets its HTTP status, so a new code cannot exist without one. Codes never change meaning;
 * docs/errors.md lists them for API users.
 */
export const ERROR_STATUS = {
  // Request shape
  VALIDATION_FAILED: 400,
  INVALID_ID: 400,
  INVALID_PAGE: 400,
  MALFORMED_JSON: 400,
  PAYLOAD_TOO_LARGE: 413,
  URI_TOO_LONG: 414,
  UNSUPPORTED_MEDIA_TYPE: 415,
  ROUTE_NOT_FOUND: 404,
  METHOD_NOT_ALLOWED: 405,
  // Node's HTTP parser, before any route (http/problem.ts, answerClientError)
  MALFORMED_REQUEST: 400,
  REQUEST_TIMEOUT: 408,
  HEADERS_TOO_LARGE: 431,

  // License keys: each way a key can be refused has its own code
  MALFORMED_LICENSE_KEY: 400,
  UNSUPPORTED_ALGORITHM: 400,
  UNSUPPORTED_KEY_HEADER: 400,
  UNTRUSTED_ISSUER: 400,
  INVALID_SIGNATURE: 400,
  INVALID_CLAIMS: 400,
  LICENSE_KEY_TOO_LARGE: 400,
  LICENSE_EXPIRED: 400,
  LICENSE_NOT_YET_VALID: 400,

  // License lifecycle
  LICENSE_ALREADY_EXISTS: 409,
  LICENSE_HARD_DELETED: 409,
  LICENSE_NOT_FOUND: 404,

  // Users and seats
  SEAT_LIMIT_REACHED: 403,
  USER_ALREADY_EXISTS: 409,
  INVALID_IDENTIFIER: 400,
  USER_NOT_FOUND: 404,
  USER_DISABLED: 409,
  USER_PENDING: 403,
  USER_NOT_PENDING: 409,

  // Auth
  UNAUTHORIZED: 401,
  FORBIDDEN: 403,
  RATE_LIMITED: 429,
  TOKEN_NOT_FOUND: 404,
  TOKEN_REVOKED: 409,
  LAST_ADMIN_TOKEN: 409,

  // Webhooks
  INVALID_WEBHOOK_URL: 400,
  WEBHOOK_NOT_FOUND: 404,

  // Server side
  INTERNAL_ERROR: 500,
  STORE_UNAVAILABLE: 503,
  SHUTTING_DOWN: 503,
} as const satisfies Record<string, number>;

export type ErrorCode = keyof typeof ERROR_STATUS;

/** A refusal with a stable code. `detail` is safe to show to the caller: it never holds a secret. */
export class LicensorError extends Error {
  override readonly name = 'LicensorError';
  readonly code: ErrorCode;
  readonly status: number;
  readonly detail: string;
  /** For RATE_LIMITED and 503s: when the caller may try again (the Retry-After header). */
  readonly retryAfterSeconds: number | undefined;
  /** Figures behind a refusal that its audit entry and events record (e.g. the seat counts). */
  readonly facts: Readonly<Record<string, number>> | undefined;

  constructor(
    code: ErrorCode,
    detail: string,
    options?: { cause?: unknown; retryAfterSeconds?: number; facts?: Record<string, number> },
  ) {
    super(`${code}: ${detail}`, options);
    this.code = code;
    this.status = ERROR_STATUS[code];
    this.detail = detail;
    this.retryAfterSeconds = options?.retryAfterSeconds;
    this.facts = options?.facts;
  }
}

export function isLicensorError(err: unknown): err is LicensorError {
  return err instanceof LicensorError;
}
