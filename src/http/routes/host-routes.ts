import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import Type from 'typebox';
import { seatLimit } from '../../domain/seat-policy.js';
import { ENTITLEMENTS_TYP } from '../../keys/instance-signer.js';
import type { ReadView } from '../../store/store.js';
import type { AppContext } from '../app-context.js';
import { graceView } from '../license-view.js';
import { sendViewJson } from '../reply.js';
import { EntitlementsJwsQuery, Jose } from '../../api/instance-schemas.js';
import { problemResponses, TOKEN_ERRORS } from '../problem-responses.js';
import { Grace, Handlers } from '../../api/license-schemas.js';

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
    canAddUser: Type.Boolean({
      description:
        'The next user gets a seat: activeUserCount < seatLimit (licenseSeats, or the user cap when lower)',
    }),
    dataAccessBlocked: Type.Boolean({
      description: 'No active license and an expired hardExpiration license',
    }),
    grace: Grace,
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
        grace: null,
      },
    ],
  },
);

/** What the licensed product asks on every login: notices (public) and entitlements (any token). */
export const hostRoutes: FastifyPluginAsyncTypebox<AppContext> = async (
  app,
  { store, clock, instance, entitlementsTtlSeconds },
) => {
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
    (_request, reply) =>
      sendViewJson(reply, store, clock.now(), 'notices', (view) =>
        JSON.stringify({ notices: view.effective.notices.map(({ kind, text }) => ({ kind, text })) }),
      ),
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
    // Serialized once per snapshot view: the body changes only when the view does.
    (_request, reply) =>
      sendViewJson(reply, store, clock.now(), 'entitlements', (view) => JSON.stringify(entitlementsOf(view))),
  );

  app.get(
    '/license/entitlements.jws',
    {
      config: { access: 'token' },
      schema: {
        operationId: 'getSignedEntitlements',
        tags: ['host product'],
        summary: 'The entitlements signed by the instance, for a host product to trust offline',
        description:
          'Any valid token. A compact JWS (`alg EdDSA`, `typ entitlements+jws`, `kid` of the instance key): the entitlements body plus `instanceId`, `iat`, `exp` (`iat` + LICENSOR_ENTITLEMENTS_TTL_SECONDS) and the `nonce` asked for, echoed. The typed client verifies it against the pinned instance key and answers from it while the server is unreachable, until `exp` (docs/host-products.md).',
        security: [{ bearer: [] }],
        querystring: EntitlementsJwsQuery,
        response: {
          200: {
            description: 'The signed entitlements',
            content: { 'application/jose': { schema: Jose } },
          },
          ...problemResponses(...TOKEN_ERRORS, 'VALIDATION_FAILED'),
        },
      },
    },
    async (request, reply) => {
      const now = clock.now();
      const view = await store.readView(now);
      const iat = Math.floor(now.getTime() / 1000);
      const jws = instance.sign(ENTITLEMENTS_TYP, {
        ...entitlementsOf(view),
        instanceId: instance.instanceId,
        iat,
        exp: iat + entitlementsTtlSeconds,
        nonce: request.query.nonce,
      });
      return reply.type('application/jose').header('cache-control', 'no-store').send(jws);
    },
  );
};

/** What the effective license allows, as /license/entitlements answers and the signed copy holds. */
function entitlementsOf(view: ReadView): Record<string, unknown> {
  const { effective, activeUserCount, settings } = view;
  return {
    features: Object.fromEntries(
      Object.entries(effective.features).map(([name, f]) => [name, { enabled: f.enabled }]),
    ),
    handlers: effective.handlers,
    canAddUser: activeUserCount < seatLimit(effective, settings),
    dataAccessBlocked: effective.dataAccessBlocked,
    grace: graceView(effective),
  };
}
