import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { LicensorError } from '../../domain/errors.js';
import type { AppContext } from '../app-context.js';
import {
  CONSOLE_CSP,
  CONSOLE_PATH,
  loadConsoleAssets,
  type ConsoleAsset,
  type ConsoleAssets,
} from '../console-assets.js';

const PUBLIC = { access: 'public' } as const;

/**
 * The administrator console (docs/console.md): public static files, hidden from the API document.
 * The page holds no data; every API call it makes needs a token.
 */
export const consoleRoutes: FastifyPluginAsyncTypebox<AppContext> = async (app) => {
  // Read on first request and kept: the files do not change while the server runs.
  let assets: ConsoleAssets | undefined;
  const load = (): ConsoleAssets => {
    assets ??= loadConsoleAssets();
    if (assets === undefined)
      throw new LicensorError('ROUTE_NOT_FOUND', 'the console is not built: run "npm run build"');
    return assets;
  };

  const send = (request: FastifyRequest, reply: FastifyReply, file: ConsoleAsset) => {
    reply
      .header('content-security-policy', CONSOLE_CSP)
      .header('x-content-type-options', 'nosniff')
      .header('referrer-policy', 'no-referrer')
      .header('cross-origin-opener-policy', 'same-origin')
      // Small files: always revalidate, so a new build is picked up at once.
      .header('cache-control', 'no-cache')
      .header('etag', file.etag)
      .type(file.type);
    if (request.headers['if-none-match'] === file.etag) return reply.code(304).send();
    return reply.send(file.body);
  };

  // The root is where a person lands first: the console, not a JSON 404. Relative, so a path
  // prefix a reverse proxy adds in front is kept; 302, so a later root page can take its place.
  app.get('/', { config: PUBLIC, schema: { hide: true } }, async (_request, reply) =>
    reply.redirect('console/', 302),
  );

  app.get(CONSOLE_PATH, { config: PUBLIC, schema: { hide: true } }, async (request, reply) => {
    // "/console" (the same route) would resolve the page's relative URLs against "/". A relative
    // redirect keeps a path prefix a reverse proxy may add in front.
    if (!request.url.split('?')[0]!.endsWith('/')) return reply.redirect('console/', 308);
    return send(request, reply, load().page);
  });

  app.get(`${CONSOLE_PATH}*`, { config: PUBLIC, schema: { hide: true } }, async (request, reply) => {
    const path = (request.params as { '*': string })['*'];
    // A lookup among the built files by exact name: no path is ever joined, so nothing else can be reached.
    const file = load().files.get(path);
    if (file === undefined)
      throw new LicensorError('ROUTE_NOT_FOUND', `no route GET ${request.url.split('?')[0] ?? ''}`);
    return send(request, reply, file);
  });
};
