import { STATUS_CODES } from 'node:http';
import { ERROR_STATUS, type ErrorCode } from '../domain/errors.js';
import { PROBLEM_CONTENT_TYPE } from './problem.js';

/*
 * The error responses of each route in the API reference, from the domain's error table (the one
 * place a code gets its status). They live here, not in src/api, because they need that table and
 * node:http's status phrases; the wire contract only names the codes (PROBLEM_CODES).
 */

/** What `detail` typically says for each code, for the examples of the API reference. */
const EXAMPLE_DETAIL: Partial<Record<ErrorCode, string>> = {
  VALIDATION_FAILED: "body must have required property 'userid'",
  INVALID_ID: 'id must be a positive integer, not "abc"',
  INVALID_PAGE: 'querystring/offset must be <= 1000000000',
  MALFORMED_JSON: 'the body is not valid JSON',
  PAYLOAD_TOO_LARGE: 'Request body is too large',
  UNSUPPORTED_MEDIA_TYPE: 'Unsupported Media Type',
  ROUTE_NOT_FOUND: 'no route GET /admin/nope',
  MALFORMED_LICENSE_KEY: 'a license key is a compact JWS: three base64url segments separated by dots',
  UNSUPPORTED_ALGORITHM: 'license keys are signed with EdDSA (Ed25519); "alg" "HS256" is not accepted',
  UNSUPPORTED_KEY_HEADER: '"typ" must be "license+jws"',
  UNTRUSTED_ISSUER:
    'the key was signed by an issuer key this server does not trust (kid QgeMpwLenVShTwvDAwMjqAS_XmDhprVB4tCau0ue9M0)',
  INVALID_SIGNATURE: 'the signature does not verify',
  INVALID_CLAIMS: 'claim "seats" must be an integer of 0 or more',
  LICENSE_EXPIRED: 'the license expired at 2026-01-01T00:00:00.000Z',
  LICENSE_NOT_YET_VALID:
    'the license was created in the future (2026-06-02T00:00:00.000Z); check the clocks of the issuer and this server',
  LICENSE_ALREADY_EXISTS:
    'a license with uuid "6f1c2a4e-8b1d-4c3a-9e0f-2b7d5a9c1e42" is already added (id 1)',
  LICENSE_HARD_DELETED:
    'the license with uuid "6f1c2a4e-8b1d-4c3a-9e0f-2b7d5a9c1e42" was deleted with hardDelete and can never be added again',
  LICENSE_NOT_FOUND: 'no license with id 7',
  SEAT_LIMIT_REACHED: 'all 25 license seats are taken (25 active users)',
  USER_ALREADY_EXISTS: 'user "ada" of "okta" is already registered (id 1)',
  INVALID_IDENTIFIER: 'userid holds U+200B, an invisible format character, which it may not hold',
  USER_NOT_FOUND: 'no user with id 12',
  USER_DISABLED: 'user 12 is disabled; enable it first',
  USER_PENDING: 'user 12 is waiting for approval and holds no seat; approve it first',
  USER_NOT_PENDING: 'user 12 is not waiting for approval',
  UNAUTHORIZED: 'send a token as "Authorization: Bearer <token>"',
  FORBIDDEN: 'this token lacks the APPLICATION_ADMIN permission',
  RATE_LIMITED: 'too many failed authentications from 10.0.0.7; try again later',
  TOKEN_NOT_FOUND: 'no live token with id 4',
  INTERNAL_ERROR: 'the server failed to handle the request; the log has details',
  STORE_UNAVAILABLE: 'the database cannot be reached; try again',
};

function exampleProblem(code: ErrorCode) {
  const status = ERROR_STATUS[code];
  return {
    type: `urn:licensor:problem:${code}`,
    title: STATUS_CODES[status] ?? 'Error',
    status,
    detail: EXAMPLE_DETAIL[code] ?? `a ${code} problem`,
    code,
    requestId: 'req-7',
  };
}

/**
 * Every error a route with a token can give before its handler runs: no valid token, too many
 * failed authentications from the client (LICENSOR_AUTH_FAILURE_LIMIT), the store down.
 */
export const TOKEN_ERRORS = [
  'UNAUTHORIZED',
  'RATE_LIMITED',
  'STORE_UNAVAILABLE',
] as const satisfies ErrorCode[];
/** ...and for a route that needs a permission the token may lack. */
export const PERMISSION_ERRORS = [...TOKEN_ERRORS, 'FORBIDDEN'] as const satisfies ErrorCode[];
/** Errors of reading a request body; Fastify reads a body sent with POST, PATCH and DELETE. */
export const BODY_ERRORS = [
  'VALIDATION_FAILED',
  'MALFORMED_JSON',
  'PAYLOAD_TOO_LARGE',
  'UNSUPPORTED_MEDIA_TYPE',
] as const satisfies ErrorCode[];

/** Headers that come with a problem of some statuses. */
const RESPONSE_HEADERS: Record<number, Record<string, { type: string; description: string }>> = {
  401: { 'WWW-Authenticate': { type: 'string', description: 'Always `Bearer realm="licensor"`' } },
  429: { 'Retry-After': { type: 'integer', description: 'Seconds until the client may try again' } },
  503: { 'Retry-After': { type: 'integer', description: 'When given, seconds until a retry may succeed' } },
};

/**
 * The error responses of a route, from the codes it can return: one response per status, each an
 * application/problem+json Problem whose description names exactly those codes, with an example of
 * each. INTERNAL_ERROR (500) is added to every route: any of them can fail unexpectedly.
 */
export function problemResponses(...codes: ErrorCode[]): Record<number, unknown> {
  const byStatus = new Map<number, ErrorCode[]>();
  for (const code of new Set<ErrorCode>([...codes, 'INTERNAL_ERROR'])) {
    const status = ERROR_STATUS[code];
    byStatus.set(status, [...(byStatus.get(status) ?? []), code]);
  }
  return Object.fromEntries(
    [...byStatus]
      .sort(([a], [b]) => a - b)
      .map(([status, list]) => [
        status,
        {
          description: `${STATUS_CODES[status] ?? 'Error'}: code ${list.join(', ')}`,
          ...(RESPONSE_HEADERS[status] !== undefined && { headers: RESPONSE_HEADERS[status] }),
          content: {
            [PROBLEM_CONTENT_TYPE]: {
              schema: { $ref: 'Problem#' },
              examples: Object.fromEntries(list.map((code) => [code, { value: exampleProblem(code) }])),
            },
          },
        },
      ]),
  );
}
