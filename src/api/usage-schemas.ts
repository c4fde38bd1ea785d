import Type from 'typebox';
import { pageQuery } from './user-schemas.js';

const TypeCounts = Type.Object(
  {
    totalCount: Type.Integer({ description: 'Users of this type' }),
    activeCount: Type.Integer({ description: 'Active users of this type' }),
  },
  { additionalProperties: false },
);

const DAY_PATTERN = '^\\d{4}-\\d{2}-\\d{2}$';
const Day = Type.String({ pattern: DAY_PATTERN, description: 'A UTC day, YYYY-MM-DD' });

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
      { description: 'This page of users, in id order' },
    ),
    summary: Type.Object(
      { dataConsumers: TypeCounts, policyOwners: TypeCounts },
      { additionalProperties: false, description: 'Over all users, not only this page' },
    ),
    // Extras
    offset: Type.Integer({ description: 'The offset asked for' }),
    size: Type.Integer({ description: 'The page size asked for' }),
    total: Type.Integer({ description: 'All users' }),
    activeUserCount: Type.Integer({ description: 'Active users now' }),
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
  {
    $id: 'Usage',
    additionalProperties: false,
    description: 'A page of users and a summary over all users',
    examples: [
      {
        users: [
          {
            userType: 'dataConsumer',
            name: 'Ada Lovelace',
            email: 'ada@example.com',
            iamid: 'okta',
            userid: 'ada',
            active: true,
            id: 1,
          },
        ],
        summary: {
          dataConsumers: { totalCount: 1, activeCount: 1 },
          policyOwners: { totalCount: 0, activeCount: 0 },
        },
        offset: 0,
        size: 10,
        total: 1,
        activeUserCount: 1,
        peak: { activeUsers: 1, termStart: '2026-05-09' },
      },
    ],
  },
);

export const UsageHistoryQuery = Type.Object(
  {
    from: Type.Optional(
      Type.String({
        pattern: DAY_PATTERN,
        description: 'First day (UTC, YYYY-MM-DD); 89 days before `to` when not given',
        examples: ['2026-03-04'],
      }),
    ),
    to: Type.Optional(
      Type.String({
        pattern: DAY_PATTERN,
        description: 'Last day (UTC, YYYY-MM-DD); today when not given',
        examples: ['2026-06-01'],
      }),
    ),
  },
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
          peakActiveUsers: Type.Integer({ description: 'The highest count of active users that day' }),
          peakByType: Type.Union(
            [
              Type.Object(
                { dataConsumer: Type.Integer(), policyOwner: Type.Integer() },
                { additionalProperties: false },
              ),
              Type.Null(),
            ],
            {
              description:
                'The highest count of each user type that day; null on a day recorded before Licensor kept them (docs/usage-report.md#peaks-by-user-type)',
            },
          ),
          licenseSeats: Type.Integer({ description: 'licenseSeats at that moment' }),
          hardSeats: Type.Integer({ description: 'hardSeats at that moment' }),
        },
        { additionalProperties: false },
      ),
      { description: 'Days with a record, oldest first; a day without activity or sample has none' },
    ),
  },
  {
    additionalProperties: false,
    description: 'The daily peak of active users against seats',
    examples: [
      {
        from: '2026-03-04',
        to: '2026-06-01',
        days: [
          { day: '2026-05-31', peakActiveUsers: 17, peakByType: null, licenseSeats: 25, hardSeats: 20 },
          {
            day: '2026-06-01',
            peakActiveUsers: 18,
            peakByType: { dataConsumer: 16, policyOwner: 2 },
            licenseSeats: 25,
            hardSeats: 20,
          },
        ],
      },
    ],
  },
);
