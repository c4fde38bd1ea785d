import type pg from 'pg';
import type { PoolClient } from 'pg';
import { auditEntry, changeAudit } from '../../domain/changes.js';
import { LicensorError } from '../../domain/errors.js';
import type { EventRecord } from '../../domain/events.js';
import { pickDeliveries } from '../../domain/webhooks.js';
import { eventFromRow, newEventId, type EventRow } from '../rows.js';
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
import { inTransaction, translate } from './postgres-connection.js';
import { insertAudit, insertEvent } from './postgres-queries.js';

/** How many due deliveries a claim looks at for each one it may take. */
const CLAIM_LOOKAHEAD = 4;

/**
 * Webhooks on PostgreSQL. A claim locks due deliveries `FOR UPDATE SKIP LOCKED`, so instances
 * claiming at once each take different ones, and moves them a lease ahead before it commits: no
 * other instance attempts a delivery while one is attempting it (docs/webhooks.md#delivery).
 */
export class PostgresWebhooks implements WebhookStore {
  readonly #pool: pg.Pool;

  constructor(pool: pg.Pool) {
    this.#pool = pool;
  }

  async #tx<T>(work: (client: PoolClient) => Promise<T>): Promise<T> {
    try {
      return await inTransaction(this.#pool, work);
    } catch (err) {
      throw translate(err);
    }
  }

  async #get(client: PoolClient | pg.Pool, id: number): Promise<WebhookRecord | undefined> {
    const { rows } = await client.query<WebhookRow>(`${WEBHOOK_SELECT} WHERE w.id = $1`, [id]);
    return rows[0] === undefined ? undefined : webhookFromRow(rows[0]);
  }

  /** The endpoint, its row locked until the transaction ends; WEBHOOK_NOT_FOUND when there is none. */
  async #lock(client: PoolClient, id: number): Promise<WebhookRecord> {
    const { rows } = await client.query('SELECT id FROM webhooks WHERE id = $1 FOR UPDATE', [id]);
    const found = rows.length === 0 ? undefined : await this.#get(client, id);
    if (found === undefined) throw new LicensorError('WEBHOOK_NOT_FOUND', `no webhook with id ${id}`);
    return found;
  }

  async #audit(client: PoolClient, action: string, id: number, ctx: ChangeContext, now: Date): Promise<void> {
    await client.query(insertAudit(auditEntry(changeAudit(action, 'webhook', id, null), ctx.actor, now)));
  }

  createWebhook(webhook: NewWebhook, ctx: ChangeContext): Promise<WebhookRecord> {
    return this.#tx(async (client) => {
      const now = ctx.clock.now();
      const { rows } = await client.query<{ id: string }>(
        `INSERT INTO webhooks (url, events, description, secret, created_at, updated_at)
           VALUES ($1, $2::jsonb, $3, $4, $5, $5) RETURNING id`,
        [webhook.url, JSON.stringify(webhook.events), webhook.description, webhook.secret, now],
      );
      const id = Number(rows[0]?.id);
      await this.#audit(client, 'webhook.create', id, ctx, now);
      return (await this.#get(client, id)) as WebhookRecord;
    });
  }

  async listWebhooks(): Promise<WebhookRecord[]> {
    try {
      const { rows } = await this.#pool.query<WebhookRow>(`${WEBHOOK_SELECT} ORDER BY w.id`);
      return rows.map(webhookFromRow);
    } catch (err) {
      throw translate(err);
    }
  }

  async getWebhook(id: number): Promise<WebhookRecord | undefined> {
    try {
      return await this.#get(this.#pool, id);
    } catch (err) {
      throw translate(err);
    }
  }

  updateWebhook(id: number, patch: WebhookPatch, ctx: ChangeContext): Promise<WebhookRecord> {
    return this.#tx(async (client) => {
      const before = await this.#lock(client, id);
      const now = ctx.clock.now();
      await client.query(
        'UPDATE webhooks SET url = $1, events = $2::jsonb, description = $3, enabled = $4, updated_at = $5 WHERE id = $6',
        [
          patch.url ?? before.url,
          JSON.stringify(patch.events ?? before.events),
          patch.description === undefined ? before.description : patch.description,
          patch.enabled ?? before.enabled,
          now,
          id,
        ],
      );
      await this.#audit(client, 'webhook.update', id, ctx, now);
      return (await this.#get(client, id)) as WebhookRecord;
    });
  }

  deleteWebhook(id: number, ctx: ChangeContext): Promise<WebhookRecord> {
    return this.#tx(async (client) => {
      const before = await this.#lock(client, id);
      const now = ctx.clock.now();
      // The attempts and deliveries go with it (ON DELETE CASCADE).
      await client.query('DELETE FROM webhooks WHERE id = $1', [id]);
      await this.#audit(client, 'webhook.delete', id, ctx, now);
      return before;
    });
  }

  queuePing(id: number, ctx: ChangeContext): Promise<EventRecord> {
    return this.#tx(async (client) => {
      await this.#lock(client, id);
      const now = ctx.clock.now();
      const eventId = newEventId();
      await client.query(insertEvent({ type: 'ping', data: {} }, now, eventId));
      await client.query(
        'INSERT INTO webhook_deliveries (webhook_id, event_id, next_attempt_at, created_at) VALUES ($1, $2, $3, $3)',
        [id, eventId, now],
      );
      await this.#audit(client, 'webhook.test', id, ctx, now);
      return { id: eventId, type: 'ping', timestamp: now, data: {} };
    });
  }

  listDeliveries(
    id: number,
    page: { offset: number; size: number },
  ): Promise<{ attempts: DeliveryAttempt[]; total: number }> {
    return this.#tx(async (client) => {
      if ((await this.#get(client, id)) === undefined)
        throw new LicensorError('WEBHOOK_NOT_FOUND', `no webhook with id ${id}`);
      const { rows } = await client.query<AttemptRow>(
        `${ATTEMPT_SELECT} WHERE a.webhook_id = $1 ORDER BY a.id DESC LIMIT $2 OFFSET $3`,
        [id, page.size, page.offset],
      );
      const counted = await client.query<{ n: string }>(
        'SELECT count(*) AS n FROM webhook_attempts WHERE webhook_id = $1',
        [id],
      );
      return { attempts: rows.map(attemptFromRow), total: Number(counted.rows[0]?.n ?? 0) };
    });
  }

  claimDeliveries(request: ClaimRequest): Promise<ClaimedDelivery[]> {
    return this.#tx(async (client) => {
      const { rows: due } = await client.query<{
        webhook_id: string;
        event_id: string;
        attempts: number;
        url: string;
        secret: string;
      }>(
        `SELECT d.webhook_id, d.event_id, d.attempts, w.url, w.secret
           FROM webhook_deliveries d JOIN webhooks w ON w.id = d.webhook_id
           WHERE d.state = 'pending' AND d.next_attempt_at <= $1 AND w.enabled
           ORDER BY d.next_attempt_at LIMIT $2
           FOR UPDATE OF d SKIP LOCKED`,
        [request.now, request.limit * CLAIM_LOOKAHEAD],
      );
      const candidates = due.map((d) => ({ ...d, webhookId: Number(d.webhook_id), eventId: d.event_id }));
      const picked = pickDeliveries(candidates, request.inFlight, request.perEndpoint, request.limit);
      if (picked.length === 0) return [];
      const lease = new Date(request.now.getTime() + request.leaseMs);
      await client.query(
        `UPDATE webhook_deliveries d SET attempts = d.attempts + 1, next_attempt_at = $1
           FROM unnest($2::bigint[], $3::text[]) AS c (webhook_id, event_id)
           WHERE d.webhook_id = c.webhook_id AND d.event_id = c.event_id`,
        [lease, picked.map((d) => d.webhookId), picked.map((d) => d.eventId)],
      );
      const { rows: events } = await client.query<EventRow>(
        'SELECT id, type, at, data FROM events WHERE id = ANY($1::text[])',
        [picked.map((d) => d.eventId)],
      );
      const byId = new Map(events.map((e) => [e.id, eventFromRow(e)]));
      return picked.flatMap((d) => {
        const event = byId.get(d.eventId);
        return event === undefined
          ? []
          : [{ webhookId: d.webhookId, url: d.url, secret: d.secret, event, attempt: d.attempts + 1 }];
      });
    });
  }

  recordAttempt(a: NewAttempt): Promise<void> {
    return this.#tx(async (client) => {
      const { rows } = await client.query<{ state: string }>(
        'SELECT state FROM webhook_deliveries WHERE webhook_id = $1 AND event_id = $2 FOR UPDATE',
        [a.webhookId, a.eventId],
      );
      // Deleted with its endpoint meanwhile, or already settled by another attempt: nothing to log.
      if (rows[0]?.state !== 'pending') return;
      await client.query(
        `INSERT INTO webhook_attempts (webhook_id, event_id, attempt, at, duration_ms, status_code, error, outcome, next_retry_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
        [
          a.webhookId,
          a.eventId,
          a.attempt,
          a.at,
          a.durationMs,
          a.statusCode,
          a.error,
          a.outcome,
          a.nextRetryAt,
        ],
      );
      if (a.outcome === 'retry')
        await client.query(
          'UPDATE webhook_deliveries SET next_attempt_at = $1 WHERE webhook_id = $2 AND event_id = $3',
          [a.nextRetryAt, a.webhookId, a.eventId],
        );
      else
        await client.query(
          'UPDATE webhook_deliveries SET state = $1, finished_at = $2 WHERE webhook_id = $3 AND event_id = $4',
          [a.outcome, a.at, a.webhookId, a.eventId],
        );
    });
  }

  async deliveryStats(): Promise<DeliveryStats> {
    try {
      const { rows } = await this.#pool.query<{ pending: string; failed: string; oldest: Date | null }>(
        `SELECT
           (SELECT count(*) FROM webhook_deliveries WHERE state = 'pending') AS pending,
           (SELECT count(*) FROM webhook_deliveries WHERE state = 'failed') AS failed,
           (SELECT min(e.at) FROM webhook_deliveries d JOIN events e ON e.id = d.event_id
              WHERE d.state = 'pending') AS oldest`,
      );
      const row = rows[0];
      return {
        pending: Number(row?.pending ?? 0),
        failed: Number(row?.failed ?? 0),
        oldestPendingAt: row?.oldest ?? null,
      };
    } catch (err) {
      throw translate(err);
    }
  }

  async scheduleState(): Promise<{ since: Date; produced: Set<string> }> {
    try {
      const since = await this.#pool.query<{ since: Date }>('SELECT since FROM scheduler_state');
      const keys = await this.#pool.query<{ k: string }>(
        "SELECT license_id || ':' || milestone AS k FROM scheduled_events",
      );
      return { since: since.rows[0]?.since ?? new Date(0), produced: new Set(keys.rows.map((r) => r.k)) };
    } catch (err) {
      throw translate(err);
    }
  }

  produceScheduled(events: readonly ScheduledEvent[], now: Date): Promise<string[]> {
    return this.#tx(async (client) => {
      const produced: string[] = [];
      // In one order whatever the caller's, so instances taking the same keys cannot deadlock.
      for (const { milestone, event } of byKey(events)) {
        const id = newEventId();
        // A concurrent instance inserting the same key waits for this one's commit, then takes
        // nothing: the key is taken once, and its event with it.
        const { rowCount } = await client.query(
          `INSERT INTO scheduled_events (license_id, milestone, event_id, at) VALUES ($1, $2, $3, $4)
             ON CONFLICT DO NOTHING`,
          [milestone.licenseId, milestone.key, id, now],
        );
        if (rowCount === 0) continue;
        await client.query(insertEvent(event, now, id));
        produced.push(`${milestone.licenseId}:${milestone.key}`);
      }
      return produced;
    });
  }
}
