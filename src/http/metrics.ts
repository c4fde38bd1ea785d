import { collectDefaultMetrics, Gauge, Registry, type Metric } from 'prom-client';
import type { Clock } from '../domain/clock.js';
import type { Store } from '../store/store.js';

/** Latency buckets of licensor_http_request_duration_seconds, in seconds. */
const LATENCY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5];

type RequestLabels = { method: string; route: string; status: string };

/** The requests of one method, route pattern and status: how many, and their latencies. */
class Series {
  count = 0;
  sum = 0;
  /** Requests per latency bucket (not cumulative); the last one counts those above every bound. */
  readonly perBucket = new Array<number>(LATENCY_BUCKETS.length + 1).fill(0);

  constructor(readonly labels: Readonly<RequestLabels>) {}
}

/** The part of a prom-client metric its Registry reads (get() as Counter and Histogram answer it). */
interface PublishedMetric {
  name: string;
  help: string;
  type: 'counter' | 'histogram';
  aggregator: 'sum';
  get(): Promise<{
    name: string;
    help: string;
    type: 'counter' | 'histogram';
    aggregator: 'sum';
    values: {
      labels: Record<string, string | number>;
      value: number;
      metricName?: string;
      exemplar?: null | undefined;
    }[];
  }>;
  reset(): void;
}

/**
 * licensor_http_requests_total and licensor_http_request_duration_seconds, counted in plain
 * numbers per series and published when scraped. prom-client's Counter and Histogram hash the
 * label set and allocate on every observation; here a request costs three map lookups, which
 * matters on the hottest reads (docs/performance.md#the-request-lifecycle). What is published is
 * what prom-client's Counter and Histogram published (test/http/observability.test.ts compares).
 */
export class RequestSeries {
  readonly #byRoute = new Map<string, Map<string, Map<number, Series>>>();

  observe(method: string, route: string, status: number, seconds: number): void {
    let byMethod = this.#byRoute.get(route);
    if (byMethod === undefined) this.#byRoute.set(route, (byMethod = new Map<string, Map<number, Series>>()));
    let byStatus = byMethod.get(method);
    if (byStatus === undefined) byMethod.set(method, (byStatus = new Map<number, Series>()));
    let series = byStatus.get(status);
    if (series === undefined)
      byStatus.set(status, (series = new Series({ method, route, status: String(status) })));
    series.count++;
    series.sum += seconds;
    let bucket = 0;
    while (bucket < LATENCY_BUCKETS.length && seconds > (LATENCY_BUCKETS[bucket] as number)) bucket++;
    series.perBucket[bucket] = (series.perBucket[bucket] as number) + 1;
  }

  *#all(): Generator<Series> {
    for (const byMethod of this.#byRoute.values())
      for (const byStatus of byMethod.values()) yield* byStatus.values();
  }

  /** The two metrics, to register with a Registry; resetting either forgets every request. */
  metrics(): PublishedMetric[] {
    const reset = (): void => this.#byRoute.clear();
    const metric = (
      name: string,
      help: string,
      type: 'counter' | 'histogram',
      values: () => Awaited<ReturnType<PublishedMetric['get']>>['values'],
    ): PublishedMetric => ({
      name,
      help,
      type,
      aggregator: 'sum',
      get: async () => ({ name, help, type, aggregator: 'sum', values: values() }),
      reset,
    });
    const latency = 'licensor_http_request_duration_seconds';
    return [
      metric(
        'licensor_http_requests_total',
        'HTTP requests by method, route pattern and status',
        'counter',
        () => [...this.#all()].map((s) => ({ labels: { ...s.labels }, value: s.count })),
      ),
      metric(latency, 'HTTP request latency by method, route pattern and status', 'histogram', () =>
        [...this.#all()].flatMap((s) => {
          let cumulative = 0;
          return [
            ...LATENCY_BUCKETS.map((le, i) => {
              cumulative += s.perBucket[i] as number;
              return {
                labels: { le, ...s.labels },
                value: cumulative,
                metricName: `${latency}_bucket`,
                exemplar: null,
              };
            }),
            {
              labels: { le: '+Inf', ...s.labels },
              value: s.count,
              metricName: `${latency}_bucket`,
              exemplar: null,
            },
            { labels: { ...s.labels }, value: s.sum, metricName: `${latency}_sum`, exemplar: undefined },
            { labels: { ...s.labels }, value: s.count, metricName: `${latency}_count`, exemplar: undefined },
          ];
        }),
      ),
    ];
  }
}

/**
 * Prometheus metrics for one app: request counts and latency by route and status (`requests`, fed
 * by request-observer.ts), and license gauges read from the store when scraped. Each app has its
 * own registry, so several apps in one process (tests) do not share counters.
 */
export function registerMetrics(store: Store, clock: Clock, requests: RequestSeries): Registry {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  for (const metric of requests.metrics()) registry.registerMetric(metric as unknown as Metric);

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

  return registry;
}
