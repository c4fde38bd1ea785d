import type { ProblemCode } from './types.js';

/**
 * A code for answers that are not one of the server's problems: a proxy's HTML error page, a body
 * that is not JSON. The server itself never sends it.
 */
export type ClientProblemCode = 'UNEXPECTED_RESPONSE';

/**
 * The server refused the request: it answered with an RFC 9457 problem. Act on `code` (stable, see
 * docs/errors.md); `detail` is for people; `requestId` finds the request in the server's log.
 */
export class LicensorApiError extends Error {
  override readonly name = 'LicensorApiError';
  readonly code: ProblemCode | ClientProblemCode;
  readonly status: number;
  readonly detail: string;
  readonly requestId: string | undefined;

  constructor(init: {
    code: ProblemCode | ClientProblemCode;
    status: number;
    detail: string;
    requestId?: string | undefined;
  }) {
    super(`${init.code}: ${init.detail}`);
    this.code = init.code;
    this.status = init.status;
    this.detail = init.detail;
    this.requestId = init.requestId;
  }
}

/**
 * No answer at all: the server could not be reached (refused, unknown host, TLS failure, timeout).
 * `reason` is the system's short word for it when known, e.g. ECONNREFUSED or ENOTFOUND.
 */
export class LicensorConnectionError extends Error {
  override readonly name = 'LicensorConnectionError';
  readonly code = 'CONNECTION_FAILED' as const;
  readonly url: string;
  readonly reason: string;

  constructor(url: string, reason: string, options?: { cause?: unknown }) {
    super(`cannot reach ${url} (${reason})`, options);
    this.url = url;
    this.reason = reason;
  }
}

export function isLicensorApiError(err: unknown): err is LicensorApiError {
  return err instanceof LicensorApiError;
}

export function isLicensorConnectionError(err: unknown): err is LicensorConnectionError {
  return err instanceof LicensorConnectionError;
}
