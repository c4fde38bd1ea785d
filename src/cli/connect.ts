import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Command } from 'commander';
import { isLicensorApiError, isLicensorConnectionError } from '../client/client-error.js';
import { LicensorClient } from '../client/licensor-client.js';
import { loadClientConfig } from '../client-config.js';
import { RefusedError, UnreachableError, UsageError } from './cli-errors.js';
import { Output, printable } from './output.js';

export const DEFAULT_URL = 'http://127.0.0.1:8080';
/** Long enough for a slow database, short enough that a hung server does not hang a script. */
const REQUEST_TIMEOUT_MS = 30_000;
const LOCAL_HOSTS = new Set(['127.0.0.1', 'localhost', '[::1]']);

/** Options every administrator command takes, before or after its name. */
export interface ConnectionOptions {
  url?: string;
  token?: string;
  json?: boolean;
}

export type TokenSource = 'flag' | 'env' | 'file' | 'none';

export interface Connection {
  client: LicensorClient;
  url: string;
  tokenSource: TokenSource;
  /** Where the token came from when it was the admin-token file. */
  tokenFile: string | null;
  out: Output;
}

/** Adds --url, --token and --json to a command (the program has them too, for before the name). */
export function withConnectionOptions(command: Command): Command {
  return command
    .option(
      '--url <url>',
      `server URL (default: $LICENSOR_URL, else http://$LICENSOR_HOST:$LICENSOR_PORT, else ${DEFAULT_URL})`,
    )
    .option(
      '--token <token>',
      'bearer token (default: $LICENSOR_TOKEN, else DATA_DIR/admin-token for a local server)',
    )
    .option('--json', "print the API's JSON, for scripts");
}

/** The connection options of a command merged with its parents'; the nearer one wins. */
export function connectionOptions(command: Command): ConnectionOptions {
  const chain: Command[] = [];
  for (let c: Command | null = command; c !== null; c = c.parent) chain.unshift(c);
  const merged: ConnectionOptions = {};
  for (const c of chain) {
    // A default (inspect's --json is false unless given) must not hide a value given earlier.
    const given = (name: keyof ConnectionOptions): boolean =>
      c.getOptionValue(name) !== undefined && c.getOptionValueSource(name) !== 'default';
    const { url, token, json } = c.opts<ConnectionOptions>();
    if (given('url') && url !== undefined) merged.url = url;
    if (given('token') && token !== undefined) merged.token = token;
    if (given('json') && json !== undefined) merged.json = json;
  }
  return merged;
}

/** Printing for a command: JSON with --json; colour only on a terminal and without NO_COLOR. */
export function outputFor(command: Command): Output {
  const json = connectionOptions(command).json === true;
  return new Output({ json, color: !json && process.stdout.isTTY === true && !loadClientConfig().noColor });
}

/**
 * Resolves where the server is and which token to use: flags, then the environment, then (for a
 * server on this machine only) the admin token the server wrote to DATA_DIR/admin-token.
 */
export function connect(command: Command): Connection {
  const options = connectionOptions(command);
  const config = loadClientConfig();
  const rawUrl = options.url ?? config.url ?? serverUrlOf(config);
  let parsed: URL;
  try {
    parsed = new URL(rawUrl);
  } catch {
    throw new UsageError(`--url must be a URL such as ${DEFAULT_URL}, not "${rawUrl}"`);
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:')
    throw new UsageError(`--url must be an http:// or https:// URL, not "${rawUrl}"`);
  if (parsed.search !== '' || parsed.hash !== '')
    throw new UsageError(`--url must not have a query string or fragment: "${rawUrl}"`);

  let token: string | undefined;
  let tokenSource: TokenSource = 'none';
  let tokenFile: string | null = null;
  if (options.token !== undefined) {
    if (options.token.trim() === '') throw new UsageError('--token is empty');
    token = options.token.trim();
    tokenSource = 'flag';
  } else if (config.token !== null) {
    token = config.token;
    tokenSource = 'env';
  } else if (LOCAL_HOSTS.has(parsed.hostname)) {
    const file = join(config.dataDir, 'admin-token');
    const fromFile = readTokenFile(file);
    if (fromFile !== undefined) {
      token = fromFile;
      tokenSource = 'file';
      tokenFile = file;
    }
  }
  const client = new LicensorClient({ baseUrl: parsed, token, timeoutMs: REQUEST_TIMEOUT_MS });
  return { client, url: client.baseUrl, tokenSource, tokenFile, out: outputFor(command) };
}

/**
 * With neither --url nor LICENSOR_URL: the server this machine's own LICENSOR_HOST and
 * LICENSOR_PORT would start (default 127.0.0.1:8080). A server listening on every address (0.0.0.0,
 * ::) is reached at the loopback address.
 */
export function serverUrlOf(config: { host: string | null; port: string | null }): string {
  if (config.host === null && config.port === null) return DEFAULT_URL;
  const port = config.port ?? '8080';
  if (!/^\d{1,5}$/.test(port) || Number(port) < 1 || Number(port) > 65535)
    throw new UsageError(`LICENSOR_PORT must be a port from 1 to 65535, not "${port}"`);
  let host = config.host ?? '127.0.0.1';
  if (host === '0.0.0.0') host = '127.0.0.1';
  else if (host === '::' || host === '[::]') host = '[::1]';
  else if (host.includes(':') && !host.startsWith('[')) host = `[${host}]`;
  return `http://${host}:${Number(port)}`;
}

function readTokenFile(file: string): string | undefined {
  try {
    const text = readFileSync(file, 'utf8').trim();
    return text === '' ? undefined : text;
  } catch {
    return undefined;
  }
}

/**
 * Runs one request, turning the client's errors into the CLI's: a refusal exits 1 with its code and
 * detail, an unreachable server exits 1 with one line saying so. Never a stack trace.
 */
export async function call<T>(conn: Connection, run: (client: LicensorClient) => Promise<T>): Promise<T> {
  try {
    return await run(conn.client);
  } catch (err) {
    if (isLicensorApiError(err)) {
      // The detail may echo what was sent; it is shown, never obeyed, by the terminal.
      let detail = printable(err.detail);
      if (err.code === 'UNAUTHORIZED') detail += `; ${tokenHint(conn)}`;
      if (err.status >= 500 && err.requestId !== undefined)
        detail += ` (request ${err.requestId} in the server log)`;
      throw new RefusedError(err.code, detail);
    }
    if (isLicensorConnectionError(err))
      throw new UnreachableError(`cannot reach ${conn.url} (${err.reason}); is the server running?`);
    throw err;
  }
}

function tokenHint(conn: Connection): string {
  switch (conn.tokenSource) {
    case 'flag':
      return 'check --token';
    case 'env':
      return 'check LICENSOR_TOKEN';
    case 'file':
      return `the token in ${conn.tokenFile ?? 'the admin-token file'} is not this server's`;
    case 'none':
      return 'no token was given: pass --token or set LICENSOR_TOKEN (for a local server, LICENSOR_DATA_DIR/admin-token is read)';
  }
}
