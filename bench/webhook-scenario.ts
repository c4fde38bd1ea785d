/**
 * Webhook delivery stays out of the read path (docs/webhooks.md): `licenseStatus` throughput while
 * a webhook endpoint that takes 10 s to answer is kept busy, against the same server with no
 * webhook endpoint, rounds alternating in the same run. The target is a ratio of at least 0.9.
 *
 * During a "slow webhook" round an endpoint subscribed to every event points at a receiver on
 * 127.0.0.1 that holds each request 10 s, and a test ping is queued every 250 ms, so deliveries are
 * always waiting and in flight; the round's load starts once the first delivery has arrived. The endpoint is removed after the round; attempts still in flight
 * hold only idle sockets until their 10 s timeout.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { BenchProcess } from './lib/processes.js';
import type { Figures, Row } from './lib/report.js';

export const WEBHOOK_TARGET = 0.9;
const RECEIVER_HOLD_MS = 10_000;
const PING_EVERY_MS = 250;

/** What the scenario is given by bench/run.ts: the dataset's server and a way to compare two sides. */
export interface WebhookBench<Side> {
  server: BenchProcess;
  token: string;
  users: number;
  /** A side that loads `GET /admin/license/licenseStatus`, running `before` and `after` around each round. */
  statusSide(name: string, around: { before(): Promise<void>; after(): Promise<void> }): Side;
  compare(label: string, a: Side, b: Side): Promise<[Figures, Figures]>;
}

async function api(
  bench: WebhookBench<unknown>,
  method: string,
  path: string,
  body?: unknown,
): Promise<unknown> {
  const response = await fetch(`${bench.server.url}${path}`, {
    method,
    headers: {
      authorization: `Bearer ${bench.token}`,
      ...(body !== undefined && { 'content-type': 'application/json' }),
    },
    ...(body !== undefined && { body: JSON.stringify(body) }),
    signal: AbortSignal.timeout(30_000),
  });
  const text = await response.text();
  if (response.status >= 300) throw new Error(`${method} ${path}: ${response.status} ${text.slice(0, 300)}`);
  return text === '' ? undefined : JSON.parse(text);
}

/** A receiver that answers every request only after 10 s: the slowest a delivery may take. */
async function slowReceiver(): Promise<{ url: string; received: () => number; close(): Promise<void> }> {
  let received = 0;
  const timers = new Set<NodeJS.Timeout>();
  const server: Server = createServer((request, response) => {
    received++;
    request.resume();
    const timer = setTimeout(() => {
      timers.delete(timer);
      response.end('ok');
    }, RECEIVER_HOLD_MS);
    timers.add(timer);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/hook`,
    received: () => received,
    close: async () => {
      for (const timer of timers) clearTimeout(timer);
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

export async function webhookScenario<Side>(bench: WebhookBench<Side>, store: string): Promise<Row> {
  const receiver = await slowReceiver();
  let endpoint: number | undefined;
  let pinger: NodeJS.Timeout | undefined;
  let pingFailures = 0;
  const slow = bench.statusSide('with a slow webhook', {
    before: async () => {
      const created = (await api(bench, 'POST', '/admin/webhooks', {
        url: receiver.url,
        events: ['*'],
        description: 'bench: a receiver that takes 10 s',
      })) as { id: number };
      endpoint = created.id;
      const id = created.id;
      pinger = setInterval(() => {
        api(bench, 'POST', `/admin/webhooks/${id}/test`).catch(() => pingFailures++);
      }, PING_EVERY_MS);
      // The round starts once a delivery is in flight: the worker looks for work once a second.
      const before = receiver.received();
      const deadline = performance.now() + 15_000;
      while (receiver.received() === before) {
        if (performance.now() > deadline) throw new Error('webhook scenario: no delivery within 15 s');
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    },
    after: async () => {
      clearInterval(pinger);
      if (endpoint !== undefined) await api(bench, 'DELETE', `/admin/webhooks/${endpoint}`);
      endpoint = undefined;
    },
  });
  const none = bench.statusSide('no webhooks', { before: async () => {}, after: async () => {} });
  try {
    const [withHook, without] = await bench.compare(
      `${store} · GET /admin/license/licenseStatus with a webhook receiver that takes 10 s vs no webhooks`,
      slow,
      none,
    );
    if (receiver.received() === 0) throw new Error('webhook scenario: the slow receiver got no delivery');
    if (pingFailures > 0) throw new Error(`webhook scenario: ${pingFailures} test pings failed`);
    const ratio = withHook.rps / without.rps;
    return {
      id: 'webhook-read',
      scenario: 'licenseStatus with a 10 s webhook receiver',
      users: bench.users,
      licensor: withHook,
      baselineName: 'same server, no webhooks',
      baseline: without,
      ratioKind: 'rps',
      ratio,
      target: WEBHOOK_TARGET,
      met: ratio >= WEBHOOK_TARGET,
      note: `${receiver.received()} deliveries reached the receiver`,
    };
  } finally {
    clearInterval(pinger);
    await receiver.close();
  }
}
