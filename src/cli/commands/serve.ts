import type { Command } from 'commander';
import { IdentityCollisionError } from '../../domain/user-identity.js';
import { LicensorError } from '../../domain/errors.js';
import { KeyFileError } from '../../keys/key-ring.js';
import { StoreStartupError } from '../../store/startup-error.js';

const SHUTDOWN_GRACE_MS = 10_000;

/** Runs the server until SIGTERM or SIGINT, then closes gracefully (in-flight requests finish). */
async function serve(): Promise<void> {
  // Loaded here, not at the top: the other commands start faster without the server's modules
  // (and without TypeBox, which the configuration's checks load).
  const [{ startServer }, { ConfigError, loadServerConfig }] = await Promise.all([
    import('../../server.js'),
    import('../../config.js'),
  ]);
  // Listening for signals from before the "ready" line: a SIGTERM right after it must close the
  // server gracefully, not end the process by default.
  let pending: string | undefined;
  let onSignal = (signal: string): void => {
    pending ??= signal;
  };
  process.on('SIGTERM', () => onSignal('SIGTERM'));
  process.on('SIGINT', () => onSignal('SIGINT'));
  let server;
  try {
    server = await startServer(loadServerConfig());
  } catch (err) {
    // Bad configuration: one clear line naming the variable, and no stack trace.
    if (err instanceof ConfigError) fail(err.message);
    if (err instanceof KeyFileError) fail(`LICENSOR_TRUSTED_KEYS: ${err.message}`);
    // Users that migration 4 would merge: the message lists them and the way out (docs/users.md).
    if (err instanceof IdentityCollisionError) fail(err.message);
    // A database this Licensor must not touch, or cannot reach: one line, exit 1.
    if (err instanceof StoreStartupError) fail(`the store: ${err.message}`);
    if (err instanceof LicensorError && err.code === 'STORE_UNAVAILABLE')
      fail(
        `DATABASE_URL: the database cannot be reached (${err.cause instanceof Error ? err.cause.message : err.detail})`,
      );
    if ((err as NodeJS.ErrnoException).code === 'EADDRINUSE')
      fail(`LICENSOR_PORT: the address is already in use (${(err as Error).message})`);
    throw err;
  }
  const running = server;
  let closing = false;
  const shutdown = (signal: string): void => {
    if (closing) return;
    closing = true;
    running.log.info({ signal }, 'shutting down: no new connections, finishing in-flight requests');
    const force = setTimeout(() => {
      running.log.error('shutdown took too long; exiting');
      process.exit(1);
    }, SHUTDOWN_GRACE_MS);
    force.unref();
    running.close().then(
      () => process.exit(0),
      (err: unknown) => {
        running.log.error({ err }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  onSignal = shutdown;
  if (pending !== undefined) shutdown(pending);
}

function fail(line: string): never {
  process.stderr.write(`licensor: ${line}\n`);
  process.exit(1);
}

export function serveCommand(program: Command): void {
  program
    .command('serve')
    .description('run the server (configured by the environment; see README)')
    .action(serve);
}
