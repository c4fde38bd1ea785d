import type Database from 'better-sqlite3';
import { auditEntry, changeAudit } from '../../domain/changes.js';
import { LicensorError } from '../../domain/errors.js';
import type { EventRecord } from '../../domain/events.js';
import { pickDeliveries } from '../../domain/webhooks.js';
import { eventFromRow, type EventRow } from '../rows.js';
import type { ChangeContext } from '../store.js';
import {
  ATTEMPT_SELECT,
  attemptFromRow,
  WEBHOOK_SELECT,
  webhookFromRow,
  type AttemptRow,
  type WebhookRow,
} from '../webhook-rows.js';
import type {
  ClaimedDelivery,
  ClaimRequest,
  DeliveryAttempt,
  DeliveryStats,
  NewAttempt,
  NewWebhook,
  ScheduledEvent,
  WebhookPatch,
  WebhookRecord,
  WebhookStore,
} from '../webhook-store.js';
import { byKey } from '../webhook-rows.js';
import type { SqliteQueries } from './sqlite-queries.js';

/** How many due deliveries a claim looks at for each one it may take. */
const CLAIM_LOOKAHEAD = 4;

/**
 * Webhooks on SQLite. Every write runs under the database's write lock (BEGIN IMMEDIATE), which is
 * what makes a claim safe across processes sharing the file: the claim reads the due deliveries and
 * moves them a lease ahead before any other process can read them.
 */
export class SqliteWebhooks implements WebhookStore {
  readonly #db: Database.Database;
  readonly #q: SqliteQueries;
  readonly #write: <T>(fn: () => T) => Promise<T>;
  readonly #read: <T>(fn: () => T) => Promise<T>;

  constructor(
    db: Database.Database,
    q: SqliteQueries,
    write: <T>(fn: () => T) => Promise<T>,
    read: <T>(fn: () => T) => Promise<T>,
  ) {
    this.#db = db;
    this.#q = q;
    this.#write = write;
    this.#read = read;
  }

  #get(id: number): WebhookRecord | undefined {
    const row = this.#db.prepare<[number], WebhookRow>(`${WEBHOOK_SELECT} WHERE w.id = ?`).get(id);
    return row === undefined ? undefined : webhookFromRow(row);
  }

  #existing(id: number): WebhookRecord {
    const found = this.#get(id);
    if (found === undefined) throw new LicensorError('WEBHOOK_NOT_FOUND', `no webhook with id ${id}`);
    return found;
  }

  #audit(action: string, id: number, ctx: ChangeContext, now: Date): void {
    this.#q.insertAudit(auditEntry(changeAudit(action, 'webhook', id, null), ctx.actor, now));
  }

  createWebhook(webhook: NewWebhook, ctx: ChangeContext): Promise<WebhookRecord> {
    return this.#write(() => {
      const now = ctx.clock.now().toISOString();
      const { id } = this.#db
        .prepare<unknown[], { id: number }>(
          `INSERT INTO webhooks (url, events, description, secret, created_at, updated_at)
             VALUES (?, ?, ?, ?, ?, ?) RETURNING id`,
        )
        .get(webhook.url, JSON.stringify(webhook.events), webhook.description, webhook.secret, now, now) as {
        id: number;
      };
      this.#audit('webhook.create', id, ctx, new Date(now));
      return this.#existing(id);
    });
  }

  listWebhooks(): Promise<WebhookRecord[]> {
    return this.#read(() =>
      this.#db.prepare<[], WebhookRow>(`${WEBHOOK_SELECT} ORDER BY w.id`).all().map(webhookFromRow),
    );
  }

  getWebhook(id: number): Promise<WebhookRecord | undefined> {
    return this.#read(() => this.#get(id));
  }

  updateWebhook(id: number, patch: WebhookPatch, ctx: ChangeContext): Promise<WebhookRecord> {
    return this.#write(() => {
      const before = this.#existing(id);
      const now = ctx.clock.now();
      this.#db
        .prepare(
          'UPDATE webhooks SET url = ?, events = ?, description = ?, enabled = ?, updated_at = ? WHERE id = ?',
        )
        .run(
          patch.url ?? before.url,
          JSON.stringify(patch.events ?? before.events),
          patch.description === undefined ? before.description : patch.description,
          (patch.enabled ?? before.enabled) ? 1 : 0,
          now.toISOString(),
          id,
        );
      this.#audit('webhook.update', id, ctx, now);
      return this.#existing(id);
    });
  }

  deleteWebhook(id: number, ctx: ChangeContext): Promise<WebhookRecord> {
    return this.#write(() => {
      const before = this.#existing(id);
      const now = ctx.clock.now();
      this.#db.prepare('DELETE FROM webhook_attempts WHERE webhook_id = ?').run(id);
      this.#db.prepare('DELETE FROM webhook_deliveries WHERE webhook_id = ?').run(id);
      this.#db.prepare('DELETE FROM webhooks WHERE id = ?').run(id);
      this.#audit('webhook.delete', id, ctx, now);
      return before;
    });
  }

  queuePing(id: number, ctx: ChangeContext): Promise<EventRecord> {
    return this.#write(() => {
      this.#existing(id);
      const now = ctx.clock.now();
      const eventId = this.#q.insertEvent({ type: 'ping', data: {} }, now);
      this.#db
        .prepare(
          'INSERT INTO webhook_deliveries (webhook_id, event_id, next_attempt_at, created_at) VALUES (?, ?, ?, ?)',
        )
        .run(id, eventId, now.toISOString(), now.toISOString());
      this.#audit('webhook.test', id, ctx, now);
      return { id: eventId, type: 'ping', timestamp: now, data: {} };
    });
  }

  listDeliveries(
    id: number,
    page: { offset: number; size: number },
  ): Promise<{ attempts: DeliveryAttempt[]; total: number }> {
    return this.#read(() => {
      this.#existing(id);
      const attempts = this.#db
        .prepare<unknown[], AttemptRow>(
          `${ATTEMPT_SELECT} WHERE a.webhook_id = ? ORDER BY a.id DESC LIMIT ? OFFSET ?`,
        )
        .all(id, page.size, page.offset)
        .map(attemptFromRow);
      const total = this.#q.count('SELECT count(*) AS n FROM webhook_attempts WHERE webhook_id = ?', id);
      return { attempts, total };
    });
  }

  claimDeliveries(request: ClaimRequest): Promise<ClaimedDelivery[]> {
    return this.#write(() => {
      const now = request.now.toISOString();
      const due = this.#db
        .prepare<
          unknown[],
          { webhookId: number; eventId: string; attempts: number; url: string; secret: string }
        >(
          `SELECT d.webhook_id AS webhookId, d.event_id AS eventId, d.attempts, w.url, w.secret
             FROM webhook_deliveries d JOIN webhooks w ON w.id = d.webhook_id
             WHERE d.state = 'pending' AND d.next_attempt_at <= ? AND w.enabled = 1
             ORDER BY d.next_attempt_at LIMIT ?`,
        )
        .all(now, request.limit * CLAIM_LOOKAHEAD);
      const picked = pickDeliveries(due, request.inFlight, request.perEndpoint, request.limit);
      const lease = new Date(request.now.getTime() + request.leaseMs).toISOString();
      const claimed: ClaimedDelivery[] = [];
      for (const d of picked) {
        this.#db
          .prepare(
            'UPDATE webhook_deliveries SET attempts = attempts + 1, next_attempt_at = ? WHERE webhook_id = ? AND event_id = ?',
          )
          .run(lease, d.webhookId, d.eventId);
        const row = this.#db
          .prepare<[string], EventRow>('SELECT id, type, at, data FROM events WHERE id = ?')
          .get(d.eventId);
        if (row === undefined) continue;
        claimed.push({
          webhookId: d.webhookId,
          url: d.url,
          secret: d.secret,
          event: eventFromRow(row),
          attempt: d.attempts + 1,
        });
      }
      return claimed;
    });
  }

  recordAttempt(a: NewAttempt): Promise<void> {
    return this.#write(() => {
      const state = this.#db
        .prepare<[number, string], { attempts: number; state: string }>(
          'SELECT attempts, state FROM webhook_deliveries WHERE webhook_id = ? AND event_id = ?',
        )
        .get(a.webhookId, a.eventId);
      // Deleted with its endpoint meanwhile, or already settled by another attempt: nothing to log.
      if (state === undefined || state.state !== 'pending') return;
      this.#db
        .prepare(
          `INSERT INTO webhook_attempts (webhook_id, event_id, attempt, at, duration_ms, status_code, error, outcome, next_retry_at)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
        )
        .run(
          a.webhookId,
          a.eventId,
          a.attempt,
          a.at.toISOString(),
          a.durationMs,
          a.statusCode,
          a.error,
          a.outcome,
          a.nextRetryAt?.toISOString() ?? null,
        );
      if (a.outcome === 'retry')
        this.#db
          .prepare('UPDATE webhook_deliveries SET next_attempt_at = ? WHERE webhook_id = ? AND event_id = ?')
          .run((a.nextRetryAt as Date).toISOString(), a.webhookId, a.eventId);
      else
        this.#db
          .prepare(
            'UPDATE webhook_deliveries SET state = ?, finished_at = ? WHERE webhook_id = ? AND event_id = ?',
          )
          .run(a.outcome, a.at.toISOString(), a.webhookId, a.eventId);
    });
  }

  deliveryStats(): Promise<DeliveryStats> {
    return this.#read(() => {
      const row = this.#db
        .prepare<[], { pending: number; failed: number; oldest: string | null }>(
          `SELECT
             (SELECT count(*) FROM webhook_deliveries WHERE state = 'pending') AS pending,
             (SELECT count(*) FROM webhook_deliveries WHERE state = 'failed') AS failed,
             (SELECT min(e.at) FROM webhook_deliveries d JOIN events e ON e.id = d.event_id
                WHERE d.state = 'pending') AS oldest`,
        )
        .get() as { pending: number; failed: number; oldest: string | null };
      return {
        pending: row.pending,
        failed: row.failed,
        oldestPendingAt: row.oldest === null ? null : new Date(row.oldest),
      };
    });
  }

  scheduleState(): Promise<{ since: Date; produced: Set<string> }> {
    return this.#read(() => {
      const since = this.#db.prepare<[], string>('SELECT since FROM scheduler_state').pluck().get() as string;
      const keys = this.#db
        .prepare<[], { k: string }>("SELECT license_id || ':' || milestone AS k FROM scheduled_events")
        .all();
      return { since: new Date(since), produced: new Set(keys.map((r) => r.k)) };
    });
  }

  produceScheduled(events: readonly ScheduledEvent[], now: Date): Promise<string[]> {
    return this.#write(() => {
      const produced: string[] = [];
      for (const { milestone, event } of byKey(events)) {
        const taken = this.#db
          .prepare(
            `INSERT INTO scheduled_events (license_id, milestone, event_id, at) VALUES (?, ?, '', ?)
               ON CONFLICT DO NOTHING`,
          )
          .run(milestone.licenseId, milestone.key, now.toISOString());
        if (taken.changes === 0) continue;
        const id = this.#q.insertEvent(event, now);
        this.#db
          .prepare('UPDATE scheduled_events SET event_id = ? WHERE license_id = ? AND milestone = ?')
          .run(id, milestone.licenseId, milestone.key);
        produced.push(`${milestone.licenseId}:${milestone.key}`);
      }
      return produced;
    });
  }
}
