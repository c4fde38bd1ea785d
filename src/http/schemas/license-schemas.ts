import Type from 'typebox';
import { Timestamp } from './common-schemas.js';

const Features = Type.Record(
  Type.String(),
  Type.Object({ enabled: Type.Boolean() }, { additionalProperties: true }),
  { description: 'Features the license turns on: NAME -> {"enabled": boolean}' },
);
const Handlers = Type.Record(Type.String(), Type.Object({}, { additionalProperties: true }), {
  description: 'Data handlers the license covers: NAME -> object',
});
const NullableTimestamp = Type.Union([Timestamp, Type.Null()]);
const NullableText = Type.Union([Type.String(), Type.Null()]);

/** Fields every view of a license carries: the seed's list fields plus this project's extras. */
const licenseListFields = {
  id: Type.Integer({ description: 'The ID of the license' }),
  uuid: Type.String({ description: 'The unique universal identifier' }),
  features: Features,
  handlers: Handlers,
  expires: Type.Union([Timestamp, Type.Null()], {
    description: 'When the license expires; null is perpetual',
  }),
  seats: Type.Integer({ description: 'The number of user seats (hard seats)' }),
  createdAt: Type.String({ format: 'date-time', description: 'When the license key was generated' }),
  notice: NullableText,
  noticeOnExpire: NullableText,
  // Extras (the seed allows additional fields)
  softSeats: Type.Integer({
    description: 'Users that may be added beyond seats without access being blocked',
  }),
  hardExpiration: Type.Boolean(),
  hardDelete: Type.Boolean(),
  deleted: Type.Boolean(),
  invalidated: Type.Boolean(),
  expired: Type.Boolean(),
  updatedAt: Type.String({
    format: 'date-time',
    description: 'When the license was added, or last changed (deleted, invalidated)',
  }),
  startsAt: NullableTimestamp,
  supersedes: Type.Array(Type.String()),
  licensee: Type.Union([
    Type.Object(
      {
        name: Type.Optional(Type.String()),
        email: Type.Optional(Type.String()),
        company: Type.Optional(Type.String()),
      },
      { additionalProperties: false },
    ),
    Type.Null(),
  ]),
  state: Type.Union(
    [
      Type.Literal('active'),
      Type.Literal('scheduled'),
      Type.Literal('expired'),
      Type.Literal('invalidated'),
      Type.Literal('deleted'),
    ],
    { description: 'The license state now, in one word' },
  ),
};

/** GET /admin/license items: never the license key. */
export const LicenseListItem = Type.Object(licenseListFields, {
  $id: 'LicenseListItem',
  additionalProperties: false,
});

/** POST and DELETE responses: all fields of the seed's examples. */
export const License = Type.Object(
  {
    ...licenseListFields,
    licenseKey: Type.String({ description: 'The license key' }),
    renewalToken: NullableText,
    classifyUsername: Type.Null({ description: 'Always null; kept for compatibility' }),
    classifyToken: Type.Null({ description: 'Always null; kept for compatibility' }),
    claims: Type.Object(
      {},
      { additionalProperties: true, description: 'The whole signed payload, unknown claims included' },
    ),
  },
  { $id: 'License', additionalProperties: false },
);

export const AddLicenseBody = Type.Object(
  {
    licenseKey: Type.Optional(Type.String({ description: 'The license key (compact JWS)' })),
    licensekey: Type.Optional(
      Type.String({ description: 'Accepted spelling of licenseKey (the seed payload example)' }),
    ),
  },
  {
    additionalProperties: true,
    examples: [{ licenseKey: 'eyJhbGciOiJFZERTQSIsInR5cCI6ImxpY2Vuc2UrandzIn0.eyJ1dWlkIjoiLi4uIn0.c2ln' }],
  },
);

export const LicenseIdParams = Type.Object({
  licenseId: Type.String({ description: 'The ID of the license: a positive integer' }),
});

export const LicenseStatus = Type.Object(
  {
    activeUserCount: Type.Integer({ description: 'The number of active users' }),
    licenseSeats: Type.Integer({
      description: 'Total seats: the sum of seats and softSeats over active licenses',
    }),
    canAddUser: Type.Boolean({ description: 'When true, a user can be added' }),
    hardSeats: Type.Integer({ description: 'Licensed seats: the sum of seats over active licenses' }),
    // Extras
    dataAccessBlocked: Type.Boolean({
      description: 'No active license and an expired hardExpiration license',
    }),
    features: Features,
    handlers: Handlers,
    nextExpiry: Type.Union([Timestamp, Type.Null()], {
      description: 'The earliest expiry among active licenses',
    }),
    overage: Type.Integer({ description: 'Active users above hardSeats (0 when within)' }),
    activeLicenses: Type.Integer({ description: 'How many licenses are active now' }),
  },
  { $id: 'LicenseStatus', additionalProperties: false },
);
