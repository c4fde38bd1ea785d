import { isAbsolute, resolve } from 'node:path';

/**
 * What the administrator CLI reads from the environment: where the server is and how to
 * authenticate. Kept apart from the server's reader (`config.ts`) so that a CLI command does not
 * load the schema library the server's checks need: every variable here is free text, checked where
 * it is used, and TypeBox alone took 0.4 s of each command's 0.6 s start
 * (docs/architecture.md#layers). The server's reader shares its rules for text and directories
 * from here, which loads nothing.
 */
export interface ClientConfig {
  url: string | null;
  /** LICENSOR_HOST and LICENSOR_PORT as given (the CLI checks them when it uses them). */
  host: string | null;
  port: string | null;
  token: string | null;
  /** LICENSOR_DATA_DIR made absolute; ./data when unset. */
  dataDir: string;
  /** NO_COLOR is set to something (https://no-color.org): never colour the output. */
  noColor: boolean;
}

/** The environment, or a stand-in for it in tests. */
export type Env = Readonly<Record<string, string | undefined>>;

/** A variable's text, trimmed; unset and blank are the same (the server's variables too). */
export function envText(env: Env, name: string): string | null {
  const value = env[name]?.trim();
  return value === undefined || value === '' ? null : value;
}

/** LICENSOR_DATA_DIR's value made absolute against the working directory (both readers). */
export function absoluteDir(dir: string): string {
  return isAbsolute(dir) ? dir : resolve(dir);
}

/** What the administrator CLI reads: where the server is and how to authenticate. */
export function loadClientConfig(env: Env = process.env): Readonly<ClientConfig> {
  return Object.freeze({
    url: envText(env, 'LICENSOR_URL'),
    host: envText(env, 'LICENSOR_HOST'),
    port: envText(env, 'LICENSOR_PORT'),
    token: envText(env, 'LICENSOR_TOKEN'),
    dataDir: absoluteDir(envText(env, 'LICENSOR_DATA_DIR') ?? './data'),
    // Set to anything, even blank-looking: https://no-color.org
    noColor: (env.NO_COLOR ?? '') !== '',
  });
}
