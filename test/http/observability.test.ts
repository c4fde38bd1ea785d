import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { describe, test, type TestContext } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { pino } from 'pino';
import { Counter, Histogram, Registry, type Metric } from 'prom-client';
import { ManualClock } from '../../src/domain/clock.js';
import { buildApp } from '../../src/http/app.js';
import { hashTokenSecret } from '../../src/http/auth.js';
import { RequestSeries } from '../../src/http/metrics.js';
import { requestLoggerFactory } from '../../src/http/request-logger.js';
import { serverLogger } from '../../src/server.js';
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.js';
import { ADMIN_TOKEN, buildTestApp } from '../helpers/app.js';
import { createIssuer } from '../helpers/issuer.js';

interface LogLine {
  level: number;
  msg?: string;
  reqId?: string;
  [key: string]: unknown;
}

function logSink(): { stream: Writable; lines: LogLine[] } {
  const lines: LogLine[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString().split('\n'))
        if (line !== '') lines.push(JSON.parse(line) as LogLine);
      done();
    },
  });
  return { stream, lines };
}

/** An app logging like the server does (redaction included) at `level`, into `stream`. */
async function loggingApp(t: TestContext, level: string, stream: Writable): Promise<FastifyInstance> {
  const clock = new ManualClock('2026-06-01T12:00:00.000Z');
  const store = SqliteStore.open({ filename: ':memory:' });
  await store.setBootstrapToken(hashTokenSecret(ADMIN_TOKEN), clock.now());
  const app = await buildApp({
    store,
    keyRing: createIssuer(() => clock.now()).ring,
    clock,
    activityWindowDays: 365,
    logger: serverLogger(level, stream),
  });
  t.after(async () => {
    await app.close();
    await store.close();
  });
  return app;
}

const headers = { authorization: `Bearer ${ADMIN_TOKEN}` };

describe('request logs', () => {
  test('every line a request writes carries its request id', async (t) => {
    const { stream, lines } = logSink();
    const app = await loggingApp(t, 'info', stream);
    const ok = await app.inject({
      url: '/admin/license/licenseStatus',
      headers: { ...headers, 'x-request-id': 'trace-me-1' },
    });
    assert.equal(ok.statusCode, 200);
    const refused = await app.inject({
      url: '/admin/license/licenseStatus',
      headers: { 'x-request-id': 'r-401' },
    });
    assert.equal(refused.statusCode, 401);
    assert.equal(refused.json().requestId, 'r-401');
    // One access line per request, when it is answered (docs/deployment.md#logs).
    for (const [id, status] of [
      ['trace-me-1', 200],
      ['r-401', 401],
    ] as const) {
      const mine = lines.filter((line) => line.reqId === id);
      assert.deepEqual(
        mine.map((line) => [line.msg, line.req, line.res]),
        [
          [
            'request completed',
            { method: 'GET', url: '/admin/license/licenseStatus', remoteAddress: '127.0.0.1' },
            { statusCode: status },
          ],
        ],
        `lines of ${id}: ${JSON.stringify(lines)}`,
      );
      const took = mine[0]?.responseTime;
      assert.ok(typeof took === 'number' && took > 0 && took < 60_000, `responseTime ${String(took)}`);
    }
    assert.ok(
      lines.every((line) => line.reqId !== undefined || !('req' in line || 'res' in line)),
      `a request's line without its id: ${JSON.stringify(lines)}`,
    );
    assert.ok(!JSON.stringify(lines).includes(ADMIN_TOKEN), 'the token is redacted');
  });

  test('a URL the router cannot decode writes its access line too', async (t) => {
    const { stream, lines } = logSink();
    const app = await loggingApp(t, 'info', stream);
    for (const url of ['/%zz', '/admin/license/%E0%A4%A?x=1']) {
      const res = await app.inject({ url, headers: { 'x-request-id': `bad-${url.length}` } });
      assert.equal(res.statusCode, 400);
      assert.equal(res.json().code, 'VALIDATION_FAILED');
      const mine = lines.filter((line) => line.reqId === `bad-${url.length}`);
      assert.deepEqual(
        mine.map((line) => [line.msg, line.req, line.res]),
        [['request completed', { method: 'GET', url, remoteAddress: '127.0.0.1' }, { statusCode: 400 }]],
        `lines of ${url}: ${JSON.stringify(lines)}`,
      );
      const took = mine[0]?.responseTime;
      assert.ok(typeof took === 'number' && took >= 0 && took < 60_000, `responseTime ${String(took)}`);
    }
  });

  test("the server's logger redacts every secret path, whoever logs it", () => {
    const { stream, lines } = logSink();
    const log = serverLogger('info', stream);
    log.info({
      req: { headers: { authorization: `Bearer ${ADMIN_TOKEN}`, cookie: 'session=s3cret-cookie' } },
      licenseKey: 'eyJ.key-one.sig',
      licensekey: 'eyJ.key-two.sig',
      token: 'tok-secret-1',
      secret: 'whsec-secret-1',
      change: { licenseKey: 'eyJ.key-three.sig', token: 'tok-secret-2', secret: 'whsec-secret-2' },
    });
    const text = JSON.stringify(lines);
    for (const secret of [
      ADMIN_TOKEN,
      's3cret-cookie',
      'key-one',
      'key-two',
      'key-three',
      'tok-secret-1',
      'tok-secret-2',
      'whsec-secret-1',
      'whsec-secret-2',
    ])
      assert.ok(!text.includes(secret), `${secret} in ${text}`);
    assert.equal(lines[0]?.token, '[redacted]');
  });

  test('at level warn a served request writes nothing, a failed one its error with the request id', async (t) => {
    const { stream, lines } = logSink();
    const app = await loggingApp(t, 'warn', stream);
    app.get('/test/fails', { config: { access: 'public' }, schema: { hide: true } }, () => {
      throw new Error('boom');
    });
    assert.equal((await app.inject({ url: '/admin/license/licenseStatus', headers })).statusCode, 200);
    assert.equal(lines.length, 0, JSON.stringify(lines));
    const failed = await app.inject({ url: '/test/fails', headers: { 'x-request-id': 'r-500' } });
    assert.equal(failed.statusCode, 500);
    const error = lines.find((line) => line.msg === 'request failed');
    assert.equal(error?.reqId, 'r-500', JSON.stringify(lines));
    assert.equal(error?.level, 50);
  });

  test('the child logger is made only when a request writes a line', () => {
    const { stream, lines } = logSink();
    let children = 0;
    const parent = pino({ level: 'warn', onChild: () => children++ }, stream);
    const factory = requestLoggerFactory(parent);
    const make = (id: string) => factory.call({} as FastifyInstance, parent, { reqId: id }, {}, {} as never);

    const quiet = make('r1');
    quiet.info({ x: 1 }, 'dropped');
    quiet.debug('dropped');
    assert.equal(quiet.level, 'warn');
    assert.equal(children, 0, 'a request that writes nothing makes no child');

    const loud = make('r2');
    loud.warn({ n: 1 }, 'first');
    loud.error('second %s', 'line');
    loud.info('dropped');
    assert.equal(children, 1, 'one child, made at the first line');
    assert.deepEqual(
      lines.map((line) => [line.reqId, line.msg, line.level]),
      [
        ['r2', 'first', 40],
        ['r2', 'second line', 50],
      ],
    );
    assert.equal(lines[0]?.n, 1);

    const nested = make('r3').child({ part: 'x' });
    nested.warn('from a grandchild');
    assert.deepEqual([lines[2]?.reqId, lines[2]?.part], ['r3', 'x']);

    // A route with its own level gets pino's child at once, with that level.
    const own = factory.call({} as FastifyInstance, parent, { reqId: 'r4' }, { level: 'debug' }, {} as never);
    own.debug('kept');
    assert.deepEqual([lines[3]?.reqId, lines[3]?.msg], ['r4', 'kept']);
  });
});

describe('request metrics', () => {
  function series(text: string, name: string, labels: string): number {
    const line = text.split('\n').find((l) => l.startsWith(`${name}{${labels}}`));
    assert.ok(line, `no ${name}{${labels}} in\n${text}`);
    return Number(line.split(' ').at(-1));
  }

  test('every request is counted once, by route pattern and status, in the counter and the histogram', async (t) => {
    const begun = performance.now();
    const h = await buildTestApp(t);
    const n = 60;
    const results = await Promise.all([
      ...Array.from({ length: n }, () => h.request({ method: 'GET', url: '/admin/license/licenseStatus' })),
      ...Array.from({ length: 7 }, () =>
        h.app.inject({
          method: 'GET',
          url: '/admin/license/licenseStatus',
          headers: { authorization: 'Bearer nope-nope-nope' },
        }),
      ),
      ...Array.from({ length: 3 }, (_, i) => h.app.inject({ method: 'GET', url: `/no/such/${i}` })),
      // Answered by the router before any hook runs (frameworkErrors), and counted all the same.
      ...Array.from({ length: 2 }, (_, i) => h.app.inject({ method: 'GET', url: `/admin/license/%zz${i}` })),
    ]);
    assert.deepEqual(
      results.map((r) => r.statusCode).sort(),
      [...Array(n).fill(200), ...Array(7).fill(401), ...Array(3).fill(404), ...Array(2).fill(400)].sort(),
    );
    const text = (await h.request({ method: 'GET', url: '/metrics' })).body;
    const status = 'route="/admin/license/licenseStatus"';
    const counted = (code: number) =>
      series(text, 'licensor_http_requests_total', `method="GET",${status},status="${code}"`);
    assert.deepEqual([counted(200), counted(401)], [n, 7]);
    assert.equal(
      series(text, 'licensor_http_requests_total', 'method="GET",route="unmatched",status="404"'),
      3,
    );
    assert.equal(
      series(text, 'licensor_http_requests_total', 'method="GET",route="unmatched",status="400"'),
      2,
    );
    assert.doesNotMatch(text, /route="\/no\/such/);

    const latency = 'licensor_http_request_duration_seconds';
    const labels = `method="GET",${status},status="200"`;
    const bounds = [
      '0.001',
      '0.0025',
      '0.005',
      '0.01',
      '0.025',
      '0.05',
      '0.1',
      '0.25',
      '0.5',
      '1',
      '2.5',
      '+Inf',
    ];
    const buckets = bounds.map((le) => series(text, `${latency}_bucket`, `le="${le}",${labels}`));
    assert.deepEqual(
      buckets,
      [...buckets].sort((a, b) => a - b),
      'buckets are cumulative',
    );
    assert.equal(buckets.at(-1), n);
    assert.equal(series(text, `${latency}_count`, labels), n);
    const sum = series(text, `${latency}_sum`, labels);
    assert.ok(sum > 0 && sum < n * 2.5, `sum ${sum}`);
    // Timed from the first hook, also when auth refuses the request in a later one.
    const refusedSum = series(text, `${latency}_sum`, `method="GET",${status},status="401"`);
    const testSeconds = (performance.now() - begun) / 1000;
    assert.ok(
      refusedSum > 0 && refusedSum < 7 * testSeconds,
      `refused sum ${refusedSum} in ${testSeconds} s`,
    );
    // The scrape itself is counted once it is answered: the next scrape shows it.
    const again = (await h.request({ method: 'GET', url: '/metrics' })).body;
    assert.equal(
      series(again, 'licensor_http_requests_total', 'method="GET",route="/metrics",status="200"'),
      1,
    );
  });

  test("publishes what prom-client's Counter and Histogram published for the same requests", async () => {
    const requests = new RequestSeries();
    const ours = new Registry();
    for (const metric of requests.metrics()) ours.registerMetric(metric as unknown as Metric);
    const theirs = new Registry();
    const labelNames = ['method', 'route', 'status'] as const;
    const counter = new Counter({
      name: 'licensor_http_requests_total',
      help: 'HTTP requests by method, route pattern and status',
      labelNames,
      registers: [theirs],
    });
    const histogram = new Histogram({
      name: 'licensor_http_request_duration_seconds',
      help: 'HTTP request latency by method, route pattern and status',
      labelNames,
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers: [theirs],
    });
    // On the bounds, between them and beyond the last; several routes, methods and statuses.
    const seen: [string, string, number, number][] = [
      ['GET', '/admin/license/licenseStatus', 200, 0.0004],
      ['GET', '/admin/license/licenseStatus', 200, 0.001],
      ['GET', '/admin/license/licenseStatus', 200, 0.0011],
      ['GET', '/admin/license/licenseStatus', 401, 0.003],
      ['DELETE', '/admin/license/:licenseId', 404, 0.25],
      ['GET', 'unmatched', 404, 2.5],
      ['GET', '/admin/license/licenseStatus', 200, 7.25],
      ['HEAD', '/healthz', 200, 0.05],
    ];
    for (const [method, route, status, seconds] of seen) {
      requests.observe(method, route, status, seconds);
      const labels = { method, route, status: String(status) };
      counter.inc(labels);
      histogram.observe(labels, seconds);
    }
    assert.equal(await ours.metrics(), await theirs.metrics());
    assert.deepEqual(await ours.getMetricsAsJSON(), await theirs.getMetricsAsJSON());
    ours.resetMetrics();
    assert.doesNotMatch(await ours.metrics(), /route=/);
  });
});
