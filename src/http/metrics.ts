import type { FastifyInstance } from 'fastify';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { Clock } from '../domain/clock.js';
import type { Store } from '../store/store.js';

/**
 * Prometheus metrics for one app: request counts and latency by route and status, and license
 * gauges read from the store when scraped. Each app has its own registry, so several apps in one
 * process (tests) do not share counters.
 */
export function registerMetrics(app: FastifyInstance, store: Store, clock: Clock): Registry {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const labelNames = ['method', 'route', 'status'] as const;
  const requests = new Counter({
    name: 'licensor_http_requests_total',
    help: 'HTTP requests by method, route pattern and status',
    labelNames,
    registers: [registry],
  });
  const latency = new Histogram({
    name: 'licensor_http_request_duration_seconds',
    help: 'HTTP request latency by method, route pattern and status',
    labelNames,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [registry],
  });

  // One read of the store per scrape, shared by every license gauge.
  let snapshot: Promise<Record<string, number>> | null = null;
  const read = (): Promise<Record<string, number>> => {
    snapshot ??= (async () => {
      const now = clock.now();
      // The delivery figures are one small query of the database per scrape, not per request.
      const [{ effective, activeUserCount: active }, deliveries] = await Promise.all([
        store.readView(now),
        store.webhooks.deliveryStats(),
      ]);
      return {
        licensor_webhook_deliveries_pending: deliveries.pending,
        licensor_webhook_deliveries_failed: deliveries.failed,
        licensor_webhook_oldest_pending_event_age_seconds:
          deliveries.oldestPendingAt === null
            ? 0
            : Math.max(0, (now.getTime() - deliveries.oldestPendingAt.getTime()) / 1000),
        licensor_active_users: active,
        licensor_hard_seats: effective.hardSeats,
        licensor_license_seats: effective.licenseSeats,
        licensor_seconds_until_next_expiry:
          effective.nextExpiry === null ? -1 : (effective.nextExpiry.getTime() - now.getTime()) / 1000,
        licensor_data_access_blocked: effective.dataAccessBlocked ? 1 : 0,
      };
    })().finally(() => setImmediate(() => (snapshot = null)));
    return snapshot;
  };
  const gauges: [string, string][] = [
    ['licensor_active_users', 'Active users (not disabled, active within the window)'],
    ['licensor_hard_seats', 'Sum of seats over active licenses'],
    ['licensor_license_seats', 'Sum of seats and soft seats over active licenses'],
    [
      'licensor_seconds_until_next_expiry',
      'Seconds until the earliest active license expires; -1 when none expires',
    ],
    ['licensor_data_access_blocked', '1 when data access is blocked by an expired hardExpiration license'],
    [
      'licensor_webhook_deliveries_pending',
      'Webhook deliveries not made yet (first attempt or a retry to come)',
    ],
    ['licensor_webhook_deliveries_failed', 'Webhook deliveries that failed after their last retry'],
    [
      'licensor_webhook_oldest_pending_event_age_seconds',
      'Age of the oldest event with a pending webhook delivery; 0 when none is pending',
    ],
  ];
  for (const [name, help] of gauges) {
    new Gauge({
      name,
      help,
      registers: [registry],
      async collect() {
        this.set((await read())[name] ?? 0);
      },
    });
  }

  // A callback hook: counting is synchronous, so no promise per request.
  app.addHook('onResponse', (request, reply, done) => {
    // The route pattern, never the raw URL: ids and junk paths must not explode the label set.
    const labels = {
      method: request.method,
      route: request.routeOptions.url ?? 'unmatched',
      status: String(reply.statusCode),
    };
    requests.inc(labels);
    latency.observe(labels, reply.elapsedTime / 1000);
    done();
  });
  return registry;
}
