import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { test } from 'node:test';
import { runCli } from '../helpers/process.js';
import {
  ADMIN_COMMANDS,
  assertNoStack,
  assertOk,
  assertRefused,
  okJson,
  startLicensor,
} from './cli-helpers.js';

/** A port nothing listens on: taken from the system, then let go. */
async function deadPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

test('server down: every command exits 1 with one clear line, never a stack trace', async () => {
  const url = `http://127.0.0.1:${await deadPort()}`;
  for (const args of [...ADMIN_COMMANDS, ['notices']])
    for (const json of [[], ['--json']]) {
      const res = await runCli([...args, ...json], {
        env: { LICENSOR_URL: url, LICENSOR_TOKEN: 'whatever-token' },
      });
      const what = `${args.join(' ')} ${json.join(' ')}: ${res.stderr}`;
      assert.equal(res.code, 1, what);
      assert.equal(res.stdout, '', what);
      assert.equal(
        res.stderr,
        `licensor: cannot reach ${url} (ECONNREFUSED); is the server running?\n`,
        what,
      );
      assertNoStack(res);
    }
  // --url wins over LICENSOR_URL.
  const res = await runCli(['status', '--url', url], { env: { LICENSOR_URL: 'http://127.0.0.1:9' } });
  assert.match(res.stderr, new RegExp(`cannot reach ${url} `));
  const unknownHost = await runCli(['status', '--url', 'http://licensor.invalid']);
  assert.equal(unknownHost.code, 1);
  assert.match(
    unknownHost.stderr,
    /^licensor: cannot reach http:\/\/licensor\.invalid \(\w+\); is the server running\?\n$/,
  );
  assertNoStack(unknownHost);
});

test('a server started without LICENSOR_ADMIN_TOKEN: the CLI reads DATA_DIR/admin-token for a local URL', async (t) => {
  const l = await startLicensor(t, { adminToken: false });
  const secret = readFileSync(join(l.dataDir, 'admin-token'), 'utf8').trim();
  assert.match(secret, /^lsr_/);
  const env = { LICENSOR_URL: l.url, LICENSOR_TOKEN: '', LICENSOR_DATA_DIR: l.dataDir };

  const status = okJson(await l.run(['status', '--json'], { env }));
  assert.equal(status.licenseSeats, 0);
  assert.match(assertOk(await l.run(['status'], { env })), /^State: +no active license$/m);
  const tokens = okJson(await l.run(['tokens', 'list', '--json'], { env }));
  assert.equal(tokens.length, 1);
  assert.equal(tokens[0].bootstrap, true);

  // localhost is local too; the file is not sent anywhere else.
  const localhost = l.url.replace('127.0.0.1', 'localhost');
  assertOk(await l.run(['list'], { env: { ...env, LICENSOR_URL: localhost } }));

  // A flag or LICENSOR_TOKEN wins over the file.
  const wrong = await l.run(['list'], { env: { ...env, LICENSOR_TOKEN: 'not-the-token-at-all' } });
  assertRefused(wrong, 'UNAUTHORIZED');
  assertRefused(await l.run(['list', '--token', 'not-the-token-at-all'], { env }), 'UNAUTHORIZED');

  // Without the file (another data directory): no token, and the hint says how to give one.
  const none = await l.run(['list'], { env: { ...env, LICENSOR_DATA_DIR: l.dir } });
  assertRefused(none, 'UNAUTHORIZED');
  assert.match(none.stderr, /no token was given/);
});

test('help: licensor --help lists every command; every command has a complete --help', async () => {
  const top = await runCli(['--help']);
  assert.equal(top.code, 0);
  const commands = [
    'serve',
    'keygen',
    'issue',
    'inspect',
    'add',
    'list',
    'status',
    'delete',
    'usage',
    'history',
    'notices',
    'users',
    'tokens',
    'audit',
  ];
  for (const name of commands) assert.match(top.stdout, new RegExp(`^  ${name}\\b`, 'm'), name);
  assert.match(top.stdout, /LICENSOR_URL/);
  assert.match(top.stdout, /LICENSOR_TOKEN/);
  assert.match(top.stdout, /Exit codes: 0 success, 1 .*, *\n?2 a usage error/);

  const admin = [
    ['add'],
    ['list'],
    ['status'],
    ['delete'],
    ['usage'],
    ['history'],
    ['notices'],
    ['audit'],
    ['users', 'list'],
    ['users', 'show'],
    ['users', 'add'],
    ['users', 'disable'],
    ['users', 'enable'],
    ['users', 'remove'],
    ['tokens', 'create'],
    ['tokens', 'list'],
    ['tokens', 'revoke'],
  ];
  const results = await Promise.all(admin.map((args) => runCli([...args, '--help'])));
  for (const [i, args] of admin.entries()) {
    const res = results[i]!;
    assert.equal(res.code, 0, args.join(' '));
    assert.match(res.stdout, new RegExp(`^Usage: licensor ${args.join(' ')}`), args.join(' '));
    for (const option of ['--url <url>', '--token <token>', '--json'])
      assert.ok(res.stdout.includes(option), `${args.join(' ')} --help lacks ${option}`);
  }
  const users = await runCli(['users', '--help']);
  assert.equal(users.code, 0);
  for (const sub of ['list', 'show', 'add', 'disable', 'enable', 'remove'])
    assert.match(users.stdout, new RegExp(`^  ${sub}\\b`, 'm'));
  const tokens = await runCli(['tokens', '--help']);
  assert.equal(tokens.code, 0);
  for (const sub of ['create', 'list', 'revoke'])
    assert.match(tokens.stdout, new RegExp(`^  ${sub}\\b`, 'm'));
  for (const name of ['serve', 'keygen', 'issue', 'inspect'])
    assert.equal((await runCli([name, '--help'])).code, 0);
  // Named options are documented where they matter.
  assert.match(
    (await runCli(['users', 'add', '--help'])).stdout,
    /--iamid <idp>[\s\S]*--type <type>[\s\S]*dataConsumer/,
  );
  assert.match((await runCli(['tokens', 'create', '--help'])).stdout, /--permission <permission>/);
  assert.match((await runCli(['usage', '--help'])).stdout, /--offset <n>[\s\S]*--size <n>/);
  assert.match((await runCli(['add', '--help'])).stdout, /- to read it from stdin[\s\S]*--file <file>/);
  // An unknown command is a usage error.
  const unknown = await runCli(['frobnicate']);
  assert.equal(unknown.code, 2);
  assertNoStack(unknown);
});
