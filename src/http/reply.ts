import type { FastifyReply } from 'fastify';
import type { ReadView, Store } from '../store/store.js';

/**
 * Sends JSON that is already serialized (a body memoised per snapshot view), skipping Fastify's
 * serializer; the body was built to the route's response schema.
 */
export function sendJson(reply: FastifyReply, body: string): FastifyReply {
  return reply.type('application/json; charset=utf-8').send(body);
}

/**
 * Answers with the body `render` makes of the snapshot view at `now`, serialized once per view
 * under `key`. Synchronous while the snapshot is current (nearly always), so the hottest routes
 * answer without a promise; otherwise it waits for the snapshot to load.
 */
export function sendViewJson(
  reply: FastifyReply,
  store: Store,
  now: Date,
  key: string,
  render: (view: ReadView) => string,
): void | Promise<void> {
  const view = store.currentView(now);
  if (view !== undefined) {
    sendJson(
      reply,
      view.memo(key, () => render(view)),
    );
    return;
  }
  return store.readView(now).then((loaded) => {
    sendJson(
      reply,
      loaded.memo(key, () => render(loaded)),
    );
  });
}
