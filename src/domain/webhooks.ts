import { LicensorError } from './errors.js';
import { isEventType, type EventType } from './events.js';

/**
 * Webhook endpoints and their deliveries (docs/webhooks.md): what a valid endpoint is, when a
 * failed attempt is tried again, and which due deliveries one instance takes on.
 */

/** An endpoint's event filter: event types, or `*` for all of them. */
export type WebhookEventFilter = EventType | '*';

/** Each retry waits its scheduled delay times a random factor in [1 - JITTER, 1 + JITTER]. */
export const RETRY_JITTER = 0.2;

/** The longest one attempt may take, connection to last byte. */
export const ATTEMPT_TIMEOUT_MS = 10_000;

export const MAX_WEBHOOK_URL_LENGTH = 2048;

/**
 * Only http: and https: URLs without credentials or a fragment (an empty `#` included), at most
 * MAX_WEBHOOK_URL_LENGTH characters as stored: normalising percent-encodes what is not ASCII, so a
 * URL within the limit as sent can be six times longer stored (docs/webhooks.md). Refused with
 * INVALID_WEBHOOK_URL.
 */
export function checkWebhookUrl(raw: string): string {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new LicensorError('INVALID_WEBHOOK_URL', 'url is not an absolute URL');
  }
  const href = url.toString();
  if (raw.length > MAX_WEBHOOK_URL_LENGTH || href.length > MAX_WEBHOOK_URL_LENGTH)
    throw new LicensorError(
      'INVALID_WEBHOOK_URL',
      `url is longer than ${MAX_WEBHOOK_URL_LENGTH} characters${href.length > raw.length ? ' once normalised' : ''}`,
    );
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    throw new LicensorError('INVALID_WEBHOOK_URL', `url must be http: or https:, not ${url.protocol}`);
  if (url.username !== '' || url.password !== '')
    throw new LicensorError('INVALID_WEBHOOK_URL', 'url must not carry credentials (user:password@)');
  if (url.hash !== '' || href.endsWith('#'))
    throw new LicensorError('INVALID_WEBHOOK_URL', 'url must not have a #fragment');
  return href;
}

/** The filter as stored: `*` alone when it names every type, else the types once each in list order. */
export function normaliseEventFilter(events: readonly string[]): WebhookEventFilter[] {
  if (events.length === 0)
    throw new LicensorError('VALIDATION_FAILED', 'events must name at least one event type, or "*"');
  for (const e of events)
    if (e !== '*' && !isEventType(e))
      throw new LicensorError('VALIDATION_FAILED', `unknown event type "${e}"`);
  if (events.includes('*')) return ['*'];
  return [...new Set(events as EventType[])];
}

/** Whether an endpoint with this filter is sent events of this type (a `ping` is sent only by its test). */
export function filterMatches(filter: readonly WebhookEventFilter[], type: EventType): boolean {
  return filter.includes('*') || filter.includes(type);
}

/**
 * When attempt number `attempt` (1 for the first) failed: the delay before the next one, with
 * jitter from `random` in [0, 1), or null when it was the last and the delivery has failed.
 */
export function retryDelayMs(attempt: number, schedule: readonly number[], random: number): number | null {
  const seconds = schedule[attempt - 1];
  if (seconds === undefined) return null;
  return Math.round(seconds * 1000 * (1 - RETRY_JITTER + 2 * RETRY_JITTER * random));
}

/** A 2xx answers a delivery; anything else (a redirect too, which is never followed) is a failure. */
export function isDelivered(status: number): boolean {
  return status >= 200 && status <= 299;
}

export interface DeliveryCandidate {
  webhookId: number;
  eventId: string;
}

/**
 * Which of the due deliveries (oldest first) this instance takes: at most `limit` in all, and no
 * endpoint above `perEndpoint` counting what it already has in flight, so a slow receiver holds at
 * most its own share of the slots and never the other endpoints'.
 */
export function pickDeliveries<T extends DeliveryCandidate>(
  due: readonly T[],
  inFlight: ReadonlyMap<number, number>,
  perEndpoint: number,
  limit: number,
): T[] {
  const taken = new Map(inFlight);
  const picked: T[] = [];
  for (const d of due) {
    if (picked.length >= limit) break;
    const n = taken.get(d.webhookId) ?? 0;
    if (n >= perEndpoint) continue;
    taken.set(d.webhookId, n + 1);
    picked.push(d);
  }
  return picked;
}
