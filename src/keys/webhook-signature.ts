import { createHmac, randomBytes } from 'node:crypto';

/**
 * Standard Webhooks signing (docs/webhooks.md#signing): the secret is `whsec_` and base64 of 32
 * random bytes; a delivery's `webhook-signature` is `v1,` and the base64 HMAC-SHA256, keyed with the
 * secret's decoded bytes, of `{webhook-id}.{webhook-timestamp}.{body}`.
 */

export const WEBHOOK_SECRET_PREFIX = 'whsec_';

export function generateWebhookSecret(): string {
  return `${WEBHOOK_SECRET_PREFIX}${randomBytes(32).toString('base64')}`;
}

/** The `webhook-signature` header of a delivery. */
export function webhookSignature(secret: string, id: string, timestamp: number, body: string): string {
  if (!secret.startsWith(WEBHOOK_SECRET_PREFIX)) throw new Error('not a webhook secret');
  const key = Buffer.from(secret.slice(WEBHOOK_SECRET_PREFIX.length), 'base64');
  return `v1,${createHmac('sha256', key).update(`${id}.${timestamp}.${body}`).digest('base64')}`;
}
