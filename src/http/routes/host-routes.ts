import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import Type from 'typebox';
import type { AppContext } from '../app.js';
import { sendJson } from '../reply.js';
import { problemResponses, TOKEN_ERRORS } from '../schemas/common-schemas.js';
import { Handlers } from '../schemas/license-schemas.js';

const Notices = Type.Object(
  {
    notices: Type.Array(
      Type.Object(
        {
          kind: Type.Union([Type.Literal('notice'), Type.Literal('noticeOnExpire')], {
            description: 'notice of an active license, or noticeOnExpire of an expired one',
          }),
          text: Type.String({ description: 'The text to show' }),
        },
        { additionalProperties: false },
      ),
      { description: 'In license id order; the same text of the same kind once' },
    ),
  },
  {
    additionalProperties: false,
    description: 'The notices to show on the login page',
    examples: [
      {
        notices: [
          { kind: 'notice', text: 'Licensed to Example Corp' },
          { kind: 'noticeOnExpire', text: 'This license has expired: contact licensing@example.com' },
        ],
      },
    ],
  },
);

const Entitlements = Type.Object(
  {
    features: Type.Record(
      Type.String(),
      Type.Object({ enabled: Type.Boolean() }, { additionalProperties: false }),
      { description: 'NAME -> {"enabled": boolean}, over all active licenses' },
    ),
    handlers: Handlers,
    canAddUser: Type.Boolean({ description: 'A seat is free: activeUserCount < licenseSeats' }),
    dataAccessBlocked: Type.Boolean({
      description: 'No active license and an expired hardExpiration license',
    }),
  },
  {
    additionalProperties: false,
    description: 'What the effective license allows',
    examples: [
      {
        features: { FPE: { enabled: true }, nativeSqlTeradata: { enabled: true } },
        handlers: { Snowflake: {} },
        canAddUser: true,
        dataAccessBlocked: false,
      },
    ],
  },
);

/** What the licensed product asks on every login: notices (public) and entitlements (any token). */
export const hostRoutes: FastifyPluginAsyncTypebox<AppContext> = async (app, { store, clock }) => {
  app.get(
    '/license/notices',
    {
      config: { access: 'public' },
      schema: {
        operationId: 'getLoginNotices',
        tags: ['host product'],
        summary: 'Login-page notices (public)',
        description:
          'The notice of every active license and the noticeOnExpire of every expired one that is not deleted or invalidated. Nothing else about the licenses is revealed.',
        response: { 200: Notices, ...problemResponses('STORE_UNAVAILABLE') },
      },
    },
    async (_request, reply) => {
      const view = await store.readView(clock.now());
      return sendJson(
        reply,
        view.memo('notices', () =>
          JSON.stringify({ notices: view.effective.notices.map(({ kind, text }) => ({ kind, text })) }),
        ),
      );
    },
  );

  app.get(
    '/license/entitlements',
    {
      config: { access: 'token' },
      schema: {
        operationId: 'getEntitlements',
        tags: ['host product'],
        summary: 'Features, handlers, whether a user can be added, whether data access is blocked',
        description: 'Any valid token. Seat counts, license keys and licensee details are not included.',
        security: [{ bearer: [] }],
        response: { 200: Entitlements, ...problemResponses(...TOKEN_ERRORS) },
      },
    },
    async (_request, reply) => {
      // Serialized once per snapshot view: the body changes only when the view does.
      const view = await store.readView(clock.now());
      return sendJson(
        reply,
        view.memo('entitlements', () => {
          const { effective, activeUserCount } = view;
          return JSON.stringify({
            features: Object.fromEntries(
              Object.entries(effective.features).map(([name, f]) => [name, { enabled: f.enabled }]),
            ),
            handlers: effective.handlers,
            canAddUser: activeUserCount < effective.licenseSeats,
            dataAccessBlocked: effective.dataAccessBlocked,
          });
        }),
      );
    },
  );
};
