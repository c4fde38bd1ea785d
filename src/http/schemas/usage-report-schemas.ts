import Type from 'typebox';

/**
 * The payload of the signed usage report (docs/usage-report.md#the-payload). The route answers the
 * compact JWS; this model documents what its payload holds, for a vendor's own tooling.
 */

const Day = Type.String({ pattern: '^\\d{4}-\\d{2}-\\d{2}$', description: 'A UTC day, YYYY-MM-DD' });
const Count = Type.Integer({ minimum: 0 });
const Hex64 = Type.String({ pattern: '^[0-9a-f]{64}$', description: 'Hex SHA-256' });

export const UsageReportDay = Type.Object(
  {
    day: Day,
    peakActive: Type.Object(
      {
        all: Type.Integer({ minimum: 0, description: 'The highest count of active users that day' }),
        dataConsumer: Type.Optional(
          Type.Integer({ minimum: 0, description: 'The highest count of active data consumers that day' }),
        ),
        policyOwner: Type.Optional(
          Type.Integer({ minimum: 0, description: 'The highest count of active policy owners that day' }),
        ),
      },
      {
        additionalProperties: false,
        description:
          "The day's peaks: over all user types, and of each type on days recorded since Licensor keeps them (a day recorded before carries `all` alone; docs/usage-report.md#peaks-by-user-type). Each type peaks at its own moment, so the types may add up to more than `all`.",
      },
    ),
    licenseSeats: Count,
    hardSeats: Count,
    chain: Type.String({
      pattern: '^[0-9a-f]{64}$',
      description: "SHA-256 (hex) over the previous day's chain and this row's RFC 8785 JSON without `chain`",
    }),
  },
  { additionalProperties: false },
);

export const UsageReport = Type.Object(
  {
    instanceId: Type.String(),
    generatedAt: Type.String({ format: 'date-time' }),
    from: Day,
    to: Day,
    chainStart: Hex64,
    licenses: Type.Array(
      Type.Object(
        {
          uuid: Type.String(),
          licensee: Type.Union([
            Type.Object({
              name: Type.Optional(Type.String()),
              email: Type.Optional(Type.String()),
              company: Type.Optional(Type.String()),
            }),
            Type.Null(),
          ]),
          seats: Count,
          softSeats: Count,
          startsAt: Type.String({ format: 'date-time' }),
          expires: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
        },
        { additionalProperties: false },
      ),
    ),
    days: Type.Array(UsageReportDay, { description: 'One row per recorded day, oldest first' }),
    summary: Type.Object(
      {
        peakActive: Count,
        peakDay: Type.Union([Day, Type.Null()]),
        daysOverSeats: Count,
        maxOverage: Count,
      },
      { additionalProperties: false },
    ),
  },
  {
    $id: 'UsageReport',
    additionalProperties: false,
    description: 'The payload of the signed usage report (GET /admin/license/usage/report)',
    examples: [
      {
        instanceId: '5b0c2f3e-8a51-4c8e-9d51-0e4f6f0b6a11',
        generatedAt: '2026-06-02T09:00:00.000Z',
        from: '2026-06-01',
        to: '2026-06-02',
        chainStart: '0'.repeat(64),
        licenses: [
          {
            uuid: 'acme-2026',
            licensee: { company: 'Acme' },
            seats: 20,
            softSeats: 5,
            startsAt: '2026-01-01T00:00:00.000Z',
            expires: '2027-01-01T00:00:00.000Z',
          },
        ],
        days: [
          {
            day: '2026-06-01',
            peakActive: { all: 18 },
            licenseSeats: 25,
            hardSeats: 20,
            chain: '3f1d0c6b8e2a4f5d9c7b1a0e2d4c6b8a9f1e3d5c7b9a0e2d4f6a8c0e2b4d6f8a',
          },
          {
            day: '2026-06-02',
            peakActive: { all: 21, dataConsumer: 19, policyOwner: 3 },
            licenseSeats: 25,
            hardSeats: 20,
            chain: '9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c4d3e2f1a0b9c8d7e6f5a4b3c2d1e0f9a8b',
          },
        ],
        summary: { peakActive: 21, peakDay: '2026-06-02', daysOverSeats: 1, maxOverage: 1 },
      },
    ],
  },
);
