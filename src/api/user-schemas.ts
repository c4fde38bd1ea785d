import Type from 'typebox';
import { Timestamp } from './common-schemas.js';

const EXAMPLE_USER = {
  id: 1,
  userid: 'ada',
  iamid: 'okta',
  name: 'Ada Lovelace',
  email: 'ada@example.com',
  userType: 'dataConsumer',
  active: true,
  disabled: false,
  state: 'active',
  createdAt: '2026-06-01T12:00:00.000Z',
  lastActivityAt: '2026-06-01T12:00:00.000Z',
};

const UserTypeSchema = Type.Union([Type.Literal('dataConsumer'), Type.Literal('policyOwner')], {
  description: 'The kind of user; dataConsumer when not given',
});
const Name = Type.Union([Type.String({ maxLength: 256 }), Type.Null()]);
const Email = Type.Union([Type.String({ maxLength: 320 }), Type.Null()]);
/**
 * Identifiers. Which characters they may hold (no controls, no invisible format characters, no
 * private-use or unassigned code points) is the domain's rule, src/domain/user-identity.ts: 400
 * INVALID_IDENTIFIER, the same code for every refused character (docs/users.md).
 */
const Identifier = (description: string) => Type.String({ minLength: 1, maxLength: 256, description });

export const User = Type.Object(
  {
    id: Type.Integer({ description: 'The user id in Licensor' }),
    userid: Type.String({ description: 'The username in its identity provider' }),
    iamid: Type.String({ description: 'The identity provider the user belongs to' }),
    name: Name,
    email: Email,
    userType: UserTypeSchema,
    active: Type.Boolean({ description: 'Not disabled, and active within the activity window' }),
    disabled: Type.Boolean({ description: 'Disabled users hold no seat and cannot report activity' }),
    state: Type.Union(
      [Type.Literal('active'), Type.Literal('inactive'), Type.Literal('disabled'), Type.Literal('pending')],
      {
        description:
          'active (holds a seat), inactive (out of the activity window), disabled, or pending: waiting in the approval queue, holding no seat, its activity refused USER_PENDING (docs/seats.md#user-cap-and-approval-queue)',
      },
    ),
    createdAt: Timestamp,
    lastActivityAt: Timestamp,
  },
  {
    $id: 'User',
    additionalProperties: false,
    description: 'A user of the host product; an active user holds a seat',
    examples: [EXAMPLE_USER],
  },
);

export const CreateUserBody = Type.Object(
  {
    userid: Identifier(
      'The username in its identity provider; stored in NFC. No control, invisible format, private-use or unassigned characters (400 INVALID_IDENTIFIER)',
    ),
    iamid: Identifier(
      'The identity provider; (iamid, userid) is unique ignoring case, width and Unicode form (docs/users.md)',
    ),
    name: Type.Optional(Name),
    email: Type.Optional(Email),
    userType: Type.Optional(UserTypeSchema),
  },
  {
    additionalProperties: false,
    description: 'The user to register',
    examples: [{ userid: 'ada', iamid: 'okta', name: 'Ada Lovelace', email: 'ada@example.com' }],
  },
);

export const UpdateUserBody = Type.Object(
  {
    name: Type.Optional(Name),
    email: Type.Optional(Email),
    userType: Type.Optional(UserTypeSchema),
    disabled: Type.Optional(
      Type.Boolean({ description: 'true disables the user (freeing its seat); false enables it again' }),
    ),
  },
  {
    additionalProperties: false,
    minProperties: 1,
    description: 'The fields to change; at least one',
    examples: [{ disabled: true }, { name: 'Ada King', email: 'ada.king@example.com' }],
  },
);

export const UserIdParams = Type.Object({
  id: Type.String({ description: 'The user id: a positive integer', examples: ['1'] }),
});

/**
 * Paging shared by every list: offset from 0 to MAX_PAGE_OFFSET, size from 1 to MAX_PAGE_SIZE.
 * Anything else, or not a whole number, is 400 INVALID_PAGE (src/http/paging.ts): without the
 * bound, an offset past 2^53 reached the database as a float and failed there as a 500.
 */
export const MAX_PAGE_SIZE = 1000;
/** Far beyond any real list, and within every database's 32-bit OFFSET. */
export const MAX_PAGE_OFFSET = 1_000_000_000;
export const pageQuery = {
  offset: Type.Integer({
    minimum: 0,
    maximum: MAX_PAGE_OFFSET,
    default: 0,
    description: `Index of the first record: a whole number from 0 to ${MAX_PAGE_OFFSET}`,
  }),
  size: Type.Integer({
    minimum: 1,
    maximum: MAX_PAGE_SIZE,
    default: 10,
    description: `Records per page: a whole number from 1 to ${MAX_PAGE_SIZE}`,
  }),
};

export const UserListQuery = Type.Object(
  {
    ...pageQuery,
    active: Type.Optional(
      Type.Boolean({
        description: 'Only active (true) or inactive (false) users; inactive includes disabled ones',
      }),
    ),
    disabled: Type.Optional(
      Type.Boolean({ description: 'Only disabled (true) or only not disabled (false) users' }),
    ),
    state: Type.Optional(
      Type.Literal('pending', {
        description: 'pending: only the users waiting for approval (the queue), in arrival order',
      }),
    ),
    q: Type.Optional(
      Type.String({
        maxLength: 256,
        description: 'Substring of userid, name or email, ignoring case, accents and width (docs/users.md)',
      }),
    ),
  },
  { additionalProperties: false },
);

export const UserList = Type.Object(
  {
    offset: Type.Integer({ description: 'The offset asked for' }),
    size: Type.Integer({ description: 'The page size asked for' }),
    total: Type.Integer({ description: 'All users that match, over all pages' }),
    users: Type.Array(User),
  },
  {
    additionalProperties: false,
    description: 'A page of users, in id order',
    examples: [{ offset: 0, size: 10, total: 1, users: [EXAMPLE_USER] }],
  },
);

/** The longest inactivity the bulk disable takes; the domain's (src/domain/user-bulk.ts) equals it at compile time. */
export const MAX_INACTIVE_DAYS = 3650;

export const DisableInactiveBody = Type.Object(
  {
    inactiveDays: Type.Integer({
      minimum: 1,
      maximum: MAX_INACTIVE_DAYS,
      description: `Disable the users whose last activity is more than this many days ago: a whole number from 1 to ${MAX_INACTIVE_DAYS}`,
    }),
    dryRun: Type.Optional(
      Type.Boolean({
        default: false,
        description: 'true: disable nothing, answer which users it would disable and the seats that frees',
      }),
    ),
  },
  {
    additionalProperties: false,
    description: 'Which users to disable',
    examples: [{ inactiveDays: 90, dryRun: true }],
  },
);

/** How many users the answer lists; `count` gives them all. */
export const DISABLE_INACTIVE_LISTED = 100;

export const DisableInactiveResult = Type.Object(
  {
    dryRun: Type.Boolean({ description: 'true when nothing was disabled' }),
    inactiveDays: Type.Integer(),
    inactiveBefore: {
      ...Timestamp,
      description: 'Users whose last activity is before this instant are taken',
    },
    count: Type.Integer({ description: 'How many users were (or would be) disabled' }),
    seatsFreed: Type.Integer({
      description:
        'How many of them held a seat (active within the activity window); users inactive for longer hold none',
    }),
    users: Type.Array(User, {
      description: `The first ${DISABLE_INACTIVE_LISTED} of them in id order, as they are after the change (now, for a dry run)`,
    }),
  },
  {
    additionalProperties: false,
    description: 'What disabling the inactive users did, or would do',
    examples: [
      {
        dryRun: true,
        inactiveDays: 90,
        inactiveBefore: '2026-03-03T12:00:00.000Z',
        count: 1,
        seatsFreed: 0,
        users: [{ ...EXAMPLE_USER, active: false, lastActivityAt: '2026-01-05T09:30:00.000Z' }],
      },
    ],
  },
);
