import type { ChangeContext } from '../domain/changes.js';
import type { EventRecord } from '../domain/events.js';
import type { DueMilestone } from '../domain/schedule.js';
import type { WebhookEventFilter } from '../domain/webhooks.js';
import type { EventDraft } from '../domain/events.js';

/** An endpoint as the API shows it; the secret is never read back after creation. */
export interface WebhookRecord {
  id: number;
  url: string;
  events: WebhookEventFilter[];
  description: string | null;
  enabled: boolean;
  createdAt: Date;
  updatedAt: Date;
  /** Deliveries still to be made (first attempt or a retry). */
  pendingDeliveries: number;
  /** Deliveries that failed after their last retry. */
  failedDeliveries: number;
  /** When the latest delivery failed for good; null when none has. */
  lastFailedAt: Date | null;
}

export interface NewWebhook {
  url: string;
  events: WebhookEventFilter[];
  description: string | null;
  /** `whsec_` and base64 of 32 random bytes (docs/webhooks.md#signing). */
  secret: string;
}

export interface WebhookPatch {
  url?: string;
  events?: WebhookEventFilter[];
  description?: string | null;
  enabled?: boolean;
}

export type AttemptOutcome = 'delivered' | 'retry' | 'failed';

/** One attempt to deliver one event to one endpoint. */
export interface DeliveryAttempt {
  id: number;
  webhookId: number;
  eventId: string;
  eventType: string;
  attempt: number;
  at: Date;
  durationMs: number;
  /** The receiver's HTTP status, or null when there was none (error says why). */
  statusCode: number | null;
  error: string | null;
  outcome: AttemptOutcome;
  /** When the next attempt is due; null once delivered or failed. */
  nextRetryAt: Date | null;
}

/** A delivery one instance has claimed: no other attempts it until `leaseUntil`. */
export interface ClaimedDelivery {
  webhookId: number;
  url: string;
  secret: string;
  event: EventRecord;
  /** This attempt's number, 1 for the first. */
  attempt: number;
}

export interface ClaimRequest {
  now: Date;
  /** How long the claim keeps other instances off: longer than one attempt can take. */
  leaseMs: number;
  /** In flight in this instance, per endpoint. */
  inFlight: ReadonlyMap<number, number>;
  perEndpoint: number;
  limit: number;
}

export type NewAttempt = Omit<DeliveryAttempt, 'id' | 'eventType'>;

export interface DeliveryStats {
  pending: number;
  failed: number;
  /** The timestamp of the oldest event with a pending delivery; null when none is pending. */
  oldestPendingAt: Date | null;
}

/** A time-based event to produce once: its license, its milestone key and the event. */
export interface ScheduledEvent {
  milestone: DueMilestone;
  event: EventDraft;
}

/** Webhook endpoints, their deliveries and the scheduler's once-only keys (docs/webhooks.md). */
export interface WebhookStore {
  /** Adds an endpoint, with its audit entry (`webhook.create`). */
  createWebhook(webhook: NewWebhook, ctx: ChangeContext): Promise<WebhookRecord>;
  listWebhooks(): Promise<WebhookRecord[]>;
  getWebhook(id: number): Promise<WebhookRecord | undefined>;
  /** Changes an endpoint (`webhook.update`); WEBHOOK_NOT_FOUND when there is none. */
  updateWebhook(id: number, patch: WebhookPatch, ctx: ChangeContext): Promise<WebhookRecord>;
  /** Removes an endpoint with its deliveries and their log (`webhook.delete`). */
  deleteWebhook(id: number, ctx: ChangeContext): Promise<WebhookRecord>;
  /** Stores a `ping` event with one delivery, to this endpoint only (`webhook.test`). */
  queuePing(id: number, ctx: ChangeContext): Promise<EventRecord>;
  /** An endpoint's attempts, newest first. WEBHOOK_NOT_FOUND when there is none. */
  listDeliveries(
    id: number,
    page: { offset: number; size: number },
  ): Promise<{ attempts: DeliveryAttempt[]; total: number }>;
  /**
   * Takes due deliveries of enabled endpoints for this instance, each one by one instance at a
   * time: a claim moves the delivery's next attempt `leaseMs` ahead, in one transaction
   * (PostgreSQL: `FOR UPDATE SKIP LOCKED`; SQLite: under the write lock). An instance that dies
   * mid-attempt leaves the delivery due again once the lease runs out.
   */
  claimDeliveries(request: ClaimRequest): Promise<ClaimedDelivery[]>;
  /** Logs an attempt and moves its delivery on: delivered, due again at `nextRetryAt`, or failed. */
  recordAttempt(attempt: NewAttempt): Promise<void>;
  deliveryStats(): Promise<DeliveryStats>;
  /**
   * The instant the scheduler started on this database (nothing due before it is produced), and the
   * milestone keys (`licenseId:key`) already produced.
   */
  scheduleState(): Promise<{ since: Date; produced: Set<string> }>;
  /**
   * Produces each event whose (license, milestone) key is not taken yet, taking the key in the same
   * transaction, so concurrent instances produce it once. Returns the keys this call produced.
   */
  produceScheduled(events: readonly ScheduledEvent[], now: Date): Promise<string[]>;
}
