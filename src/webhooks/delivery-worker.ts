import type { FastifyBaseLogger } from 'fastify';
import type { Clock } from '../domain/clock.js';
import type { EventRecord } from '../domain/events.js';
import { ATTEMPT_TIMEOUT_MS, isDelivered, retryDelayMs } from '../domain/webhooks.js';
import { webhookSignature } from '../keys/webhook-signature.js';
import type { ClaimedDelivery, NewAttempt, WebhookStore } from '../store/webhook-store.js';

export interface DeliveryOptions {
  /** Seconds to wait after each failed attempt; after the last, the delivery has failed. */
  retrySchedule: readonly number[];
  /** How often due deliveries are looked for. */
  pollMs: number;
  /** Attempts in flight at once in this process, in all and per endpoint. */
  concurrency?: number;
  perEndpoint?: number;
  /** The longest one attempt may take. */
  timeoutMs?: number;
  userAgent?: string;
  /** In [0, 1): the jitter of retries. */
  random?: () => number;
}

export const DELIVERY_CONCURRENCY = 16;
export const DELIVERY_PER_ENDPOINT = 4;
/** A claim keeps other instances off for one attempt's timeout and this margin. */
const LEASE_MARGIN_MS = 5000;

/** The body of a delivery: the event as `GET /admin/events` shows it. */
export function deliveryBody(event: EventRecord): string {
  return JSON.stringify({
    id: event.id,
    type: event.type,
    timestamp: event.timestamp.toISOString(),
    data: event.data,
  });
}

/**
 * Delivers the outbox to webhook endpoints, at least once, from every instance
 * (docs/webhooks.md#delivery). Requests go out through Node's fetch (undici) with
 * `redirect: 'manual'` and an abort signal: one call gives the no-redirect rule and a timeout that
 * covers connecting, the headers and the body. Attempts run beside the request handlers and never
 * hold a database connection while waiting for a receiver, so a slow receiver costs reads nothing.
 */
export class DeliveryWorker {
  readonly #store: WebhookStore;
  readonly #clock: Clock;
  readonly #log: FastifyBaseLogger;
  readonly #options: Required<DeliveryOptions>;
  readonly #inFlight = new Map<number, number>();
  readonly #attempts = new Set<Promise<void>>();
  readonly #stop = new AbortController();
  #timer: NodeJS.Timeout | undefined;
  #polling: Promise<void> | undefined;
  #again = false;

  constructor(store: WebhookStore, clock: Clock, log: FastifyBaseLogger, options: DeliveryOptions) {
    this.#store = store;
    this.#clock = clock;
    this.#log = log;
    this.#options = {
      concurrency: DELIVERY_CONCURRENCY,
      perEndpoint: DELIVERY_PER_ENDPOINT,
      timeoutMs: ATTEMPT_TIMEOUT_MS,
      userAgent: 'Licensor',
      random: Math.random,
      ...options,
    };
  }

  start(): void {
    this.#timer = setInterval(() => this.poll(), this.#options.pollMs);
    this.#timer.unref();
    this.poll();
  }

  /** Stops polling and abandons attempts in flight: their leases run out and they are due again. */
  async stop(): Promise<void> {
    clearInterval(this.#timer);
    this.#stop.abort();
    await this.#polling;
    await Promise.allSettled([...this.#attempts]);
  }

  #total(): number {
    let n = 0;
    for (const count of this.#inFlight.values()) n += count;
    return n;
  }

  /** Looks for due deliveries now; a poll already under way runs once more when it ends. */
  poll(): void {
    if (this.#stop.signal.aborted) return;
    if (this.#polling) {
      this.#again = true;
      return;
    }
    this.#polling = this.#claim()
      .catch((err: unknown) => this.#log.warn({ err }, 'could not claim webhook deliveries'))
      .finally(() => {
        this.#polling = undefined;
        if (this.#again) {
          this.#again = false;
          this.poll();
        }
      });
  }

  async #claim(): Promise<void> {
    const free = this.#options.concurrency - this.#total();
    if (free <= 0) return;
    const claimed = await this.#store.claimDeliveries({
      now: this.#clock.now(),
      leaseMs: this.#options.timeoutMs + LEASE_MARGIN_MS,
      inFlight: this.#inFlight,
      perEndpoint: this.#options.perEndpoint,
      limit: free,
    });
    for (const delivery of claimed) {
      if (this.#stop.signal.aborted) return;
      this.#inFlight.set(delivery.webhookId, (this.#inFlight.get(delivery.webhookId) ?? 0) + 1);
      const attempt = this.#attempt(delivery)
        .then((result) => (this.#stop.signal.aborted ? undefined : this.#store.recordAttempt(result)))
        .catch((err: unknown) => this.#log.warn({ err }, 'could not record a webhook attempt'))
        .finally(() => {
          this.#attempts.delete(attempt);
          const n = (this.#inFlight.get(delivery.webhookId) ?? 1) - 1;
          if (n === 0) this.#inFlight.delete(delivery.webhookId);
          else this.#inFlight.set(delivery.webhookId, n);
          // A slot is free: more may be due behind this one.
          this.poll();
        });
      this.#attempts.add(attempt);
    }
  }

  /** One attempt: the signed POST, then what it means for the delivery. */
  async #attempt(delivery: ClaimedDelivery): Promise<NewAttempt> {
    const at = this.#clock.now();
    const body = deliveryBody(delivery.event);
    const timestamp = Math.floor(at.getTime() / 1000);
    const started = performance.now();
    let statusCode: number | null = null;
    let error: string | null = null;
    try {
      const response = await fetch(delivery.url, {
        method: 'POST',
        redirect: 'manual',
        signal: AbortSignal.any([AbortSignal.timeout(this.#options.timeoutMs), this.#stop.signal]),
        headers: {
          'content-type': 'application/json',
          'user-agent': this.#options.userAgent,
          'webhook-id': delivery.event.id,
          'webhook-timestamp': String(timestamp),
          'webhook-signature': webhookSignature(delivery.secret, delivery.event.id, timestamp, body),
        },
        body,
      });
      statusCode = response.status;
      // The answer's body means nothing here; not reading it frees the connection.
      await response.body?.cancel();
      if (!isDelivered(statusCode))
        error = statusCode >= 300 && statusCode < 400 ? 'redirect not followed' : `HTTP ${statusCode}`;
    } catch (err) {
      error = describe(err, this.#options.timeoutMs);
    }
    const durationMs = Math.round(performance.now() - started);
    const base = {
      webhookId: delivery.webhookId,
      eventId: delivery.event.id,
      attempt: delivery.attempt,
      at,
      durationMs,
      statusCode,
      error,
    };
    if (error === null) return { ...base, outcome: 'delivered', nextRetryAt: null };
    const delay = retryDelayMs(delivery.attempt, this.#options.retrySchedule, this.#options.random());
    if (delay === null) return { ...base, outcome: 'failed', nextRetryAt: null };
    return { ...base, outcome: 'retry', nextRetryAt: new Date(this.#clock.now().getTime() + delay) };
  }
}

function describe(err: unknown, timeoutMs: number): string {
  if (err instanceof Error && (err.name === 'TimeoutError' || err.name === 'AbortError'))
    return `no answer within ${timeoutMs / 1000} s`;
  const cause =
    err instanceof Error ? (err.cause as { code?: string; message?: string } | undefined) : undefined;
  const text = cause?.code ?? cause?.message ?? (err instanceof Error ? err.message : String(err));
  return text.slice(0, 200);
}
