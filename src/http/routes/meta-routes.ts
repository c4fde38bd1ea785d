import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import Type from 'typebox';
import type { AppContext } from '../app.js';
import { problemResponses } from '../schemas/common-schemas.js';

/** The API description, liveness, readiness and metrics. */
export const metaRoutes: FastifyPluginAsyncTypebox<AppContext> = async (app, { store, metrics }) => {
  app.get(
    '/openapi.json',
    {
      config: { access: 'public' },
      schema: { hide: true },
    },
    async () => app.swagger(),
  );

  app.get(
    '/healthz',
    {
      config: { access: 'public' },
      schema: {
        tags: ['operations'],
        summary: 'The process is alive (it does not touch the database)',
        response: { 200: Type.Object({ status: Type.Literal('ok') }) },
      },
    },
    async () => ({ status: 'ok' as const }),
  );

  app.get(
    '/readyz',
    {
      config: { access: 'public' },
      schema: {
        tags: ['operations'],
        summary: 'The store answers and its migrations are applied',
        description:
          'Migrations run before the server listens, so a store that answers is migrated. 503 STORE_UNAVAILABLE when the database cannot be reached: take the instance out of the load balancer.',
        response: {
          200: Type.Object({ status: Type.Literal('ready'), store: Type.String() }),
          ...problemResponses(503),
        },
      },
    },
    async () => {
      await store.ping();
      return { status: 'ready' as const, store: store.kind };
    },
  );

  if (metrics !== undefined) {
    const registry = metrics;
    app.get(
      '/metrics',
      {
        config: { access: 'token' },
        schema: {
          tags: ['operations'],
          summary: 'Prometheus metrics (any valid token)',
          description:
            'Request counts and latency by route and status, process metrics, and license gauges: active users, hard seats, license seats, seconds until the next expiry, data access blocked.',
          security: [{ bearer: [] }],
          response: {
            200: {
              description: 'Prometheus text format',
              content: { 'text/plain': { schema: Type.String() } },
            },
            ...problemResponses(401, 503),
          },
        },
      },
      async (_request, reply) => reply.type(registry.contentType).send(await registry.metrics()),
    );
  }
};
