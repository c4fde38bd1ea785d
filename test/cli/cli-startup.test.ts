import assert from 'node:assert/strict';
import { test } from 'node:test';
import { runCli } from '../helpers/process.js';

// A command other than `serve` must not load TypeBox: it took 0.4 s of every command's 0.6 s start
// (docs/architecture.md#layers). A module hook refuses to resolve it, so a command that reaches it
// fails with the hook's message.
const HOOKS = `export async function resolve(specifier, context, next) {
  if (specifier === 'typebox' || specifier.startsWith('typebox/')) throw new Error('TYPEBOX_LOADED');
  return next(specifier, context);
}`;
const REGISTER = `import { register } from 'node:module'; register(${JSON.stringify(`data:text/javascript,${encodeURIComponent(HOOKS)}`)});`;
const env = {
  NODE_OPTIONS: `--import=${JSON.stringify(`data:text/javascript,${encodeURIComponent(REGISTER)}`)}`,
};

test('the CLI starts without TypeBox: help, an offline command and a client command', async () => {
  const help = await runCli(['--help'], { env });
  assert.equal(help.code, 0, help.stderr);
  assert.match(help.stdout, /Usage: licensor/);

  const keygen = await runCli(['keygen', '--help'], { env });
  assert.equal(keygen.code, 0, keygen.stderr);

  // Nothing listens on port 1: the command reads its configuration, builds its client and fails
  // to connect, with the one-line "cannot reach" message, not the hook's.
  const list = await runCli(['list', '--url', 'http://127.0.0.1:1', '--token', 'x'.repeat(20)], {
    env: { ...env, LICENSOR_DATA_DIR: '  ' },
  });
  assert.equal(list.code, 1, list.stderr);
  assert.doesNotMatch(list.stderr, /TYPEBOX_LOADED/);
  assert.match(list.stderr, /127\.0\.0\.1:1/);
});

test('the hook would catch TypeBox: serve, which checks its configuration with it, fails on it', async () => {
  const serve = await runCli(['serve'], { env: { ...env, LICENSOR_PORT: 'not-a-port' } });
  assert.notEqual(serve.code, 0);
  assert.match(serve.stderr, /TYPEBOX_LOADED/);
});
