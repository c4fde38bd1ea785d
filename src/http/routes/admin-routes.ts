import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { TokenRecord } from '../../store/store.js';
import type { AppContext } from '../app-context.js';
import { changeContext } from '../audit.js';
import { generateTokenSecret, hashTokenSecret } from '../auth.js';
import {
  AuditPage,
  AuditQuery,
  AuthFailureQuery,
  CreatedToken,
  CreateTokenBody,
  Token,
  TokenIdParams,
  TokenList,
} from '../../api/admin-schemas.js';
import { BODY_ERRORS, PERMISSION_ERRORS, problemResponses } from '../problem-responses.js';
import { AuthFailurePage, EventPage, EventQuery } from '../../api/event-schemas.js';
import { parseId } from './license-routes.js';

const security = [{ bearer: [] }];
const access = 'APPLICATION_ADMIN' as const;

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
        operationId: 'createToken',
        tags: ['tokens'],
        summary: 'Create an API token (the secret is shown once)',
        description:
          'Only the SHA-256 hash of the secret is stored: keep the secret from this response, it cannot be shown again. Give the host product a USER_ADMIN token.',
        security,
        body: CreateTokenBody,
        response: {
          201: CreatedToken,
          ...problemResponses(...PERMISSION_ERRORS, ...BODY_ERRORS),
        },
      },
    },
    async (request, reply) => {
      const secret = generateTokenSecret();
      const token = await store.createToken(
        { name: request.body.name, permissions: request.body.permissions, hash: hashTokenSecret(secret) },
        changeContext(request, clock),
      );
      return reply.code(201).send({ ...tokenView(token), secret });
    },
  );

  app.get(
    '/admin/tokens',
    {
      config: { access },
      schema: {
        operationId: 'listTokens',
        tags: ['tokens'],
        summary: 'Live tokens (never their secrets)',
        description: 'The tokens that are not revoked, in id order.',
        security,
        response: {
          200: TokenList,
          ...problemResponses(...PERMISSION_ERRORS),
        },
      },
    },
    async () => (await store.listTokens()).map(tokenView),
  );

  app.delete(
    '/admin/tokens/:id',
    {
      config: { access, audit: { action: 'token.revoke', target: 'token' } },
      schema: {
        operationId: 'revokeToken',
        tags: ['tokens'],
        summary: 'Revoke a token (401 for it from then on)',
        description:
          'Returns the token with revokedAt set. A revoked token is no longer listed and cannot be revoked again (404 TOKEN_NOT_FOUND). The last live APPLICATION_ADMIN token cannot be revoked (409 LAST_ADMIN_TOKEN): create another administrator token first (docs/auth.md).',
        security,
        params: TokenIdParams,
        response: {
          200: Token,
          ...problemResponses(
            ...PERMISSION_ERRORS,
            ...BODY_ERRORS,
            'INVALID_ID',
            'TOKEN_NOT_FOUND',
            'LAST_ADMIN_TOKEN',
          ),
        },
      },
    },
    async (request) =>
      tokenView(await store.revokeToken(parseId(request.params.id), changeContext(request, clock))),
  );

  app.get(
    '/admin/audit',
    {
      config: { access },
      schema: {
        operationId: 'listAudit',
        tags: ['audit'],
        summary: 'The audit log, newest first',
        description:
          'Every change and every refused change, and every 403 of any route. `action`, `actor` (the token name), `outcome`, `from` and `to` keep only the entries that match them all; `total` counts those. See docs/audit.md.',
        security,
        querystring: AuditQuery,
        response: { 200: AuditPage, ...problemResponses(...PERMISSION_ERRORS, 'VALIDATION_FAILED') },
      },
    },
    async (request) => {
      const { offset, size, action, actor, outcome, from, to } = request.query;
      const { entries, total } = await store.listAudit({
        offset,
        size,
        ...(action !== undefined && { action }),
        ...(actor !== undefined && { actor }),
        ...(outcome !== undefined && { outcome }),
        ...(from !== undefined && { from: new Date(from) }),
        ...(to !== undefined && { to: new Date(to) }),
      });
      return { offset, size, total, entries: entries.map((e) => ({ ...e, at: e.at.toISOString() })) };
    },
  );

  app.get(
    '/admin/audit/auth-failures',
    {
      config: { access },
      schema: {
        operationId: 'listAuthFailures',
        tags: ['audit'],
        summary: 'Failed authentications, per minute and client address',
        description:
          'A 401 (or a 429 once an address is over its limit) is not one audit entry each: it is counted here, one row per minute and address, so a flood of bad tokens cannot fill the database. See docs/audit.md.',
        security,
        querystring: AuthFailureQuery,
        response: { 200: AuthFailurePage, ...problemResponses(...PERMISSION_ERRORS, 'VALIDATION_FAILED') },
      },
    },
    async (request) => {
      const { offset, size } = request.query;
      const { entries, total } = await store.listAuthFailures({ offset, size });
      return {
        offset,
        size,
        total,
        entries: entries.map((e) => ({
          minute: e.minute.toISOString(),
          clientAddress: e.clientAddress,
          count: e.count,
          firstAt: e.firstAt.toISOString(),
          lastAt: e.lastAt.toISOString(),
        })),
      };
    },
  );

  app.get(
    '/admin/events',
    {
      config: { access },
      schema: {
        operationId: 'listEvents',
        tags: ['events'],
        summary: 'The event log, newest first',
        description:
          "Every event a change produced, stored in the change's own transaction (the outbox webhooks deliver from). `type` keeps one kind. See docs/events.md.",
        security,
        querystring: EventQuery,
        response: { 200: EventPage, ...problemResponses(...PERMISSION_ERRORS, 'VALIDATION_FAILED') },
      },
    },
    async (request) => {
      const { offset, size, type } = request.query;
      const { events, total } = await store.listEvents({ offset, size, ...(type !== undefined && { type }) });
      return {
        offset,
        size,
        total,
        events: events.map((e) => ({ ...e, timestamp: e.timestamp.toISOString() })),
      };
    },
  );
};
