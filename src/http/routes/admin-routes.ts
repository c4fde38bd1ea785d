import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import Type from 'typebox';
import type { TokenRecord } from '../../store/store.js';
import type { AppContext } from '../app.js';
import { generateTokenSecret, hashTokenSecret } from '../auth.js';
import { problemResponses, Timestamp } from '../schemas/common-schemas.js';
import { pageQuery } from '../schemas/user-schemas.js';
import { parseId } from './license-routes.js';

const security = [{ bearer: [] }];
const access = 'APPLICATION_ADMIN' as const;

const PermissionSchema = Type.Union([Type.Literal('APPLICATION_ADMIN'), Type.Literal('USER_ADMIN')]);

const tokenFields = {
  id: Type.Integer(),
  name: Type.String(),
  permissions: Type.Array(PermissionSchema),
  createdAt: Timestamp,
  revokedAt: Type.Union([Timestamp, Type.Null()]),
  bootstrap: Type.Boolean({
    description: 'The administrator token from LICENSOR_ADMIN_TOKEN or first start',
  }),
};
const Token = Type.Object(tokenFields, { $id: 'Token', additionalProperties: false });
const CreatedToken = Type.Object(
  {
    ...tokenFields,
    secret: Type.String({
      description: 'The bearer secret. Shown only in this response; only its hash is stored.',
    }),
  },
  { additionalProperties: false },
);

const AuditEntry = Type.Object(
  {
    id: Type.Integer(),
    at: Timestamp,
    actorTokenId: Type.Union([Type.Integer(), Type.Null()]),
    actorName: Type.Union([Type.String(), Type.Null()]),
    action: Type.String({ examples: ['license.add', 'user.create', 'GET /admin/license'] }),
    target: Type.Union([Type.String(), Type.Null()], { examples: ['license:3'] }),
    outcome: Type.Union([Type.Literal('success'), Type.Literal('refused')]),
    code: Type.Union([Type.String(), Type.Null()], { description: 'The problem code of a refusal' }),
    clientAddress: Type.String(),
  },
  { additionalProperties: false },
);

function tokenView(token: TokenRecord) {
  return {
    id: token.id,
    name: token.name,
    permissions: token.permissions,
    createdAt: token.createdAt.toISOString(),
    revokedAt: token.revokedAt?.toISOString() ?? null,
    bootstrap: token.bootstrap,
  };
}

/** API tokens and the audit log, for administrators. */
export const adminRoutes: FastifyPluginAsyncTypebox<AppContext> = async (app, { store, clock }) => {
  app.post(
    '/admin/tokens',
    {
      config: { access, audit: { action: 'token.create' } },
      schema: {
        tags: ['tokens'],
        summary: 'Create an API token (the secret is shown once)',
        security,
        body: Type.Object(
          {
            name: Type.String({ minLength: 1, maxLength: 128, pattern: '^[^\\u0000-\\u001f\\u007f]+$' }),
            permissions: Type.Array(PermissionSchema, { minItems: 1, uniqueItems: true }),
          },
          { additionalProperties: false, examples: [{ name: 'host product', permissions: ['USER_ADMIN'] }] },
        ),
        response: { 201: CreatedToken, ...problemResponses(400, 401, 403) },
      },
    },
    async (request, reply) => {
      const secret = generateTokenSecret();
      const token = await store.createToken(
        { name: request.body.name, permissions: request.body.permissions, hash: hashTokenSecret(secret) },
        clock.now(),
      );
      request.auditTarget = `token:${token.id}`;
      return reply.code(201).send({ ...tokenView(token), secret });
    },
  );

  app.get(
    '/admin/tokens',
    {
      config: { access },
      schema: {
        tags: ['tokens'],
        summary: 'Live tokens (never their secrets)',
        security,
        response: { 200: Type.Array(Token), ...problemResponses(401, 403) },
      },
    },
    async () => (await store.listTokens()).map(tokenView),
  );

  app.delete(
    '/admin/tokens/:id',
    {
      config: { access, audit: { action: 'token.revoke', target: 'token' } },
      schema: {
        tags: ['tokens'],
        summary: 'Revoke a token (401 for it from then on)',
        security,
        params: Type.Object({ id: Type.String() }),
        response: { 200: Token, ...problemResponses(400, 401, 403, 404) },
      },
    },
    async (request) => tokenView(await store.revokeToken(parseId(request.params.id), clock.now())),
  );

  app.get(
    '/admin/audit',
    {
      config: { access },
      schema: {
        tags: ['audit'],
        summary: 'The audit log, newest first',
        security,
        querystring: Type.Object(pageQuery, { additionalProperties: false }),
        response: {
          200: Type.Object(
            {
              offset: Type.Integer(),
              size: Type.Integer(),
              total: Type.Integer(),
              entries: Type.Array(AuditEntry),
            },
            { additionalProperties: false },
          ),
          ...problemResponses(400, 401, 403),
        },
      },
    },
    async (request) => {
      const { offset, size } = request.query;
      const { entries, total } = await store.listAudit({ offset, size });
      return { offset, size, total, entries: entries.map((e) => ({ ...e, at: e.at.toISOString() })) };
    },
  );
};
