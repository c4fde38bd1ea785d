import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import type { RequestSeries } from './metrics.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** `performance.now()` when the request's first hook ran. */
    startedAt: number;
  }
}

/*
 * Each answer is counted in the request metrics and, at log level `info`, written as one
 * access-log line (`request completed`) when it is handed to the connection (`onSend`). An answer
 * whose client has already gone is counted too: the server did the work.
 *
 * No `onResponse` hook, no response listener and no Fastify logger: with any of them, Fastify or
 * Node adds work to every request, up to a tenth of a snapshot read's cost
 * (docs/performance.md#the-request-lifecycle). Every body is a string or a buffer, written at
 * once, so the latency measured to `onSend` leaves out only the socket write.
 */

/** Notes when a request starts. Registered first: a hook that refuses (auth) skips later ones. */
export function observeRequests(app: FastifyInstance): void {
  app.decorateRequest('startedAt', 0);
  app.addHook('onRequest', (request, _reply, done) => {
    request.startedAt = performance.now();
    done();
  });
}

/**
 * Counts and logs answers: each request's through `observeAnswers`' hook, and through `answered`
 * the answers the router gives before any hook runs (docs/deployment.md#logs).
 */
export class AnswerLog {
  readonly #requests: RequestSeries;
  readonly #log: Logger;

  constructor(requests: RequestSeries, log: Logger) {
    this.#requests = requests;
    this.#log = log;
  }

  /**
   * One answer of `status`, `seconds` after the request started. `remoteAddress` gives the address
   * the audit names (`clientAddress`, which the router's own requests do not carry), asked only
   * when the line is written: behind a trusted proxy it parses `X-Forwarded-For`.
   */
  answered(request: FastifyRequest, status: number, seconds: number, remoteAddress: () => string): void {
    // The route pattern, never the raw URL: ids and junk paths must not explode the label set.
    this.#requests.observe(request.method, request.routeOptions.url ?? 'unmatched', status, seconds);
    if (this.#log.isLevelEnabled('info'))
      request.log.info(
        {
          req: { method: request.method, url: request.url, remoteAddress: remoteAddress() },
          res: { statusCode: status },
          responseTime: seconds * 1000,
        },
        'request completed',
      );
  }
}

/**
 * Counts and logs each answer. Registered after the audit's hook, whose refusals it times and
 * whose `clientAddress` it logs (kept also when the client has reset its connection).
 */
export function observeAnswers(app: FastifyInstance, answers: AnswerLog): void {
  app.addHook('onSend', (request, reply, payload, done) => {
    const seconds = (performance.now() - request.startedAt) / 1000;
    answers.answered(request, reply.statusCode, seconds, () => request.clientAddress);
    done(null, payload);
  });
}
