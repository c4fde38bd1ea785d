import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import Type from 'typebox';
import { LicensorError } from '../../domain/errors.js';
import type { AppContext } from '../app-context.js';
import { DOCS_CSP, DOCS_CSS, DOCS_STYLESHEET_PATH, renderDocsPage } from '../docs-page.js';
import type { OpenApiDocument } from '../openapi.js';
import { problemResponses, TOKEN_ERRORS } from '../problem-responses.js';

/** The API description and its rendered reference, liveness, readiness and metrics. */
export const metaRoutes: FastifyPluginAsyncTypebox<AppContext> = async (
  app,
  { store, metrics, draining },
) => {
  app.get(
    '/openapi.json',
    {
      config: { access: 'public' },
      schema: { hide: true },
    },
    async () => app.swagger(),
  );

  // Rendered once, on first request: the document is complete only once the app is ready.
  let docsPage: string | undefined;
  app.get(
    '/docs',
    {
      config: { access: 'public' },
      schema: { hide: true },
    },
    async (_request, reply) => {
      docsPage ??= renderDocsPage(app.swagger() as unknown as OpenApiDocument);
      return reply
        .header('content-security-policy', DOCS_CSP)
        .header('x-content-type-options', 'nosniff')
        .header('referrer-policy', 'no-referrer')
        .type('text/html; charset=utf-8')
        .send(docsPage);
    },
  );

  app.get(
    DOCS_STYLESHEET_PATH,
    {
      config: { access: 'public' },
      schema: { hide: true },
    },
    async (_request, reply) =>
      reply
        .header('content-security-policy', DOCS_CSP)
        .header('x-content-type-options', 'nosniff')
        .header('cache-control', 'public, max-age=300')
        .type('text/css; charset=utf-8')
        .send(DOCS_CSS),
  );

  app.get(
    '/healthz',
    {
      config: { access: 'public' },
      schema: {
        operationId: 'getHealth',
        tags: ['operations'],
        summary: 'The process is alive (it does not touch the database)',
        description: 'For liveness probes: 200 as long as the process answers.',
        response: {
          200: Type.Object(
            { status: Type.Literal('ok') },
            { description: 'The process is alive', examples: [{ status: 'ok' }] },
          ),
          ...problemResponses(),
        },
      },
    },
    async () => ({ status: 'ok' as const }),
  );

  app.get(
    '/readyz',
    {
      config: { access: 'public' },
      schema: {
        operationId: 'getReadiness',
        tags: ['operations'],
        summary: 'The store answers and its migrations are applied',
        description:
          'Migrations run before the server listens, so a store that answers is migrated. 503 STORE_UNAVAILABLE when the database cannot be reached, and 503 SHUTTING_DOWN while the server drains after SIGTERM: take the instance out of the load balancer.',
        response: {
          200: Type.Object(
            {
              status: Type.Literal('ready'),
              store: Type.String({ description: 'The kind of store', examples: ['sqlite', 'postgres'] }),
            },
            { description: 'Ready for traffic', examples: [{ status: 'ready', store: 'postgres' }] },
          ),
          ...problemResponses('STORE_UNAVAILABLE', 'SHUTTING_DOWN'),
        },
      },
    },
    async () => {
      // Tell load balancers to stop sending traffic here.
      if (draining?.() === true) throw new LicensorError('SHUTTING_DOWN', 'the server is shutting down');
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
          operationId: 'getMetrics',
          tags: ['operations'],
          summary: 'Prometheus metrics (any valid token)',
          description:
            'Request counts and latency by route and status, process metrics, and license gauges: active users, hard seats, license seats, seconds until the next expiry, data access blocked; webhook deliveries pending and failed, and the age of the oldest pending event.',
          security: [{ bearer: [] }],
          response: {
            200: {
              description: 'Prometheus text format',
              content: {
                'text/plain': {
                  schema: Type.String({
                    examples: [
                      [
                        '# HELP licensor_active_users Active users (not disabled, active within the window)',
                        '# TYPE licensor_active_users gauge',
                        'licensor_active_users 18',
                        '# HELP licensor_license_seats Sum of seats and soft seats over active licenses',
                        '# TYPE licensor_license_seats gauge',
                        'licensor_license_seats 25',
                        'licensor_http_requests_total{method="GET",route="/admin/license/:licenseId",status="404"} 2',
                        '',
                      ].join('\n'),
                    ],
                  }),
                },
              },
            },
            ...problemResponses(...TOKEN_ERRORS),
          },
        },
      },
      async (_request, reply) => reply.type(registry.contentType).send(await registry.metrics()),
    );
  }
};
