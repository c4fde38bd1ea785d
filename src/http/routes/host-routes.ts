import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import Type from 'typebox';
import { effectiveLicense } from '../../domain/license.js';
import { activeSince } from '../../domain/users.js';
import type { AppContext } from '../app.js';
import { problemResponses } from '../schemas/common-schemas.js';

const Notices = Type.Object(
  {
    notices: Type.Array(
      Type.Object(
        { kind: Type.Union([Type.Literal('notice'), Type.Literal('noticeOnExpire')]), text: Type.String() },
        { additionalProperties: false },
      ),
    ),
  },
  { additionalProperties: false },
);

const Entitlements = Type.Object(
  {
    features: Type.Record(
      Type.String(),
      Type.Object({ enabled: Type.Boolean() }, { additionalProperties: false }),
    ),
    handlers: Type.Array(Type.String(), { description: 'Names of the data handlers covered' }),
    canAddUser: Type.Boolean(),
    dataAccessBlocked: Type.Boolean(),
  },
  { additionalProperties: false },
);

/** What the licensed product asks on every login: notices (public) and entitlements (any token). */
export const hostRoutes: FastifyPluginAsyncTypebox<AppContext> = async (
  app,
  { store, clock, activityWindowDays },
) => {
  app.get(
    '/license/notices',
    {
      config: { access: 'public' },
      schema: {
        tags: ['host product'],
        summary: 'Login-page notices (public)',
        description:
          'The notice of every active license and the noticeOnExpire of every expired one that is not deleted or invalidated. Nothing else about the licenses is revealed.',
        response: { 200: Notices },
      },
    },
    async () => {
      const effective = effectiveLicense(await store.listLicenses(), clock.now());
      return { notices: effective.notices.map(({ kind, text }) => ({ kind, text })) };
    },
  );

  app.get(
    '/license/entitlements',
    {
      config: { access: 'token' },
      schema: {
        tags: ['host product'],
        summary: 'Features, handlers, whether a user can be added, whether data access is blocked',
        description: 'Any valid token. Seat counts, license keys and licensee details are not included.',
        security: [{ bearer: [] }],
        response: { 200: Entitlements, ...problemResponses(401) },
      },
    },
    async () => {
      const now = clock.now();
      const [licenses, active] = await Promise.all([
        store.listLicenses(),
        store.countActiveUsers(activeSince(now, activityWindowDays)),
      ]);
      const effective = effectiveLicense(licenses, now);
      return {
        features: Object.fromEntries(
          Object.entries(effective.features).map(([name, f]) => [name, { enabled: f.enabled }]),
        ),
        handlers: Object.keys(effective.handlers),
        canAddUser: active < effective.licenseSeats,
        dataAccessBlocked: effective.dataAccessBlocked,
      };
    },
  );
};
