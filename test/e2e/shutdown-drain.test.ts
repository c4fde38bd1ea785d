import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { join } from 'node:path';
import { describe, test, type TestContext } from 'node:test';
import { loadServerConfig } from '../../src/config.js';
import { SHUTDOWN_MAX_DRAIN_MS, startServer, type RunningServer } from '../../src/server.js';
import { startServerProcess, tempDir } from '../helpers/process.js';
import { cleanup } from '../helpers/cleanup.js';

const ADMIN = 'drain-admin-token-0123456789abcdef';
/** The drain waits this long for quiet (src/server.ts SHUTDOWN_QUIET_MS), then closes. */
const QUIET_MS = 250;

async function start(t: TestContext): Promise<RunningServer> {
  const config = loadServerConfig({
    LICENSOR_DATA_DIR: join(tempDir(t), 'data'),
    LICENSOR_PORT: '0',
    LICENSOR_ADMIN_TOKEN: ADMIN,
    LICENSOR_LOG_LEVEL: 'silent',
    // 40 refused tokens from one address must stay 401s, not turn into 429s, for this test.
    LICENSOR_AUTH_FAILURE_LIMIT: 'off',
  });
  const server = await startServer(config, { notify: () => {} });
  let closed = false;
  cleanup(t, async () => {
    if (!closed) await server.close(0);
  });
  const close = server.close.bind(server);
  server.close = async (ms) => {
    closed = true;
    await close(ms);
  };
  return server;
}

/**
 * Samples the in-flight count on every turn of the event loop until the test ends; returns a
 * function that says the lowest seen so far.
 */
function watchLowest(t: TestContext, server: RunningServer): () => number {
  let lowest = server.inFlight();
  let running = true;
  const sample = (): void => {
    lowest = Math.min(lowest, server.inFlight());
    if (running) setImmediate(sample);
  };
  sample();
  cleanup(t, () => {
    running = false;
  });
  return () => Math.min(lowest, server.inFlight());
}

async function until(condition: () => boolean, ms: number): Promise<boolean> {
  const end = Date.now() + ms;
  while (!condition() && Date.now() < end) await new Promise((r) => setTimeout(r, 5));
  return condition();
}

/** A request whose body never finishes arriving, on a connection that is then reset (RST). */
function startThenReset(url: string): { socket: Socket; reset(): void } {
  const { hostname, port } = new URL(url);
  const socket = connect(Number(port), hostname);
  socket.on('error', () => {});
  socket.write(
    [
      'POST /admin/users HTTP/1.1',
      `Host: ${hostname}`,
      `Authorization: Bearer ${ADMIN}`,
      'Content-Type: application/json',
      'Content-Length: 100',
      '',
      '{"userid":',
    ].join('\r\n'),
  );
  return { socket, reset: () => socket.resetAndDestroy() };
}

describe('the in-flight count that shutdown waits on', () => {
  test('40 refused tokens leave it at 0 and it never goes below 0', async (t) => {
    const server = await start(t);
    const lowest = watchLowest(t, server);
    const statuses = await Promise.all(
      Array.from({ length: 40 }, (_, i) =>
        fetch(`${server.url}/admin/license`, { headers: { authorization: `Bearer wrong-${i}` } }).then(
          (res) => res.status,
        ),
      ),
    );
    assert.deepEqual(new Set(statuses), new Set([401]));
    assert.ok(await until(() => server.inFlight() === 0, 1000), `in flight: ${server.inFlight()}`);
    assert.equal(lowest(), 0, 'the count went below 0');
  });

  test('40 connection resets mid-request leave it at 0, and close() then takes only the quiet period', async (t) => {
    const server = await start(t);
    const lowest = watchLowest(t, server);
    const clients = Array.from({ length: 40 }, () => startThenReset(server.url));
    assert.ok(await until(() => server.inFlight() === 40, 2000), `in flight: ${server.inFlight()}`);
    for (const client of clients) client.reset();
    assert.ok(await until(() => server.inFlight() === 0, 1000), `still in flight: ${server.inFlight()}`);
    // ...and refused tokens on top, which once pulled the count below zero.
    for (let i = 0; i < 40; i++)
      await fetch(`${server.url}/admin/license`, { headers: { authorization: `Bearer wrong-${i}` } });
    assert.equal(lowest(), 0, 'the count went below 0');
    const started = performance.now();
    await server.close();
    const took = performance.now() - started;
    t.diagnostic(
      `close() took ${Math.round(took)} ms (quiet period ${QUIET_MS} ms, drain limit ${SHUTDOWN_MAX_DRAIN_MS} ms)`,
    );
    assert.ok(took < QUIET_MS + 1000, `close() took ${Math.round(took)} ms`);
  });

  test('a real process: SIGTERM after 40 connection resets and 40 refused tokens exits within the quiet period', async (t) => {
    const server = await startServerProcess(t, {
      LICENSOR_DATA_DIR: join(tempDir(t), 'data'),
      LICENSOR_ADMIN_TOKEN: ADMIN,
    });
    const clients = Array.from({ length: 40 }, () => startThenReset(server.url));
    // Give the server a moment to read every request's headers, then reset all the connections.
    await new Promise((r) => setTimeout(r, 300));
    for (const client of clients) client.reset();
    const refused = await Promise.all(
      Array.from({ length: 40 }, (_, i) =>
        fetch(`${server.url}/admin/license`, { headers: { authorization: `Bearer wrong-${i}` } }).then(
          (res) => res.status,
        ),
      ),
    );
    assert.ok(refused.every((status) => status === 401 || status === 429));
    const started = performance.now();
    assert.equal(await server.stop('SIGTERM'), 0);
    const took = performance.now() - started;
    const lines = server
      .stdout()
      .split('\n')
      .filter((line) => line.startsWith('{'))
      .map(
        (line) =>
          JSON.parse(line) as {
            msg: string;
            time: number;
            inFlight?: number;
            drainMs?: number;
            responseTime?: number;
          },
      );
    const drained = lines.filter((line) => line.msg.startsWith('drain'));
    // The access line is written when a request is answered; it arrived responseTime earlier.
    const lastRequest = Math.max(
      ...lines.filter((l) => l.msg === 'request completed').map((l) => l.time - (l.responseTime ?? 0)),
    );
    assert.ok(Number.isFinite(lastRequest), 'the access lines are in the log');
    t.diagnostic(
      `exit ${Math.round(took)} ms after SIGTERM; ${JSON.stringify(drained.map(({ msg, inFlight, drainMs }) => ({ msg, inFlight, drainMs })))}; closed ${drained[0]!.time - lastRequest} ms after the last request arrived`,
    );
    assert.equal(drained.length, 1, server.stdout().slice(-2000));
    assert.equal(drained[0]!.inFlight, 0);
    // The refused tokens were the last requests, just before SIGTERM: the server must still wait
    // for the quiet period after them (a count pulled below zero by refusals once ended the drain
    // at once), and no longer than that (a count held up by resets once ran to the 5 s limit).
    assert.ok(drained[0]!.time - lastRequest >= QUIET_MS - 10, 'closed before the quiet period had passed');
    assert.ok(drained[0]!.drainMs! < QUIET_MS + 500, `the drain took ${drained[0]!.drainMs} ms`);
    assert.ok(took < SHUTDOWN_MAX_DRAIN_MS / 2, `exit took ${Math.round(took)} ms`);
  });
});
