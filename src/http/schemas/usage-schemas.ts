import Type from 'typebox';
import { pageQuery } from './user-schemas.js';

const TypeCounts = Type.Object(
  { totalCount: Type.Integer(), activeCount: Type.Integer() },
  { additionalProperties: false },
);

const Day = Type.String({ pattern: '^\\d{4}-\\d{2}-\\d{2}$', description: 'A UTC day, YYYY-MM-DD' });

export const UsageQuery = Type.Object(pageQuery, { additionalProperties: false });

export const Usage = Type.Object(
  {
    users: Type.Array(
      Type.Object(
        {
          userType: Type.Union([Type.Literal('dataConsumer'), Type.Literal('policyOwner')]),
          name: Type.Union([Type.String(), Type.Null()]),
          email: Type.Union([Type.String(), Type.Null()]),
          iamid: Type.String(),
          userid: Type.String(),
          active: Type.Boolean(),
          id: Type.Integer(),
        },
        { additionalProperties: false },
      ),
    ),
    summary: Type.Object(
      { dataConsumers: TypeCounts, policyOwners: TypeCounts },
      { additionalProperties: false, description: 'Over all users, not only this page' },
    ),
    // Extras
    offset: Type.Integer(),
    size: Type.Integer(),
    total: Type.Integer({ description: 'All users' }),
    activeUserCount: Type.Integer(),
    peak: Type.Object(
      {
        activeUsers: Type.Integer({
          description: 'The highest activeUserCount seen in the current license term',
        }),
        termStart: Type.Union([Day, Type.Null()], {
          description:
            'First day of the term: the earliest start among active licenses; null with none active',
        }),
      },
      { additionalProperties: false },
    ),
  },
  { $id: 'Usage', additionalProperties: false },
);

export const UsageHistoryQuery = Type.Object(
  { from: Type.Optional(Day), to: Type.Optional(Day) },
  { additionalProperties: false },
);

export const UsageHistory = Type.Object(
  {
    from: Day,
    to: Day,
    days: Type.Array(
      Type.Object(
        {
          day: Day,
          peakActiveUsers: Type.Integer(),
          licenseSeats: Type.Integer(),
          hardSeats: Type.Integer(),
        },
        { additionalProperties: false },
      ),
      { description: 'Days with a record, oldest first; a day without activity or sample has none' },
    ),
  },
  { additionalProperties: false },
);
