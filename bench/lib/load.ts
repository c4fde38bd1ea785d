import autocannon, { type RequestSpec, type Result } from 'autocannon';
import { bar, fmtInt, StatusLine } from './progress.js';

/** One kind of request, as autocannon sends it; `next` makes each request's path and body. */
export interface LoadSpec {
  method: 'GET' | 'POST';
  path: string;
  headers?: Record<string, string>;
  /** The body is JSON (sets content-type; a request without a body must not say so). */
  json?: boolean;
  /** Per-request path and body (unique ids, fresh keys). Called once per request sent. */
  next?: () => { path?: string; body?: string };
  /** The status a successful response has. */
  expect: number;
}

export interface LatencyStats {
  mean: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
}

export interface LoadResult {
  /** Responses received in the window. */
  responses: number;
  /** Responses with the expected status. */
  ok: number;
  /** Share of responses with another status, plus connection errors and timeouts. */
  failedShare: number;
  errors: number;
  timeouts: number;
  statusCounts: Record<string, number>;
  seconds: number;
  /** Successful responses per second. */
  rps: number;
  /** Latency of every response, in milliseconds (measured here with hrtime, not autocannon's 1 ms buckets). */
  latency: LatencyStats;
}

export interface LoadOptions {
  url: string;
  connections: number;
  seconds: number;
  label: string;
}

/** Latency percentiles over a sample (nearest rank). */
export function latencyStats(values: Float64Array | number[]): LatencyStats {
  const sorted = Float64Array.from(values).sort();
  const n = sorted.length;
  if (n === 0) return { mean: 0, p50: 0, p90: 0, p99: 0, max: 0 };
  const at = (q: number): number => sorted[Math.min(n - 1, Math.max(0, Math.ceil(q * n) - 1))]!;
  let sum = 0;
  for (const v of sorted) sum += v;
  return { mean: sum / n, p50: at(0.5), p90: at(0.9), p99: at(0.99), max: sorted[n - 1]! };
}

/** The most responses one run records latencies for; beyond it latencies are sampled. */
const MAX_LATENCIES = 2_000_000;

/**
 * Drives `spec` at `url` with autocannon for `seconds` over `connections` keep-alive connections
 * (closed loop: each connection sends its next request when the previous one is answered) and
 * prints a progress line while it runs.
 */
export async function runLoad(
  spec: LoadSpec,
  options: LoadOptions,
): Promise<LoadResult & { latencies: Float64Array }> {
  const status = new StatusLine();
  const latencies = new Float64Array(Math.min(MAX_LATENCIES, Math.ceil(options.seconds * 100_000) + 1000));
  let recorded = 0;
  let responses = 0;
  let ok = 0;
  let reqErrors = 0;
  const statusCounts: Record<string, number> = {};
  const request: RequestSpec = {
    method: spec.method,
    path: spec.path,
    headers: { ...(spec.json === true && { 'content-type': 'application/json' }), ...spec.headers },
  };
  if (spec.next) {
    const next = spec.next;
    request.setupRequest = (req) => {
      const { path, body } = next();
      return { ...req, ...(path !== undefined && { path }), ...(body !== undefined && { body }) };
    };
  }
  const instance = autocannon({
    url: options.url,
    connections: options.connections,
    duration: options.seconds,
    // How often autocannon checks whether the duration is over: short runs stop on time.
    sampleInt: 100,
    timeout: 10,
    requests: [request],
  });
  const started = performance.now();
  instance.on('response', (_client: unknown, code: number, _bytes: number, ms: number) => {
    responses++;
    if (code === spec.expect) ok++;
    statusCounts[code] = (statusCounts[code] ?? 0) + 1;
    if (recorded < latencies.length) latencies[recorded++] = ms;
  });
  instance.on('reqError', () => reqErrors++);
  const ticker = setInterval(() => {
    const elapsed = (performance.now() - started) / 1000;
    status.update(
      `  ${options.label} ${bar(elapsed / options.seconds)} ${elapsed.toFixed(1)}/${options.seconds} s  ${fmtInt(ok / Math.max(elapsed, 0.001))} req/s`,
    );
  }, 250);
  let result: Result;
  try {
    result = await instance;
  } finally {
    clearInterval(ticker);
  }
  const seconds = (performance.now() - started) / 1000;
  const failures = responses - ok + result.errors;
  const out: LoadResult & { latencies: Float64Array } = {
    responses,
    ok,
    failedShare: responses + result.errors === 0 ? 1 : failures / (responses + result.errors),
    errors: Math.max(result.errors, reqErrors),
    timeouts: result.timeouts,
    statusCounts,
    seconds,
    rps: ok / seconds,
    latency: latencyStats(latencies.subarray(0, recorded)),
    latencies: latencies.subarray(0, recorded),
  };
  status.done(
    `  ${options.label} ${fmtInt(out.rps)} req/s  p50 ${out.latency.p50.toFixed(2)} ms  p99 ${out.latency.p99.toFixed(2)} ms` +
      (out.failedShare > 0
        ? `  (${(out.failedShare * 100).toFixed(1)}% failed: ${JSON.stringify(statusCounts)})`
        : ''),
  );
  return out;
}
