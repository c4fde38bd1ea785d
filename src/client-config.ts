import { isAbsolute, resolve } from 'node:path';

/**
 * What the administrator CLI reads from the environment: where the server is and how to
 * authenticate. Kept apart from the server's reader (`config.ts`) so that a CLI command does not
 * load the schema library the server's checks need: every variable here is free text, checked where
 * it is used, and TypeBox alone took 0.4 s of each command's 0.6 s start
 * (docs/architecture.md#layers).
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

type Env = Readonly<Record<string, string | undefined>>;

/** A variable's text, trimmed; unset and blank are the same (as for the server's variables). */
function text(env: Env, name: string): string | null {
  const value = env[name]?.trim();
  return value === undefined || value === '' ? null : value;
}

/** What the administrator CLI reads: where the server is and how to authenticate. */
export function loadClientConfig(env: Env = process.env): Readonly<ClientConfig> {
  const dataDir = text(env, 'LICENSOR_DATA_DIR') ?? './data';
  return Object.freeze({
    url: text(env, 'LICENSOR_URL'),
    host: text(env, 'LICENSOR_HOST'),
    port: text(env, 'LICENSOR_PORT'),
    token: text(env, 'LICENSOR_TOKEN'),
    dataDir: isAbsolute(dataDir) ? dataDir : resolve(dataDir),
    // Set to anything, even blank-looking: https://no-color.org
    noColor: (env.NO_COLOR ?? '') !== '',
  });
}
