import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Clock } from '../domain/clock.js';
import type { Store } from '../store/store.js';

/** What a changing route records: an action name and the kind of thing its id parameter names. */
export interface AuditSpec {
  action: string;
  target?: 'license' | 'user' | 'token';
}

declare module 'fastify' {
  interface FastifyContextConfig {
    audit?: AuditSpec;
  }
  interface FastifyRequest {
    /** Set by a handler that creates something, e.g. "user:12". */
    auditTarget: string | null;
    /**
     * Set by a handler whose request changes nothing worth an audit line, succeeded or refused (a
     * dry run, activity of an already active user); it is then audited like a read.
     */
    auditSkip: boolean;
    /** The problem code the request was refused with, set by the error handler. */
    problemCode: string | null;
  }
}

function targetOf(request: FastifyRequest, spec: AuditSpec): string | null {
  if (request.auditTarget !== null) return request.auditTarget;
  const params = request.params as Record<string, unknown> | undefined;
  const id = params?.id ?? params?.licenseId;
  if (spec.target === undefined || typeof id !== 'string') return null;
  return `${spec.target}:${id.slice(0, 64)}`;
}

/**
 * Records every change and every refused change (SPEC: audit) from one hook, so a new route cannot
 * forget to: routes that change something declare `config.audit`; any route's 401 and 403 are
 * recorded too. Runs after the response is sent, so auditing never delays or fails a request;
 * a failure to write the audit line is logged.
 */
export function registerAudit(app: FastifyInstance, store: Store, clock: Clock): void {
  app.decorateRequest('auditTarget', null);
  app.decorateRequest('problemCode', null);
  app.decorateRequest('auditSkip', false);
  app.addHook('onResponse', async (request, reply) => {
    const spec = request.routeOptions.config.audit;
    const status = reply.statusCode;
    const authRefusal = status === 401 || status === 403;
    if ((spec === undefined || request.auditSkip) && !authRefusal) return;
    // A refused read is worth a line only as an authentication or permission refusal.
    const action =
      spec?.action ?? `${request.method} ${request.routeOptions.url ?? request.url.split('?')[0]}`;
    try {
      await store.appendAudit({
        at: clock.now(),
        actorTokenId: request.principal?.id ?? null,
        actorName: request.principal?.name ?? null,
        action,
        target: spec === undefined ? null : targetOf(request, spec),
        outcome: status < 400 ? 'success' : 'refused',
        code: status < 400 ? null : request.problemCode,
        clientAddress: request.ip,
      });
    } catch (err) {
      request.log.error({ err, action }, 'could not write the audit record');
    }
  });
}
