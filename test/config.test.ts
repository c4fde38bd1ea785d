import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { resolve } from 'node:path';
import Fastify from 'fastify';
import { loadClientConfig } from '../src/client-config.js';
import { ConfigError, loadServerConfig, MAX_TRUSTED_PROXY_HOPS } from '../src/config.js';
import { trustProxyOption } from '../src/server.js';

describe('LICENSOR_TRUST_PROXY', () => {
  const trustProxy = (value?: string) =>
    loadServerConfig(value === undefined ? {} : { LICENSOR_TRUST_PROXY: value }).trustProxy;

  test('unset trusts no proxy; a hop count or addresses and CIDR ranges are taken', () => {
    assert.equal(trustProxy(), false);
    assert.equal(trustProxy('  '), false);
    assert.equal(trustProxy('1'), 1);
    assert.equal(trustProxy(String(MAX_TRUSTED_PROXY_HOPS)), MAX_TRUSTED_PROXY_HOPS);
    assert.deepEqual(trustProxy('10.0.0.1'), ['10.0.0.1']);
    assert.deepEqual(trustProxy('10.0.0.0/8, 192.168.1.7 ,::1,fd00::/8,::ffff:10.1.2.3'), [
      '10.0.0.0/8',
      '192.168.1.7',
      '::1',
      'fd00::/8',
      '::ffff:10.1.2.3',
    ]);
    // Fastify (proxy-addr) takes every value the reader accepts.
    for (const value of ['2', '10.0.0.0/8,::1', '127.0.0.1/32,::/1,0.0.0.0/1']) {
      assert.doesNotThrow(() => Fastify({ trustProxy: trustProxyOption(trustProxy(value)) }), value);
    }
  });

  test('anything else stops start-up with one line naming the variable', () => {
    for (const value of [
      'true',
      '*',
      '0',
      '65',
      '1.5',
      '-1',
      'loopback',
      '10.0.0.256',
      '10.0.0.0/33',
      '0.0.0.0/0',
      '::/0',
      '10.0.0.0/8/8',
      '10.0.0.0/',
      'fe80::1%eth0',
      '::1/129',
      '10.0.0.1,',
      '10.0.0.1,,10.0.0.2',
      '10.0.0.1;10.0.0.2',
      'proxy.internal',
      '10.0.0.1\nLICENSOR_OTHER=1',
    ]) {
      assert.throws(
        () => trustProxy(value),
        (err: unknown) =>
          err instanceof ConfigError &&
          err.message.startsWith('LICENSOR_TRUST_PROXY must be') &&
          !err.message.includes('\n'),
        value,
      );
    }
  });
});

test('a ConfigError is one line and keeps its cause', () => {
  const cause = new Error('SQLITE_CANTOPEN');
  const err = new ConfigError('LICENSOR_DATA_DIR: cannot open\n  the database:\r\nSQLITE_CANTOPEN', {
    cause,
  });
  assert.equal(err.message, 'LICENSOR_DATA_DIR: cannot open the database: SQLITE_CANTOPEN');
  assert.equal(err.cause, cause);
  assert.equal(err.name, 'ConfigError');
});

test('LICENSOR_ENTITLEMENTS_TTL_SECONDS: one day by default, 60 s to a year', () => {
  const ttl = (value?: string) =>
    loadServerConfig(value === undefined ? {} : { LICENSOR_ENTITLEMENTS_TTL_SECONDS: value })
      .entitlementsTtlSeconds;
  assert.equal(ttl(), 86_400);
  assert.equal(ttl('60'), 60);
  assert.equal(ttl('31536000'), 31_536_000);
  for (const value of ['59', '31536001', '-1', '1.5', 'day', '0'])
    assert.throws(
      () => ttl(value),
      (err: unknown) =>
        err instanceof ConfigError && err.message.includes('LICENSOR_ENTITLEMENTS_TTL_SECONDS'),
      value,
    );
});

test('LICENSOR_WEBHOOK_RETRY_SCHEDULE and LICENSOR_EVENTS_POLL_MS', () => {
  const config = (env: Record<string, string>) => loadServerConfig(env);
  assert.deepEqual(config({}).webhookRetrySchedule, [5, 30, 120, 600, 3600, 21600, 43200]);
  assert.deepEqual(
    config({ LICENSOR_WEBHOOK_RETRY_SCHEDULE: '1, 2.5,60' }).webhookRetrySchedule,
    [1, 2.5, 60],
  );
  assert.equal(config({}).eventsPollMs, 1000);
  assert.equal(config({ LICENSOR_EVENTS_POLL_MS: '50' }).eventsPollMs, 50);
  for (const bad of ['5,,30', 'a,b', '-5', '5;30', '999999999', Array(51).fill('1').join(',')])
    assert.throws(
      () => config({ LICENSOR_WEBHOOK_RETRY_SCHEDULE: bad }),
      (err: unknown) =>
        err instanceof ConfigError && err.message.startsWith('LICENSOR_WEBHOOK_RETRY_SCHEDULE must be'),
      bad,
    );
  for (const bad of ['0', '10001', '1.5'])
    assert.throws(() => config({ LICENSOR_EVENTS_POLL_MS: bad }), /LICENSOR_EVENTS_POLL_MS/, bad);
});

test('LICENSOR_DATA_DIR: ./data by default, made absolute, the SQLite file inside it', () => {
  for (const env of [{}, { LICENSOR_DATA_DIR: '  ' }]) {
    const config = loadServerConfig(env);
    assert.equal(config.dataDir, resolve('./data'));
    assert.deepEqual(config.store, { kind: 'sqlite', filename: resolve('./data', 'licensor.sqlite') });
  }
  assert.equal(
    loadServerConfig({ LICENSOR_DATA_DIR: ' state/licensor ' }).dataDir,
    resolve('state/licensor'),
  );
  assert.deepEqual(loadServerConfig({ LICENSOR_DATA_DIR: '/srv/licensor' }).store, {
    kind: 'sqlite',
    filename: '/srv/licensor/licensor.sqlite',
  });
  // A database URL chooses PostgreSQL; the data directory stays for local state.
  assert.deepEqual(loadServerConfig({ DATABASE_URL: 'postgres://db/licensor' }).store, {
    kind: 'postgres',
    url: 'postgres://db/licensor',
    queryTimeoutMs: 30_000,
  });
});

test('LICENSOR_PG_QUERY_TIMEOUT_MS: 30 s by default, 100 ms to an hour', () => {
  const store = (timeout: string) =>
    loadServerConfig({ DATABASE_URL: 'postgres://db/licensor', LICENSOR_PG_QUERY_TIMEOUT_MS: timeout }).store;
  assert.deepEqual(store('5000'), { kind: 'postgres', url: 'postgres://db/licensor', queryTimeoutMs: 5000 });
  assert.deepEqual(store(' '), { kind: 'postgres', url: 'postgres://db/licensor', queryTimeoutMs: 30_000 });
  for (const bad of ['0', '99', '3600001', '1.5', 'soon'])
    assert.throws(
      () => store(bad),
      (err: unknown) =>
        err instanceof ConfigError && err.message.startsWith('LICENSOR_PG_QUERY_TIMEOUT_MS must be'),
      bad,
    );
});

test("the CLI's variables: trimmed, blank as unset, the data directory made absolute", () => {
  assert.deepEqual(loadClientConfig({}), {
    url: null,
    host: null,
    port: null,
    token: null,
    dataDir: resolve('./data'),
    noColor: false,
  });
  const config = loadClientConfig({
    LICENSOR_URL: ' http://licensor:8080 ',
    LICENSOR_HOST: '\tlicensor',
    LICENSOR_PORT: '9090 ',
    LICENSOR_TOKEN: '  ',
    LICENSOR_DATA_DIR: 'state/licensor',
    NO_COLOR: ' ',
  });
  assert.deepEqual(config, {
    url: 'http://licensor:8080',
    host: 'licensor',
    port: '9090',
    token: null,
    dataDir: resolve('state/licensor'),
    noColor: true,
  });
  assert.ok(Object.isFrozen(config));
  assert.equal(loadClientConfig({ LICENSOR_DATA_DIR: '/srv/licensor' }).dataDir, '/srv/licensor');
  assert.equal(loadClientConfig({ LICENSOR_DATA_DIR: ' ' }).dataDir, resolve('./data'));
});
