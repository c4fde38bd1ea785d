import { STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import type { FastifyError, FastifyReply, FastifyRequest, FastifySchemaValidationError } from 'fastify';
import { isLicensorError, LicensorError, type ErrorCode } from '../domain/errors.js';

export const PROBLEM_CONTENT_TYPE = 'application/problem+json';

/**
 * Every error Fastify raises for a request, on purpose, with our code. These are the only ones
 * that can reach the error handler (or `frameworkErrors`) while a request is handled; Fastify's
 * other errors are raised while routes and plugins are set up and stop the start instead.
 */
const FASTIFY_CODES: Record<string, ErrorCode> = {
  // Reading the body (content-type-parser.js)
  FST_ERR_CTP_BODY_TOO_LARGE: 'PAYLOAD_TOO_LARGE', // 413: over bodyLimit (LICENSOR_BODY_LIMIT_BYTES)
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'UNSUPPORTED_MEDIA_TYPE', // 415: no parser for the content type
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'VALIDATION_FAILED', // 400: the body is not Content-Length long
  FST_ERR_CTP_EMPTY_JSON_BODY: 'MALFORMED_JSON', // 400: application/json with no body
  FST_ERR_CTP_INVALID_JSON_BODY: 'MALFORMED_JSON', // 400: not JSON, or __proto__/constructor poisoning
  // Validation against the route's schema (body, params, querystring, headers)
  FST_ERR_VALIDATION: 'VALIDATION_FAILED', // 400; INVALID_PAGE for offset and size, below
  // The router (frameworkErrors)
  FST_ERR_BAD_URL: 'VALIDATION_FAILED', // 400: a path that does not decode (%zz, invalid UTF-8)
  FST_ERR_MAX_PARAM_LENGTH: 'URI_TOO_LONG', // 414: a path parameter over the router's 100 characters
  FST_ERR_ASYNC_CONSTRAINT: 'INTERNAL_ERROR', // 500: a route constraint failed (none are used)
  FST_ERR_NOT_FOUND: 'ROUTE_NOT_FOUND', // 404: Fastify's own not-found handler (ours replaces it)
};

/**
 * Errors of the request stream itself, which Fastify passes on with status 400: the client closed
 * the connection before its body was read whole. Nobody is left to read the answer; it is a 400,
 * not a server fault to log.
 */
const REQUEST_STREAM_CODES: Record<string, ErrorCode> = {
  ECONNRESET: 'VALIDATION_FAILED',
  ERR_STREAM_PREMATURE_CLOSE: 'VALIDATION_FAILED',
};

/** The query parameters that page a list (`pageQuery` in src/api/user-schemas.ts). */
export const PAGE_PARAMETERS = ['offset', 'size'] as const;

/** Whether a failed validation is about `offset` or `size` in the query string. */
function isPageParameter(err: Partial<FastifyError>): boolean {
  if (err.validationContext !== 'querystring' || !Array.isArray(err.validation)) return false;
  // Ajv stops at the first failure (allErrors: false), so there is one.
  const path = err.validation[0]?.instancePath;
  return PAGE_PARAMETERS.some((name) => path === `/${name}`);
}

/**
 * Turns any error into a LicensorError the client may see. Only errors that are mapped on purpose
 * keep their status: ours, and Fastify's in FASTIFY_CODES. Anything else is a 500 INTERNAL_ERROR
 * (the error handler logs it), whatever status it carries: a guessed code would tell the client
 * something false (an unmapped 403 is not SEAT_LIMIT_REACHED).
 */
export function toLicensorError(err: unknown): LicensorError {
  if (isLicensorError(err)) return err;
  const error = (typeof err === 'object' && err !== null ? err : {}) as Partial<FastifyError>;
  const code = typeof error.code === 'string' ? error.code : undefined;
  if (code === 'FST_ERR_VALIDATION') {
    // e.g. "querystring/offset must be <= 1000000000": the first failure Ajv found.
    const detail = String(error.message);
    return new LicensorError(isPageParameter(error) ? 'INVALID_PAGE' : 'VALIDATION_FAILED', detail);
  }
  const mapped =
    code === undefined
      ? undefined
      : (FASTIFY_CODES[code] ?? (error.statusCode === 400 ? REQUEST_STREAM_CODES[code] : undefined));
  if (mapped === 'INTERNAL_ERROR' || mapped === undefined) return internalError();
  return new LicensorError(mapped, String(error.message));
}

function internalError(): LicensorError {
  return new LicensorError('INTERNAL_ERROR', 'the server failed to handle the request; the log has details');
}

export function sendProblem(reply: FastifyReply, error: LicensorError): FastifyReply {
  if (error.status === 401) reply.header('www-authenticate', 'Bearer realm="licensor"');
  reply.request.problemCode = error.code;
  if (error.retryAfterSeconds !== undefined) reply.header('retry-after', String(error.retryAfterSeconds));
  return reply.code(error.status).type(PROBLEM_CONTENT_TYPE).send(problemJson(error, reply.request.id));
}

/** The problem's body (docs/errors.md); without a request id when there is no request. */
function problemJson(error: LicensorError, requestId?: string): string {
  return JSON.stringify({
    type: `urn:licensor:problem:${error.code}`,
    title: STATUS_CODES[error.status] ?? 'Error',
    status: error.status,
    detail: error.detail,
    code: error.code,
    ...(requestId !== undefined && { requestId }),
  });
}

/** The one error handler: 4xx say what was wrong, 5xx say nothing internal (the log has it). */
export function handleError(err: unknown, request: FastifyRequest, reply: FastifyReply): FastifyReply {
  // Fastify reads the body before it finds there is no such route; a route that does not exist
  // says so whatever the body was.
  const error = request.is404
    ? new LicensorError('ROUTE_NOT_FOUND', `no route ${request.method} ${request.url.split('?')[0] ?? ''}`)
    : toLicensorError(err);
  if (error.status >= 500) request.log.error({ err }, 'request failed');
  return sendProblem(reply, error);
}

/** What each error of Node's HTTP parser is answered with; anything else is MALFORMED_REQUEST. */
const CLIENT_ERRORS: Record<string, [ErrorCode, string]> = {
  ERR_HTTP_REQUEST_TIMEOUT: ['REQUEST_TIMEOUT', "the request's headers and body did not arrive in time"],
  HPE_HEADER_OVERFLOW: ['HEADERS_TOO_LARGE', "the request's headers are larger than the server takes"],
};

/**
 * Fastify's `clientErrorHandler`: a request Node's HTTP parser refuses (a bad request line, header
 * or chunk, headers over the limit, a request not received in time) never reaches a route, and
 * Fastify's own answer is a bare JSON body without a code. This answers a problem like any other
 * (docs/errors.md), without a request id (there is no request), and closes the connection, as
 * Node and Fastify do: what follows on it cannot be read. A connection already gone gets nothing.
 */
export function answerClientError(err: Error & { code?: string }, socket: Socket): void {
  if (err.code === 'ECONNRESET' || socket.destroyed) return;
  const [code, detail] = CLIENT_ERRORS[err.code ?? ''] ?? [
    'MALFORMED_REQUEST',
    'the request is not well-formed HTTP/1.1',
  ];
  const error = new LicensorError(code, detail);
  const body = problemJson(error);
  if (socket.writable)
    socket.write(
      `HTTP/1.1 ${error.status} ${STATUS_CODES[error.status] ?? 'Error'}\r\n` +
        `Content-Type: ${PROBLEM_CONTENT_TYPE}\r\nContent-Length: ${Buffer.byteLength(body)}\r\n` +
        `Connection: close\r\n\r\n${body}`,
    );
  socket.destroy(err);
}

/**
 * Fastify's `schemaErrorFormatter`: the message of a failed validation, as Fastify writes it
 * ("body/name must be string"), except for a value that must be one of several (a union of
 * constants, with or without null), where Ajv reports each alternative and then the union
 * ("must be equal to constant" twice, then "must match a schema in anyOf") without naming any:
 * that is said once, naming them ("body/userType must be "dataConsumer" or "policyOwner"",
 * "body/userCap must be an integer or null").
 */
export function describeValidation(errors: FastifySchemaValidationError[], dataVar: string): Error {
  const union = errors.find((e) => e.keyword === 'anyOf');
  const alternatives = errors.filter((e) => e !== union);
  if (
    union !== undefined &&
    alternatives.length > 0 &&
    alternatives.every(
      (e) => e.instancePath === union.instancePath && (e.keyword === 'const' || e.keyword === 'type'),
    )
  ) {
    // A constant's alternative is its type and its value ({type: 'string', const: 'a'}): a value
    // of another type fails both, and the constant names the alternative.
    const named = alternatives.filter(
      (e, i) => !(e.keyword === 'type' && alternatives[i + 1]?.keyword === 'const'),
    );
    const allowed = named.map((e) =>
      e.keyword === 'const' ? JSON.stringify(e.params.allowedValue) : article(String(e.params.type)),
    );
    const last = allowed.pop();
    const listed = allowed.length === 0 ? last : `${allowed.join(', ')} or ${String(last)}`;
    return new Error(`${dataVar}${union.instancePath} must be ${String(listed)}`);
  }
  return new Error(
    errors.map((e) => `${dataVar}${e.instancePath} ${e.message ?? 'is not valid'}`).join(', '),
  );
}

/** A JSON type named as a value of it: "an integer", "a string", "null". */
function article(type: string): string {
  if (type === 'null') return 'null';
  return `${/^[aeiou]/.test(type) ? 'an' : 'a'} ${type}`;
}
