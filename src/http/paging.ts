import type { preValidationHookHandler, RouteOptions } from 'fastify';
import { ERROR_STATUS, LicensorError, type ErrorCode } from '../domain/errors.js';
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

/** A whole number as query text: decimal digits without a leading zero, a minus the only sign. */
const WHOLE_NUMBER = /^(?:0|-?[1-9][0-9]*)$/;

/**
 * Makes every integer in a route's query string a whole number written in decimal digits. The
 * query's validator coerces text to numbers as JavaScript's Number() does, so it took `0x10`, `1e3`,
 * `+1`, `007`, `1.0` and a blank as numbers (docs/errors.md#how-inputs-are-read). Checked on the
 * text before that, in a preValidation hook added only to the routes with such a parameter, so no
 * other route pays for it. Refused as the validator refuses the parameter: INVALID_PAGE for `offset`
 * and `size`, VALIDATION_FAILED for the others. An onRoute hook.
 */
export function strictQueryIntegers(route: RouteOptions): void {
  const query = route.schema?.querystring as { properties?: Record<string, { type?: unknown }> } | undefined;
  const names = Object.entries(query?.properties ?? {})
    .filter(([, property]) => property.type === 'integer')
    .map(([name]) => name);
  if (names.length === 0) return;
  const check: preValidationHookHandler = (request, _reply, done) => {
    const values = request.query as Record<string, unknown>;
    for (const name of names) {
      const value = values[name];
      if (value === undefined) continue;
      // A repeated parameter is a list: each must be a number; the validator then refuses the list.
      if ([value].flat().some((text) => typeof text !== 'string' || !WHOLE_NUMBER.test(text))) {
        const code = (PAGE_PARAMETERS as readonly string[]).includes(name)
          ? 'INVALID_PAGE'
          : 'VALIDATION_FAILED';
        done(new LicensorError(code, `querystring/${name} must be a whole number in decimal digits`));
        return;
      }
    }
    done();
  };
  route.preValidation = [...[route.preValidation ?? []].flat(), check];
}
