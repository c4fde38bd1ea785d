import type { FastifyReply } from 'fastify';

/**
 * Sends JSON that is already serialized (a body memoised per snapshot view), skipping Fastify's
 * serializer; the body was built to the route's response schema.
 */
export function sendJson(reply: FastifyReply, body: string): FastifyReply {
  return reply.type('application/json; charset=utf-8').send(body);
}
