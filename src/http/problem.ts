import { STATUS_CODES } from 'node:http';
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { ERROR_STATUS, isLicensorError, LicensorError, type ErrorCode } from '../domain/errors.js';

export const PROBLEM_CONTENT_TYPE = 'application/problem+json';

/** Fastify's own errors that are the client's fault, each with our code. */
const FASTIFY_CODES: Record<string, ErrorCode> = {
  FST_ERR_CTP_BODY_TOO_LARGE: 'PAYLOAD_TOO_LARGE',
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'UNSUPPORTED_MEDIA_TYPE',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'VALIDATION_FAILED',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'MALFORMED_JSON',
  FST_ERR_CTP_INVALID_JSON_BODY: 'MALFORMED_JSON',
  FST_ERR_VALIDATION: 'VALIDATION_FAILED',
  FST_ERR_BAD_URL: 'VALIDATION_FAILED',
  FST_ERR_MAX_PARAM_LENGTH: 'URI_TOO_LONG',
};

/** The query parameters that page a list (`pageQuery` in schemas/user-schemas.ts). */
export const PAGE_PARAMETERS = ['offset', 'size'] as const;

/** Whether a failed validation is about `offset` or `size` in the query string. */
function isPageParameter(err: Partial<FastifyError>): boolean {
  if (err.validationContext !== 'querystring' || !Array.isArray(err.validation)) return false;
  // Ajv stops at the first failure (allErrors: false), so there is one.
  const path = err.validation[0]?.instancePath;
  return PAGE_PARAMETERS.some((name) => path === `/${name}`);
}

/** Turns any error into a LicensorError the client may see; unknown errors become INTERNAL_ERROR. */
export function toLicensorError(err: unknown): LicensorError {
  if (isLicensorError(err)) return err;
  const fastifyError = err as Partial<FastifyError>;
  if (fastifyError.validation)
    return new LicensorError(
      isPageParameter(fastifyError) ? 'INVALID_PAGE' : 'VALIDATION_FAILED',
      String(fastifyError.message),
    );
  const mapped = fastifyError.code !== undefined ? FASTIFY_CODES[fastifyError.code] : undefined;
  if (mapped) return new LicensorError(mapped, String(fastifyError.message));
  const status = fastifyError.statusCode;
  if (err instanceof SyntaxError && status === 400)
    return new LicensorError('MALFORMED_JSON', 'the body is not valid JSON');
  if (status !== undefined && status >= 400 && status < 500) {
    const code = (Object.keys(ERROR_STATUS) as ErrorCode[]).find((c) => ERROR_STATUS[c] === status);
    return new LicensorError(code ?? 'VALIDATION_FAILED', String(fastifyError.message));
  }
  return new LicensorError('INTERNAL_ERROR', 'the server failed to handle the request; the log has details');
}

export function sendProblem(reply: FastifyReply, error: LicensorError): FastifyReply {
  if (error.status === 401) reply.header('www-authenticate', 'Bearer realm="licensor"');
  reply.request.problemCode = error.code;
  if (error.retryAfterSeconds !== undefined) reply.header('retry-after', String(error.retryAfterSeconds));
  return reply
    .code(error.status)
    .type(PROBLEM_CONTENT_TYPE)
    .send(
      JSON.stringify({
        type: `urn:licensor:problem:${error.code}`,
        title: STATUS_CODES[error.status] ?? 'Error',
        status: error.status,
        detail: error.detail,
        code: error.code,
        requestId: reply.request.id,
      }),
    );
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
