import Type from 'typebox';

/**
 * Every problem code the API can answer with (docs/errors.md). The wire contract owns this list;
 * the domain's error table (src/domain/errors.ts) gives each code its HTTP status, and
 * src/http/api-contract.ts makes the two sets equal at compile time.
 */
export const PROBLEM_CODES = [
  // Request shape
  'VALIDATION_FAILED',
  'INVALID_ID',
  'INVALID_PAGE',
  'MALFORMED_JSON',
  'PAYLOAD_TOO_LARGE',
  'URI_TOO_LONG',
  'UNSUPPORTED_MEDIA_TYPE',
  'ROUTE_NOT_FOUND',
  'METHOD_NOT_ALLOWED',
  'MALFORMED_REQUEST',
  'REQUEST_TIMEOUT',
  'HEADERS_TOO_LARGE',

  // License keys: each way a key can be refused has its own code
  'MALFORMED_LICENSE_KEY',
  'UNSUPPORTED_ALGORITHM',
  'UNSUPPORTED_KEY_HEADER',
  'UNTRUSTED_ISSUER',
  'INVALID_SIGNATURE',
  'INVALID_CLAIMS',
  'LICENSE_KEY_TOO_LARGE',
  'LICENSE_EXPIRED',
  'LICENSE_NOT_YET_VALID',

  // License lifecycle
  'LICENSE_ALREADY_EXISTS',
  'LICENSE_HARD_DELETED',
  'LICENSE_NOT_FOUND',

  // Users and seats
  'SEAT_LIMIT_REACHED',
  'USER_ALREADY_EXISTS',
  'INVALID_IDENTIFIER',
  'USER_NOT_FOUND',
  'USER_DISABLED',
  'USER_PENDING',
  'USER_NOT_PENDING',

  // Auth
  'UNAUTHORIZED',
  'FORBIDDEN',
  'RATE_LIMITED',
  'TOKEN_NOT_FOUND',
  'TOKEN_REVOKED',
  'LAST_ADMIN_TOKEN',

  // Webhooks
  'INVALID_WEBHOOK_URL',
  'WEBHOOK_NOT_FOUND',

  // Server side
  'INTERNAL_ERROR',
  'STORE_UNAVAILABLE',
  'SHUTTING_DOWN',
] as const;

export type ProblemCode = (typeof PROBLEM_CODES)[number];

/**
 * The example of the Problem schema. Its status is the error table's (src/http/api-contract.ts
 * checks it at compile time); the routes' own examples come from that table
 * (src/http/problem-responses.ts).
 */
export const PROBLEM_EXAMPLE = {
  type: 'urn:licensor:problem:LICENSE_EXPIRED',
  title: 'Bad Request',
  status: 400,
  detail: 'the license expired at 2026-01-01T00:00:00.000Z',
  code: 'LICENSE_EXPIRED',
  requestId: 'req-7',
} as const satisfies {
  type: `urn:licensor:problem:${ProblemCode}`;
  title: string;
  status: number;
  detail: string;
  code: ProblemCode;
  requestId: string;
};

/** RFC 9457 problem details, with the stable machine-readable `code`. */
export const Problem = Type.Object(
  {
    type: Type.String({ description: 'A URN naming the problem type: urn:licensor:problem:<code>' }),
    title: Type.String({ description: 'The HTTP status phrase' }),
    status: Type.Integer({ description: 'The HTTP status code of the response' }),
    detail: Type.String({ description: 'What went wrong, for people; may be reworded' }),
    code: Type.Union(
      PROBLEM_CODES.map((code) => Type.Literal(code)),
      { description: 'Stable machine-readable error code; see docs/errors.md' },
    ),
    requestId: Type.Optional(
      Type.String({ description: 'The request id; the server log has the same id for the request' }),
    ),
  },
  {
    $id: 'Problem',
    additionalProperties: false,
    description: 'An RFC 9457 problem (Content-Type: application/problem+json)',
    examples: [PROBLEM_EXAMPLE],
  },
);

export const Timestamp = Type.String({
  format: 'date-time',
  description: 'ISO 8601 in UTC with milliseconds',
  examples: ['2022-09-09T00:00:00.000Z'],
});
