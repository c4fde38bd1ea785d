import type { RouteOptions } from 'fastify';
import { ERROR_STATUS, type ErrorCode } from '../domain/errors.js';
import { PAGE_PARAMETERS, PROBLEM_CONTENT_TYPE } from './problem.js';
import { problemResponses } from './problem-responses.js';

/** What a route whose query string pages can refuse besides its own errors. */
export const PAGE_ERRORS = ['INVALID_PAGE'] as const satisfies ErrorCode[];

/**
 * Adds INVALID_PAGE to the documented 400 of every route whose query string pages (has `offset`
 * or `size`), so the OpenAPI document, and the tests that check every response against it, list
 * it without each route having to. An onRoute hook: it runs before the route's schema is compiled
 * or documented. A route that already lists it keeps its responses as they are.
 */
export function documentPageErrors(route: RouteOptions): void {
  const schema = route.schema;
  const query = schema?.querystring as { properties?: Record<string, unknown> } | undefined;
  if (schema === undefined || !PAGE_PARAMETERS.some((name) => name in (query?.properties ?? {}))) return;
  const status = ERROR_STATUS.INVALID_PAGE;
  const responses = (schema.response ?? {}) as Record<number, unknown>;
  const listed = (
    responses[status] as { content?: Record<string, { examples?: Record<string, unknown> }> } | undefined
  )?.content?.[PROBLEM_CONTENT_TYPE]?.examples;
  const codes = Object.keys(listed ?? {}).filter((code): code is ErrorCode => code in ERROR_STATUS);
  if (PAGE_ERRORS.every((code) => codes.includes(code))) return;
  schema.response = { ...responses, [status]: problemResponses(...codes, ...PAGE_ERRORS)[status] };
}
