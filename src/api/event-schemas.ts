import Type from 'typebox';
import { Timestamp } from './common-schemas.js';
import { pageQuery } from './user-schemas.js';

/**
 * Every event type (docs/events.md). The wire contract owns this list; src/http/api-contract.ts
 * makes it equal to the domain's (src/domain/events.ts) at compile time.
 */
export const EVENT_TYPE_NAMES = [
  'license.added',
  'license.deleted',
  'license.started',
  'license.expiring',
  'license.expired',
  'license.grace_started',
  'license.grace_ended',
  'data_access.blocked',
  'data_access.restored',
  'seats.threshold',
  'seats.refused',
  'user.pending',
  'ping',
] as const;

export type EventTypeName = (typeof EVENT_TYPE_NAMES)[number];

export const EventTypeSchema = Type.Unsafe<EventTypeName>({
  type: 'string',
  enum: [...EVENT_TYPE_NAMES],
  description: 'The kind of event (docs/events.md)',
});

export const Event = Type.Object(
  {
    id: Type.String({ description: 'evt_ and 128 random bits; the webhook-id of its deliveries' }),
    type: EventTypeSchema,
    timestamp: Timestamp,
    data: Type.Record(Type.String(), Type.Unknown(), {
      description:
        'license.*: the license as GET /admin/license/{id} returns it; seats.* and data_access.*: activeUserCount, licenseSeats, hardSeats (and percent, or count)',
    }),
  },
  { additionalProperties: false },
);

export const EventQuery = Type.Object(
  { ...pageQuery, type: Type.Optional(EventTypeSchema) },
  { additionalProperties: false },
);

export const EventPage = Type.Object(
  {
    offset: Type.Integer({ description: 'The offset asked for' }),
    size: Type.Integer({ description: 'The page size asked for' }),
    total: Type.Integer({ description: 'All events matching the query' }),
    events: Type.Array(Event, { description: 'Newest first' }),
  },
  {
    additionalProperties: false,
    description: 'A page of the event log',
    examples: [
      {
        offset: 0,
        size: 10,
        total: 1,
        events: [
          {
            id: 'evt_3q2-7wEjQ8KZ0hWxg8Yc9A',
            type: 'seats.threshold',
            timestamp: '2026-06-01T12:00:00.000Z',
            data: { percent: 90, activeUserCount: 18, licenseSeats: 20, hardSeats: 20 },
          },
        ],
      },
    ],
  },
);

export const AuthFailurePage = Type.Object(
  {
    offset: Type.Integer({ description: 'The offset asked for' }),
    size: Type.Integer({ description: 'The page size asked for' }),
    total: Type.Integer({ description: 'All rows' }),
    entries: Type.Array(
      Type.Object(
        {
          minute: Timestamp,
          clientAddress: Type.String({ description: 'The address the requests came from' }),
          count: Type.Integer({ description: 'Failed authentications (401, or 429 once over the limit)' }),
          firstAt: Timestamp,
          lastAt: Timestamp,
        },
        { additionalProperties: false },
      ),
      { description: 'Newest minute first' },
    ),
  },
  {
    additionalProperties: false,
    description: 'Failed authentications, one row per minute and client address',
    examples: [
      {
        offset: 0,
        size: 10,
        total: 1,
        entries: [
          {
            minute: '2026-06-01T12:00:00.000Z',
            clientAddress: '10.0.0.7',
            count: 1200,
            firstAt: '2026-06-01T12:00:00.213Z',
            lastAt: '2026-06-01T12:00:59.870Z',
          },
        ],
      },
    ],
  },
);
