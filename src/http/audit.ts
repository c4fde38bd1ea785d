import type { FastifyBaseLogger, FastifyInstance, FastifyRequest } from 'fastify';
import { auditEntry, type Actor } from '../domain/changes.js';
import type { Clock } from '../domain/clock.js';
import { isLicensorError, type LicensorError } from '../domain/errors.js';
import { seatRefusedEvent, type EventDraft, type SeatFigures } from '../domain/events.js';
import type { ChangeContext, Store } from '../store/store.js';
import { AuthFailureLog } from './auth-failure-log.js';

/** What a changing route records: an action name and the kind of thing its id parameter names. */
export interface AuditSpec {
  action: string;
  target?: 'license' | 'user' | 'token' | 'webhook';
}

declare module 'fastify' {
  interface FastifyContextConfig {
    audit?: AuditSpec;
  }
  interface FastifyRequest {
    /**
     * Set by a handler whose request changes nothing worth an audit line (a dry run); a refusal
     * of it is then not recorded either, as for a read.
     */
    auditSkip: boolean;
    /** The problem code the request was refused with, set by the error handler. */
    problemCode: string | null;
    /** The refusal itself, when it was a LicensorError: its facts go into events. */
    refusal: LicensorError | null;
    /** The client's address (its socket keeps it after a reset: see registerAudit). */
    readonly clientAddress: string;
  }
}

/** Who is acting in this request, for the audit entry its change commits with. */
export function actorOf(request: FastifyRequest): Actor {
  return {
    tokenId: request.principal?.id ?? null,
    tokenName: request.principal?.name ?? null,
    clientAddress: request.clientAddress,
  };
}

/** What a changing route hands the store: the clock (read under the store's locks) and the actor. */
export function changeContext(request: FastifyRequest, clock: Clock): ChangeContext {
  return { clock, actor: actorOf(request) };
}

function targetOf(request: FastifyRequest, spec: AuditSpec): string | null {
  const params = request.params as Record<string, unknown> | undefined;
  const id = params?.id ?? params?.licenseId;
  if (spec.target === undefined || typeof id !== 'string') return null;
  return `${spec.target}:${id.slice(0, 64)}`;
}

/** The events a refusal produces: `seats.refused`, merged per minute (docs/events.md). */
function refusalEvents(refusal: LicensorError | null, at: Date): EventDraft[] {
  if (refusal?.code !== 'SEAT_LIMIT_REACHED' || refusal.facts === undefined) return [];
  return [seatRefusedEvent(refusal.facts as SeatFigures, at)];
}

/**
 * The audit log (docs/audit.md). A change's own entry is committed by the store in the change's
 * transaction, so an acknowledged change always has it. This hook records the rest before the
 * response leaves: a refused change (routes that declare `config.audit`), and a 403 on any route,
 * each in a transaction of its own. A 401 is counted in memory and written as a per-minute,
 * per-address aggregate, so a flood of bad tokens can neither fill the database nor take its
 * connections.
 */
export function registerAudit(
  app: FastifyInstance,
  store: Store,
  clock: Clock,
  log: FastifyBaseLogger,
): void {
  const failures = new AuthFailureLog(store, clock, log);
  app.decorateRequest('problemCode', null);
  app.decorateRequest('auditSkip', false);
  app.decorateRequest('refusal', null);
  // Node reads a socket's peer address lazily and cannot once the socket is gone: a client that
  // resets its connection right after sending would be audited without an address. Reading it
  // when the connection arrives keeps it (Node caches it on the socket), so the address can be
  // read when it is needed, after the response, rather than in a hook on every request.
  app.server.on('connection', (socket: { remoteAddress?: string }) => void socket.remoteAddress);
  app.decorateRequest('clientAddress', {
    getter(this: FastifyRequest): string {
      return this.ip ?? this.socket.remoteAddress ?? 'unknown';
    },
  });
  app.addHook('onError', async (request, _reply, err) => {
    if (isLicensorError(err)) request.refusal = err;
  });
  const auditRefusal = async (request: FastifyRequest, status: number): Promise<void> => {
    // A refused token (401, or 429 once its address is over the limit) is counted, not written.
    if (status === 401 || status === 429) {
      failures.record(request.clientAddress);
      return;
    }
    const spec = request.routeOptions.config.audit;
    if ((spec === undefined || request.auditSkip) && status !== 403) return;
    // A refused read is worth a line only as a permission refusal.
    const action =
      spec?.action ?? `${request.method} ${request.routeOptions.url ?? request.url.split('?')[0]}`;
    const at = clock.now();
    // The refusal changed nothing; a store that cannot take its entry is logged, not answered.
    await store
      .recordRefusal(
        auditEntry(
          {
            action,
            target: spec === undefined ? null : targetOf(request, spec),
            targetName: null,
            outcome: 'refused',
            code: request.problemCode,
          },
          actorOf(request),
          at,
        ),
        refusalEvents(request.refusal, at),
      )
      .catch((err: unknown) => request.log.error({ err, action }, 'could not write the audit record'));
  };
  // A callback hook: the successful responses (nearly all) pass without a promise.
  app.addHook('onSend', (request, reply, payload, done) => {
    const status = reply.statusCode;
    if (status < 400) {
      done(null, payload);
      return;
    }
    void auditRefusal(request, status).then(() => done(null, payload));
  });
  app.addHook('onClose', async () => {
    await failures.close();
  });
}
