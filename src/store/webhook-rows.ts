import type { WebhookEventFilter } from '../domain/webhooks.js';
import type { AttemptOutcome, DeliveryAttempt, ScheduledEvent, WebhookRecord } from './webhook-store.js';

/** Row shapes of the webhook tables, shared by both stores (docs/webhooks.md). */

export interface WebhookRow {
  id: number | string;
  url: string;
  events: string | WebhookEventFilter[];
  description: string | null;
  enabled: number | boolean;
  created_at: string | Date;
  updated_at: string | Date;
  pending: number | string | null;
  failed: number | string | null;
  last_failed_at: string | Date | null;
}

/** The endpoint columns with its delivery counts; `w` is the webhooks table. */
export const WEBHOOK_SELECT = `SELECT w.id, w.url, w.events, w.description, w.enabled, w.created_at, w.updated_at,
  (SELECT count(*) FROM webhook_deliveries d WHERE d.webhook_id = w.id AND d.state = 'pending') AS pending,
  (SELECT count(*) FROM webhook_deliveries d WHERE d.webhook_id = w.id AND d.state = 'failed') AS failed,
  (SELECT max(d.finished_at) FROM webhook_deliveries d WHERE d.webhook_id = w.id AND d.state = 'failed') AS last_failed_at
  FROM webhooks w`;

export function webhookFromRow(row: WebhookRow): WebhookRecord {
  return {
    id: Number(row.id),
    url: row.url,
    events: typeof row.events === 'string' ? (JSON.parse(row.events) as WebhookEventFilter[]) : row.events,
    description: row.description,
    enabled: row.enabled === true || row.enabled === 1,
    createdAt: new Date(row.created_at),
    updatedAt: new Date(row.updated_at),
    pendingDeliveries: Number(row.pending ?? 0),
    failedDeliveries: Number(row.failed ?? 0),
    lastFailedAt: row.last_failed_at === null ? null : new Date(row.last_failed_at),
  };
}

export interface AttemptRow {
  id: number | string;
  webhook_id: number | string;
  event_id: string;
  event_type: string | null;
  attempt: number;
  at: string | Date;
  duration_ms: number;
  status_code: number | null;
  error: string | null;
  outcome: AttemptOutcome;
  next_retry_at: string | Date | null;
}

export const ATTEMPT_SELECT = `SELECT a.*, e.type AS event_type FROM webhook_attempts a
  LEFT JOIN events e ON e.id = a.event_id`;

export function attemptFromRow(row: AttemptRow): DeliveryAttempt {
  return {
    id: Number(row.id),
    webhookId: Number(row.webhook_id),
    eventId: row.event_id,
    eventType: row.event_type ?? 'unknown',
    attempt: Number(row.attempt),
    at: new Date(row.at),
    durationMs: Number(row.duration_ms),
    statusCode: row.status_code === null ? null : Number(row.status_code),
    error: row.error,
    outcome: row.outcome,
    nextRetryAt: row.next_retry_at === null ? null : new Date(row.next_retry_at),
  };
}

/** Scheduled events in (license, milestone) order: the order both stores take their keys in. */
export function byKey(events: readonly ScheduledEvent[]): ScheduledEvent[] {
  return [...events].sort(
    (a, b) =>
      a.milestone.licenseId - b.milestone.licenseId ||
      (a.milestone.key < b.milestone.key ? -1 : a.milestone.key > b.milestone.key ? 1 : 0),
  );
}
