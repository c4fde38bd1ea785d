import Type from 'typebox';

/** PUT and GET /admin/settings/seats (docs/seats.md#user-cap-and-approval-queue). */
const fields = {
  userCap: Type.Union([Type.Integer({ minimum: 0, maximum: 1_000_000_000 }), Type.Null()], {
    description:
      'At most this many active users, whatever the licenses allow; null is no cap. The seat limit is min(licenseSeats, userCap).',
  }),
  whenFull: Type.Union([Type.Literal('refuse'), Type.Literal('queue')], {
    description:
      'A new user over the seat limit: refused (403 SEAT_LIMIT_REACHED), or queued (202, pending approval)',
  }),
};

export const SeatSettings = Type.Object(fields, {
  $id: 'SeatSettings',
  additionalProperties: false,
  description: "The customer's seat policy (docs/seats.md#user-cap-and-approval-queue)",
  examples: [{ userCap: 15, whenFull: 'queue' }],
});

export const SeatSettingsBody = Type.Object(fields, {
  additionalProperties: false,
  description: 'Both fields, always: the settings are replaced whole',
  examples: [{ userCap: 15, whenFull: 'queue' }],
});
