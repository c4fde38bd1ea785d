import type { Webhook, WebhookDeliveryPage } from '../client/index.js';
import { h, table } from './dom.js';
import { formatDateTime, plural, relativeTime } from './format.js';
import { badge, type ViewContext } from './ui.js';

/** How many of an endpoint's latest attempts the screen shows. */
const LAST_ATTEMPTS = 5;

type Attempt = WebhookDeliveryPage['attempts'][number];

function stateOf(w: Webhook): HTMLElement {
  if (!w.enabled) return badge('paused', 'warn');
  if (w.failedDeliveries > 0)
    return badge(`${plural(w.failedDeliveries, 'delivery', 'deliveries')} failed`, 'bad');
  return badge('enabled', 'ok');
}

function resultOf(a: Attempt): HTMLElement {
  if (a.outcome === 'delivered') return badge(`delivered ${a.statusCode ?? ''}`.trimEnd(), 'ok');
  const why = a.error ?? (a.statusCode === null ? '' : `HTTP ${a.statusCode}`);
  return h(
    'span',
    {},
    badge(a.outcome === 'failed' ? 'failed' : 'will retry', a.outcome === 'failed' ? 'bad' : 'warn'),
    ' ',
    why,
  );
}

/**
 * Webhook endpoints (docs/webhooks.md): each with its state, pending and failed deliveries, its last
 * attempts, "Send test", and pausing or re-enabling it. Endpoints are added with the API or
 * `licensor webhooks add`, which show the signing secret once.
 */
export async function renderWebhooks(ctx: ViewContext): Promise<void> {
  const box = h('div', { id: 'webhooks' });
  const load = async (): Promise<void> => {
    const hooks = await ctx.client.listWebhooks();
    if (hooks.length === 0) {
      box.replaceChildren(
        h(
          'p',
          { class: 'muted' },
          'No endpoints yet. Add one with ',
          h('code', {}, 'licensor webhooks add URL'),
          '.',
        ),
      );
      return;
    }
    const logs = await Promise.all(
      hooks.map((w) => ctx.client.webhookDeliveries(w.id, { size: LAST_ATTEMPTS })),
    );
    const now = new Date();
    box.replaceChildren(
      ...hooks.map((w, i) => {
        const send = h('button', { type: 'button', class: 'button secondary small' }, 'Send test');
        send.addEventListener('click', () => {
          ctx.clearError();
          ctx.client
            .testWebhook(w.id)
            .then((ping) => {
              ctx.notify(`Queued a ping (${ping.id}) to endpoint ${w.id}.`);
              return load();
            })
            .catch((err: unknown) => ctx.fail(err));
        });
        const toggle = h(
          'button',
          { type: 'button', class: 'button secondary small' },
          w.enabled ? 'Pause' : 'Re-enable',
        );
        toggle.addEventListener('click', () => {
          ctx.clearError();
          ctx.client
            .updateWebhook(w.id, { enabled: !w.enabled })
            .then((updated) => {
              ctx.notify(`Endpoint ${w.id} ${updated.enabled ? 're-enabled' : 'paused'}.`);
              return load();
            })
            .catch((err: unknown) => ctx.fail(err));
        });
        const attempts = logs[i]?.attempts ?? [];
        const titleId = `webhook-${w.id}`;
        return h(
          'section',
          { class: 'card', 'aria-labelledby': titleId },
          h('h2', { id: titleId }, `Endpoint ${w.id}: `, h('code', {}, w.url)),
          h(
            'p',
            {},
            stateOf(w),
            ' ',
            `${plural(w.pendingDeliveries, 'delivery', 'deliveries')} pending. Events: ${w.events.join(', ')}.`,
            w.lastFailedAt === null ? '' : ` Last failure ${relativeTime(w.lastFailedAt, now)}.`,
          ),
          h('p', {}, send, ' ', toggle),
          attempts.length === 0
            ? h('p', { class: 'muted' }, 'No delivery attempts yet.')
            : table(
                `Last attempts to endpoint ${w.id}, newest first`,
                [
                  {
                    header: 'When',
                    cell: (a: Attempt) => h('time', { datetime: a.at, title: a.at }, formatDateTime(a.at)),
                  },
                  { header: 'Event', cell: (a) => h('span', {}, h('code', {}, a.eventType), ' ', a.eventId) },
                  { header: 'Attempt', cell: (a) => String(a.attempt) },
                  { header: 'Result', cell: resultOf },
                  { header: 'Took', cell: (a) => `${a.durationMs} ms` },
                  {
                    header: 'Next retry',
                    cell: (a) => (a.nextRetryAt === null ? '—' : formatDateTime(a.nextRetryAt)),
                  },
                ],
                attempts,
              ),
        );
      }),
    );
  };
  ctx.root.append(box);
  await load();
}
