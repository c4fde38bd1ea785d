import Type from 'typebox';
import { Timestamp } from './common-schemas.js';
import { EVENT_TYPE_NAMES, EventTypeSchema } from './event-schemas.js';
import { pageQuery } from './user-schemas.js';

const EXAMPLE_WEBHOOK = {
  id: 1,
  url: 'https://hooks.example.com/licensor',
  events: ['license.expiring', 'seats.threshold'],
  description: 'Alerts to the ops channel',
  enabled: true,
  createdAt: '2026-06-01T12:00:00.000Z',
  updatedAt: '2026-06-01T12:00:00.000Z',
  pendingDeliveries: 0,
  failedDeliveries: 0,
  lastFailedAt: null,
};

/** The longest webhook URL; the domain's own limit (src/domain/webhooks.ts) equals it at compile time. */
export const MAX_WEBHOOK_URL_LENGTH = 2048;

const FilterItem = Type.Unsafe<string>({
  type: 'string',
  enum: ['*', ...EVENT_TYPE_NAMES],
  description: 'An event type, or * for every type (a ping is sent only by the test)',
});

const Url = Type.String({
  minLength: 1,
  maxLength: MAX_WEBHOOK_URL_LENGTH,
  description: 'http: or https:, without credentials; redirects are not followed',
});
const Events = Type.Array(FilterItem, {
  minItems: 1,
  maxItems: 64,
  description: 'The event types sent there',
});
const Description = Type.String({ maxLength: 500, description: 'What the endpoint is for' });

export const CreateWebhookBody = Type.Object(
  { url: Url, events: Events, description: Type.Optional(Description) },
  {
    additionalProperties: false,
    examples: [
      { url: EXAMPLE_WEBHOOK.url, events: EXAMPLE_WEBHOOK.events, description: EXAMPLE_WEBHOOK.description },
    ],
  },
);

export const PatchWebhookBody = Type.Object(
  {
    url: Type.Optional(Url),
    events: Type.Optional(Events),
    description: Type.Optional(Type.Union([Description, Type.Null()])),
    enabled: Type.Optional(Type.Boolean({ description: 'false pauses deliveries to the endpoint' })),
  },
  { additionalProperties: false, minProperties: 1, examples: [{ enabled: true }] },
);

const webhookFields = {
  id: Type.Integer({ description: 'The endpoint id' }),
  url: Type.String({ description: 'Where deliveries are POSTed' }),
  events: Type.Array(Type.String(), { description: 'The event types sent there, or ["*"]' }),
  description: Type.Union([Type.String(), Type.Null()]),
  enabled: Type.Boolean({ description: 'false: nothing is sent there and new events are not queued for it' }),
  createdAt: Timestamp,
  updatedAt: Timestamp,
  pendingDeliveries: Type.Integer({ description: 'Deliveries still to be made (first attempt or retry)' }),
  failedDeliveries: Type.Integer({ description: 'Deliveries that failed after their last retry' }),
  lastFailedAt: Type.Union([Timestamp, Type.Null()], { description: 'When a delivery last failed for good' }),
};

export const Webhook = Type.Object(webhookFields, {
  additionalProperties: false,
  description: 'A webhook endpoint (never its secret)',
  examples: [EXAMPLE_WEBHOOK],
});

export const CreatedWebhook = Type.Object(
  {
    ...webhookFields,
    secret: Type.String({
      description:
        'whsec_ and base64 of 32 random bytes: signs every delivery. Shown once, in this response.',
    }),
  },
  {
    additionalProperties: false,
    description: 'The endpoint added, with its signing secret (shown this once)',
    examples: [{ ...EXAMPLE_WEBHOOK, secret: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw7kRDn8RKz4Q=' }],
  },
);

export const WebhookList = Type.Array(Webhook, {
  description: 'Every endpoint, in id order',
  examples: [[EXAMPLE_WEBHOOK]],
});

export const WebhookIdParams = Type.Object(
  { id: Type.String({ maxLength: 64, description: 'The endpoint id: a positive integer', examples: ['1'] }) },
  { additionalProperties: false },
);

export const QueuedPing = Type.Object(
  {
    id: Type.String({ description: 'The ping event id: the webhook-id of its delivery' }),
    type: EventTypeSchema,
    timestamp: Timestamp,
  },
  {
    additionalProperties: false,
    description: 'The ping queued for delivery',
    examples: [{ id: 'evt_Kq3mW1v0c2Xn8bYp4Rz7fA', type: 'ping', timestamp: '2026-06-01T12:00:00.000Z' }],
  },
);

export const DeliveryQuery = Type.Object({ ...pageQuery }, { additionalProperties: false });

export const DeliveryPage = Type.Object(
  {
    offset: Type.Integer({ description: 'The offset asked for' }),
    size: Type.Integer({ description: 'The page size asked for' }),
    total: Type.Integer({ description: 'All attempts to this endpoint' }),
    attempts: Type.Array(
      Type.Object(
        {
          id: Type.Integer(),
          eventId: Type.String({ description: 'The event, and the webhook-id header sent' }),
          eventType: Type.String(),
          attempt: Type.Integer({ description: '1 for the first attempt' }),
          at: Timestamp,
          durationMs: Type.Integer(),
          statusCode: Type.Union([Type.Integer(), Type.Null()], {
            description: "The receiver's HTTP status",
          }),
          error: Type.Union([Type.String(), Type.Null()], { description: 'Why the attempt failed' }),
          outcome: Type.Union([Type.Literal('delivered'), Type.Literal('retry'), Type.Literal('failed')]),
          nextRetryAt: Type.Union([Timestamp, Type.Null()], { description: 'When it is tried again' }),
        },
        { additionalProperties: false },
      ),
      { description: 'Newest first' },
    ),
  },
  {
    additionalProperties: false,
    description: 'The delivery log of one endpoint',
    examples: [
      {
        offset: 0,
        size: 10,
        total: 2,
        attempts: [
          {
            id: 2,
            eventId: 'evt_Kq3mW1v0c2Xn8bYp4Rz7fA',
            eventType: 'license.expiring',
            attempt: 2,
            at: '2026-06-01T12:00:05.210Z',
            durationMs: 41,
            statusCode: 200,
            error: null,
            outcome: 'delivered',
            nextRetryAt: null,
          },
          {
            id: 1,
            eventId: 'evt_Kq3mW1v0c2Xn8bYp4Rz7fA',
            eventType: 'license.expiring',
            attempt: 1,
            at: '2026-06-01T12:00:00.102Z',
            durationMs: 10003,
            statusCode: null,
            error: 'no answer within 10 s',
            outcome: 'retry',
            nextRetryAt: '2026-06-01T12:00:05.180Z',
          },
        ],
      },
    ],
  },
);
