import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import Type from 'typebox';
import type { AppContext } from '../app.js';

/** The API description and liveness, both public. */
export const metaRoutes: FastifyPluginAsyncTypebox<AppContext> = async (app) => {
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
        summary: 'The process is alive',
        response: { 200: Type.Object({ status: Type.Literal('ok') }) },
      },
    },
    async () => ({ status: 'ok' as const }),
  );
};
