import type { FastifyInstance } from 'fastify';
import type { Access } from '../../src/http/auth.js';

export interface RouteEntry {
  method: string;
  url: string;
  access: Access;
}

/** Every route the app registered (from the route table, not a list kept by hand), HEAD excepted. */
export function routeTable(app: FastifyInstance): RouteEntry[] {
  return app.accessTable.filter((r) => r.method !== 'HEAD').map((r) => ({ ...r }));
}
