import Type from 'typebox';
import { Timestamp, type ProblemCode } from './common-schemas.js';

/** Example values for the API reference, from a real response (the test suite checks them). */
const EXAMPLE_UUID = '6f1c2a4e-8b1d-4c3a-9e0f-2b7d5a9c1e42';
const EXAMPLE_FEATURES = { FPE: { enabled: true }, nativeSqlTeradata: { enabled: true } };
const EXAMPLE_LICENSEE = { name: 'Ada Lovelace', email: 'ada@example.com', company: 'Example Corp' };
const EXAMPLE_NOTICE_ON_EXPIRE = 'This license has expired: contact licensing@example.com';
const EXAMPLE_LIST_ITEM = {
  id: 1,
  uuid: EXAMPLE_UUID,
  features: EXAMPLE_FEATURES,
  handlers: { Snowflake: {} },
  expires: '2027-09-09T00:00:00.000Z',
  seats: 20,
  createdAt: '2026-05-09T11:47:02.473Z',
  notice: null,
  noticeOnExpire: EXAMPLE_NOTICE_ON_EXPIRE,
  softSeats: 5,
  hardExpiration: false,
  hardDelete: false,
  deleted: false,
  invalidated: false,
  expired: false,
  updatedAt: '2026-06-01T12:00:00.000Z',
  startsAt: null,
  supersedes: [],
  licensee: EXAMPLE_LICENSEE,
  state: 'active',
  graceDays: 0,
  graceUntil: null,
};
const EXAMPLE_LICENSE_KEY =
  'eyJhbGciOiJFZERTQSIsInR5cCI6ImxpY2Vuc2UrandzIiwia2lkIjoiUWdlTXB3TGVuVlNoVHd2REF3TWpxQVNfWG1EaHByVkI0dENhdTB1ZTlNMCJ9.eyJ1dWlkIjoiNmYxYzJhNGUtOGIxZC00YzNhLTllMGYtMmI3ZDVhOWMxZTQyIiwiY3JlYXRlZEF0IjoiMjAyNi0wNS0wOVQxMzo0NzowMi40NzMrMDI6MDAiLCJleHBpcmVzIjoiMjAyNy0wOS0wOVQwMDowMDowMFoiLCJzZWF0cyI6MjAsInNvZnRTZWF0cyI6NSwiZmVhdHVyZXMiOnsiRlBFIjp7ImVuYWJsZWQiOnRydWV9LCJuYXRpdmVTcWxUZXJhZGF0YSI6eyJlbmFibGVkIjp0cnVlfX0sImhhbmRsZXJzIjp7IlNub3dmbGFrZSI6e319LCJub3RpY2VPbkV4cGlyZSI6IlRoaXMgbGljZW5zZSBoYXMgZXhwaXJlZDogY29udGFjdCBsaWNlbnNpbmdAZXhhbXBsZS5jb20iLCJsaWNlbnNlZSI6eyJuYW1lIjoiQWRhIExvdmVsYWNlIiwiZW1haWwiOiJhZGFAZXhhbXBsZS5jb20iLCJjb21wYW55IjoiRXhhbXBsZSBDb3JwIn19.iOAqKLEGT8pfKwK4mSXq_wTpYnrOh71POzajTbYHQEzQpZ6R0bEmuYWg4-iK3wXzkjBwmqGaNHziltMt6KMBDw';
const EXAMPLE_LICENSE = {
  ...EXAMPLE_LIST_ITEM,
  licenseKey: EXAMPLE_LICENSE_KEY,
  renewalToken: null,
  classifyUsername: null,
  classifyToken: null,
  claims: {
    uuid: EXAMPLE_UUID,
    createdAt: '2026-05-09T13:47:02.473+02:00',
    expires: '2027-09-09T00:00:00Z',
    seats: 20,
    softSeats: 5,
    features: EXAMPLE_FEATURES,
    handlers: { Snowflake: {} },
    noticeOnExpire: EXAMPLE_NOTICE_ON_EXPIRE,
    licensee: EXAMPLE_LICENSEE,
  },
};

const Features = Type.Record(
  Type.String(),
  Type.Object({ enabled: Type.Boolean() }, { additionalProperties: true }),
  { description: 'Features the license turns on: NAME -> {"enabled": boolean}' },
);
/**
 * The one shape of `handlers` wherever the API shows a license's or the effective license's
 * handlers (Immuta's object form): NAME -> the handler's description (docs/immuta-compatibility.md).
 */
export const Handlers = Type.Record(Type.String(), Type.Object({}, { additionalProperties: true }), {
  description: 'Data handlers the license covers: NAME -> object',
});

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
  notice: Type.Union([Type.String(), Type.Null()], {
    description: 'Shown on the login page of the host product while the license is active',
  }),
  noticeOnExpire: Type.Union([Type.String(), Type.Null()], {
    description: 'Shown on the login page once the license has expired',
  }),
  // Extras (the seed allows additional fields)
  softSeats: Type.Integer({
    description: 'Users that may be added beyond seats without access being blocked',
  }),
  hardExpiration: Type.Boolean({
    description: 'Once expired (with no other active license), data access is blocked',
  }),
  hardDelete: Type.Boolean({
    description: 'Once deleted, a license with this uuid can never be added again',
  }),
  deleted: Type.Boolean({ description: 'Deleted with DELETE /admin/license/{licenseId}' }),
  invalidated: Type.Boolean({ description: 'Superseded by a later license that names its uuid' }),
  expired: Type.Boolean({ description: 'expires has passed' }),
  updatedAt: Type.String({
    format: 'date-time',
    description: 'When the license was added, or last changed (deleted, invalidated)',
  }),
  startsAt: Type.Union([Timestamp, Type.Null()], {
    description: 'When the license starts to count; null is from createdAt. Before it the state is scheduled',
  }),
  supersedes: Type.Array(Type.String(), {
    description: 'The uuids of the licenses this one invalidates',
  }),
  licensee: Type.Union(
    [
      Type.Object(
        {
          name: Type.Optional(Type.String()),
          email: Type.Optional(Type.String()),
          company: Type.Optional(Type.String()),
        },
        { additionalProperties: false },
      ),
      Type.Null(),
    ],
    { description: 'Who the license is for' },
  ),
  state: Type.Union(
    [
      Type.Literal('active'),
      Type.Literal('grace'),
      Type.Literal('scheduled'),
      Type.Literal('expired'),
      Type.Literal('invalidated'),
      Type.Literal('deleted'),
    ],
    {
      description:
        'The license state now, in one word: grace is expired but still in force for its graceDays (docs/licenses.md#grace-period)',
    },
  ),
  graceDays: Type.Integer({
    minimum: 0,
    description: 'Days the license stays in force after expires (the graceDays claim; 0 without)',
  }),
  graceUntil: Type.Union([Timestamp, Type.Null()], {
    description: 'When its grace ends: expires + graceDays; null when perpetual or without grace',
  }),
};

/** GET /admin/license items: never the license key. */
export const LicenseListItem = Type.Object(licenseListFields, {
  $id: 'LicenseListItem',
  additionalProperties: false,
  description: 'A license as lists show it: never the license key',
  examples: [EXAMPLE_LIST_ITEM],
});

/** GET /admin/license. */
export const LicenseList = Type.Array(LicenseListItem, {
  description: 'The licenses that are not deleted, in id order',
  examples: [[EXAMPLE_LIST_ITEM]],
});

/** POST and DELETE responses: all fields of the seed's examples. */
export const License = Type.Object(
  {
    ...licenseListFields,
    licenseKey: Type.String({ description: 'The license key' }),
    renewalToken: Type.Union([Type.String(), Type.Null()], {
      description: 'The renewalToken claim, for the vendor',
    }),
    classifyUsername: Type.Null({ description: 'Always null; kept for compatibility' }),
    classifyToken: Type.Null({ description: 'Always null; kept for compatibility' }),
    claims: Type.Object(
      {},
      { additionalProperties: true, description: 'The whole signed payload, unknown claims included' },
    ),
  },
  {
    $id: 'License',
    additionalProperties: false,
    description: 'A license with its key and the whole signed payload',
    examples: [EXAMPLE_LICENSE],
  },
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
    description: 'The license key to add',
    examples: [{ licenseKey: EXAMPLE_LICENSE_KEY }],
  },
);

export const LicenseIdParams = Type.Object({
  licenseId: Type.String({ description: 'The ID of the license: a positive integer', examples: ['1'] }),
});

/** Licenses in force in their grace period (docs/licenses.md#grace-period). */
export const Grace = Type.Union(
  [
    Type.Object(
      {
        until: Timestamp,
        licenses: Type.Array(Type.String(), { description: 'The uuids of the licenses in grace' }),
      },
      { additionalProperties: false },
    ),
    Type.Null(),
  ],
  {
    description:
      'null when no license in force is in its grace; otherwise the earliest end of grace among them (until) and their uuids',
  },
);

export const LicenseStatus = Type.Object(
  {
    activeUserCount: Type.Integer({ description: 'The number of active users' }),
    licenseSeats: Type.Integer({
      description: 'Total seats: the sum of seats and softSeats over active licenses',
    }),
    canAddUser: Type.Boolean({
      description: 'When true, a user can be added: activeUserCount < seatLimit (the next user gets a seat)',
    }),
    hardSeats: Type.Integer({ description: 'Licensed seats: the sum of seats over active licenses' }),
    // Extras
    userCap: Type.Union([Type.Integer({ minimum: 0 }), Type.Null()], {
      description: "The customer's user cap (PUT /admin/settings/seats); null when none is set",
    }),
    seatLimit: Type.Integer({
      description:
        'The limit every seat decision uses: min(licenseSeats, userCap), or licenseSeats without a cap',
    }),
    whenFull: Type.Union([Type.Literal('refuse'), Type.Literal('queue')], {
      description: 'What a new user over the seat limit meets: refused, or queued pending approval',
    }),
    dataAccessBlocked: Type.Boolean({
      description: 'No active license and an expired hardExpiration license',
    }),
    features: Features,
    handlers: Handlers,
    nextExpiry: Type.Union([Timestamp, Type.Null()], {
      description:
        'The earliest expiry still ahead among active licenses (one in its grace has passed its own)',
    }),
    grace: Grace,
    overage: Type.Integer({ description: 'Active users above hardSeats (0 when within)' }),
    overLimit: Type.Integer({
      description:
        'Active users above seatLimit (0 when within): lowering the cap below the active count removes nobody, it only stops new seats',
    }),
    activeLicenses: Type.Integer({ description: 'How many licenses are active now' }),
  },
  {
    $id: 'LicenseStatus',
    additionalProperties: false,
    description: 'Seat capacity and the effective license: the union of all active licenses',
    examples: [
      {
        activeUserCount: 18,
        licenseSeats: 25,
        canAddUser: true,
        hardSeats: 20,
        userCap: null,
        seatLimit: 25,
        whenFull: 'refuse',
        dataAccessBlocked: false,
        features: EXAMPLE_FEATURES,
        handlers: { Snowflake: {} },
        nextExpiry: '2027-09-09T00:00:00.000Z',
        grace: null,
        overage: 0,
        overLimit: 0,
        activeLicenses: 1,
      },
    ],
  },
);

const LicenseSnapshot = Type.Object(
  {
    hardSeats: Type.Integer({ description: 'The sum of seats over active licenses' }),
    licenseSeats: Type.Integer({ description: 'The sum of seats and softSeats over active licenses' }),
    canAddUser: Type.Boolean({ description: 'activeUserCount < licenseSeats' }),
    overage: Type.Integer({ description: 'Active users above hardSeats (0 when within)' }),
    dataAccessBlocked: Type.Boolean({
      description: 'No active license and an expired hardExpiration license',
    }),
    activeLicenses: Type.Integer({ description: 'How many licenses are active' }),
    graceUntil: Type.Union([Timestamp, Type.Null()], {
      description: 'The earliest end of grace among licenses in force in their grace; null when none',
    }),
  },
  { additionalProperties: false },
);

/**
 * The codes a dry run reports a key's refusal with instead of failing: the key's own faults and the
 * re-add rules. The domain's list (KEY_REFUSAL_CODES, src/domain/license-impact.ts) equals it at
 * compile time (src/http/api-contract.ts).
 */
export const REFUSAL_CODES = [
  'MALFORMED_LICENSE_KEY',
  'UNSUPPORTED_ALGORITHM',
  'UNSUPPORTED_KEY_HEADER',
  'UNTRUSTED_ISSUER',
  'INVALID_SIGNATURE',
  'INVALID_CLAIMS',
  'LICENSE_KEY_TOO_LARGE',
  'LICENSE_EXPIRED',
  'LICENSE_NOT_YET_VALID',
  'LICENSE_ALREADY_EXISTS',
  'LICENSE_HARD_DELETED',
] as const satisfies ProblemCode[];

export type RefusalCode = (typeof REFUSAL_CODES)[number];

/** The fields of a license that say what it grants, for the subject of a dry run. */
const {
  id: _id,
  deleted: _deleted,
  invalidated: _invalidated,
  expired: _expired,
  ...subjectFields
} = licenseListFields;

const EXAMPLE_IMPACT = {
  license: {
    ...Object.fromEntries(
      Object.entries(EXAMPLE_LIST_ITEM).filter(([k]) => !['deleted', 'invalidated', 'expired'].includes(k)),
    ),
    id: null,
    uuid: '0b7e3c1d-5f2a-4e8b-9c6d-1a2b3c4d5e6f',
    seats: 10,
    softSeats: 0,
    features: { FPE: { enabled: true }, externalCatalog: { enabled: true } },
    handlers: { Snowflake: {}, Databricks: {} },
    supersedes: [],
  },
  refusal: null,
  activeUserCount: 18,
  before: {
    hardSeats: 20,
    licenseSeats: 25,
    canAddUser: true,
    overage: 0,
    dataAccessBlocked: false,
    activeLicenses: 1,
    graceUntil: null,
  },
  after: {
    hardSeats: 30,
    licenseSeats: 35,
    canAddUser: true,
    overage: 0,
    dataAccessBlocked: false,
    activeLicenses: 2,
    graceUntil: null,
  },
  featuresGained: ['externalCatalog'],
  featuresLost: [],
  handlersGained: ['Databricks'],
  handlersLost: [],
  invalidates: [],
  usersOverLimitAfter: 0,
  atStart: null,
};

const shiftFields = {
  at: Timestamp,
  before: LicenseSnapshot,
  after: LicenseSnapshot,
  featuresGained: Type.Array(Type.String(), { description: 'Features enabled from then on, not before' }),
  featuresLost: Type.Array(Type.String(), { description: 'Features enabled before, not from then on' }),
  handlersGained: Type.Array(Type.String(), { description: 'Handlers covered from then on, not before' }),
  handlersLost: Type.Array(Type.String(), { description: 'Handlers covered before, not from then on' }),
  usersOverLimitAfter: Type.Integer({
    description: "With today's active users: those beyond licenseSeats from then on",
  }),
};

/** What changes at one instant: the effective license just before it against at it. */
const LicenseShift = Type.Object(shiftFields, {
  additionalProperties: false,
  description: 'What changes at `at`: the effective license just before against from then on',
});

/** A license named in a change ahead. */
const LicenseRef = Type.Object(
  {
    id: Type.Integer(),
    uuid: Type.String(),
    licensee: licenseListFields.licensee,
    hardExpiration: Type.Boolean({
      description: 'Data access is blocked once it expires, if no license is active',
    }),
    hardDelete: Type.Boolean(),
  },
  { additionalProperties: false },
);

/** GET /admin/license/upcoming. */
export const UpcomingQuery = Type.Object(
  {
    days: Type.Optional(
      Type.Integer({
        minimum: 1,
        maximum: 3650,
        default: 30,
        description: 'How far ahead to look, in days (1 to 3650, default 30)',
      }),
    ),
  },
  { additionalProperties: false },
);

export const Upcoming = Type.Object(
  {
    from: Timestamp,
    until: Timestamp,
    changes: Type.Array(
      Type.Object(
        {
          ...shiftFields,
          starting: Type.Array(LicenseRef, { description: 'Licenses that come into force at `at`' }),
          expiring: Type.Array(LicenseRef, { description: 'Licenses that expire at `at`' }),
        },
        { additionalProperties: false },
      ),
      { description: 'Every instant a license starts or expires, in time order' },
    ),
  },
  {
    $id: 'Upcoming',
    additionalProperties: false,
    description: 'What changes by itself ahead: licenses that start or expire, and what each instant changes',
    examples: [
      {
        from: '2026-06-01T12:00:00.000Z',
        until: '2026-07-01T12:00:00.000Z',
        changes: [
          {
            at: '2026-06-20T00:00:00.000Z',
            before: EXAMPLE_IMPACT.after,
            after: EXAMPLE_IMPACT.before,
            featuresGained: [],
            featuresLost: ['externalCatalog'],
            handlersGained: [],
            handlersLost: ['Databricks'],
            usersOverLimitAfter: 0,
            starting: [],
            expiring: [
              {
                id: 2,
                uuid: EXAMPLE_IMPACT.license.uuid,
                licensee: EXAMPLE_LICENSEE,
                hardExpiration: false,
                hardDelete: false,
              },
            ],
          },
        ],
      },
    ],
  },
);

/** GET /admin/license: Immuta's list by default; `all=true` adds the deleted licenses. */
export const LicenseListQuery = Type.Object(
  {
    all: Type.Optional(
      Type.Boolean({
        default: false,
        description:
          'true: every license ever added, deleted ones too (their state says which: deleted, invalidated, expired...)',
      }),
    ),
  },
  // Immuta's API takes no parameters here; a client that sends some is not refused.
  { additionalProperties: true },
);

/** POST /admin/license/validate and DELETE /admin/license/{id}?dryRun=true. */
export const LicenseImpact = Type.Object(
  {
    license: Type.Union(
      [
        Type.Object(
          {
            id: Type.Union([Type.Integer(), Type.Null()], {
              description: 'The id of the license to delete; null for a key that is not stored',
            }),
            ...subjectFields,
          },
          { additionalProperties: false },
        ),
        Type.Null(),
      ],
      {
        description:
          'The license the change is about: what the key says (state as it would be once added), or the license to delete; null when the key cannot be read',
      },
    ),
    refusal: Type.Union(
      [
        Type.Object(
          {
            code: Type.Enum(REFUSAL_CODES, {
              description: 'The code POST /admin/license would refuse the key with',
            }),
            status: Type.Integer({ description: 'The status POST /admin/license would answer with' }),
            detail: Type.String({ description: 'Why, for people' }),
          },
          { additionalProperties: false },
        ),
        Type.Null(),
      ],
      {
        description: 'Why adding would be refused; null when it would succeed. A refused key changes nothing',
      },
    ),
    activeUserCount: Type.Integer({ description: 'Active users now' }),
    before: LicenseSnapshot,
    after: LicenseSnapshot,
    featuresGained: Type.Array(Type.String(), { description: 'Features enabled after but not before' }),
    featuresLost: Type.Array(Type.String(), { description: 'Features enabled before but not after' }),
    handlersGained: Type.Array(Type.String(), { description: 'Handlers covered after but not before' }),
    handlersLost: Type.Array(Type.String(), { description: 'Handlers covered before but not after' }),
    invalidates: Type.Array(
      Type.Object({ id: Type.Integer(), uuid: Type.String() }, { additionalProperties: false }),
      { description: 'Licenses the key would invalidate through its supersedes claim' },
    ),
    usersOverLimitAfter: Type.Integer({
      description: 'Active users beyond licenseSeats afterwards (users are never removed, docs/seats.md)',
    }),
    atStart: Type.Union([LicenseShift, Type.Null()], {
      description:
        'For a key whose startsAt is in the future: what changes on that date, when it comes into force (seats, features, handlers); null otherwise',
    }),
  },
  {
    $id: 'LicenseImpact',
    additionalProperties: false,
    description: 'What adding or deleting a license would change; nothing is stored',
    examples: [EXAMPLE_IMPACT],
  },
);

/** DELETE /admin/license/{id}: the deleted license, and the answer of a dry run. */
export const EXAMPLE_DELETED = {
  ...EXAMPLE_LICENSE,
  deleted: true,
  state: 'deleted',
  updatedAt: '2026-06-02T09:30:00.000Z',
};
export const EXAMPLE_DELETION_IMPACT = {
  ...EXAMPLE_IMPACT,
  license: { ...EXAMPLE_IMPACT.license, id: 1, uuid: EXAMPLE_UUID, features: EXAMPLE_FEATURES },
  before: EXAMPLE_IMPACT.after,
  after: {
    hardSeats: 10,
    licenseSeats: 10,
    canAddUser: false,
    overage: 8,
    dataAccessBlocked: false,
    activeLicenses: 1,
    graceUntil: null,
  },
  featuresGained: [],
  featuresLost: ['nativeSqlTeradata'],
  handlersGained: [],
  handlersLost: [],
  usersOverLimitAfter: 8,
};

export const DeleteLicenseQuery = Type.Object(
  {
    dryRun: Type.Optional(
      Type.Boolean({
        default: false,
        description: 'true: delete nothing, answer what deleting would change (a LicenseImpact)',
      }),
    ),
  },
  { additionalProperties: false },
);
