import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { AppContext } from '../app-context.js';
import { problemResponses, TOKEN_ERRORS } from '../problem-responses.js';
import { Instance, Jwks } from '../../api/instance-schemas.js';

/** The instance identity (docs/instance-identity.md): who signs this installation's documents. */
export const instanceRoutes: FastifyPluginAsyncTypebox<AppContext> = async (app, { instance }) => {
  app.get(
    '/admin/instance',
    {
      config: { access: 'token' },
      schema: {
        operationId: 'getInstance',
        tags: ['instance'],
        summary: 'The instance id and the public key that signs its documents',
        description:
          'Any valid token. The id and key are created on first start and shared by every instance on one database; pin `publicKey` (or the JWKS) to verify usage reports and signed entitlements.',
        security: [{ bearer: [] }],
        response: { 200: Instance, ...problemResponses(...TOKEN_ERRORS) },
      },
    },
    async () => {
      const { kid, jwk } = instance.current;
      return {
        instanceId: instance.instanceId,
        kid,
        publicKey: jwk,
        createdAt: instance.createdAt.toISOString(),
      };
    },
  );

  app.get(
    '/.well-known/jwks.json',
    {
      config: { access: 'public' },
      schema: {
        operationId: 'getInstanceJwks',
        tags: ['instance'],
        summary: 'The instance public keys as a JWKS (public)',
        description:
          'Every key whose documents may still be in use: after a rotation the new key is listed first and the old one stays until its documents have expired.',
        response: { 200: Jwks, ...problemResponses() },
      },
    },
    async () => instance.jwks(),
  );
};
