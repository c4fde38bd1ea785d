import Type from 'typebox';
import { ERROR_STATUS } from '../../domain/errors.js';

/** RFC 9457 problem details, with the stable machine-readable `code`. */
export const Problem = Type.Object(
  {
    type: Type.String({ description: 'A URN naming the problem type: urn:licensor:problem:<code>' }),
    title: Type.String({ description: 'The HTTP status phrase' }),
    status: Type.Integer(),
    detail: Type.String({ description: 'What went wrong, for people' }),
    code: Type.Union(
      Object.keys(ERROR_STATUS).map((code) => Type.Literal(code)),
      { description: 'Stable machine-readable error code; see docs/errors.md' },
    ),
    requestId: Type.Optional(Type.String()),
  },
  { $id: 'Problem', additionalProperties: false },
);

export const Timestamp = Type.String({
  format: 'date-time',
  description: 'ISO 8601 in UTC with milliseconds',
  examples: ['2022-09-09T00:00:00.000Z'],
});

/** Responses every authenticated route may give, by status. */
export function problemResponses(...statuses: number[]): Record<number, unknown> {
  return Object.fromEntries(
    statuses.map((status) => [status, { $ref: 'Problem#', description: describeStatus(status) }]),
  );
}

function describeStatus(status: number): string {
  const codes = Object.entries(ERROR_STATUS)
    .filter(([, s]) => s === status)
    .map(([code]) => code);
  return `Problem details; code is one of ${codes.join(', ')}`;
}
