import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The administrator console at /console/: a static page, one stylesheet and ES modules compiled by
 * `npm run build` into dist/console (the console's own modules) and dist/client (the typed client
 * they import). Served from this server only, no CDN, under a CSP that allows nothing else.
 *
 * URLs mirror the emitted files so the browser resolves the modules' relative imports itself:
 * /console/js/main.js imports "../client/index.js", which is /console/client/index.js.
 */
export const CONSOLE_PATH = '/console/';

/** Scripts and styles only from this server, no inline script or style, API calls to this origin. */
export const CONSOLE_CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

export interface ConsoleAsset {
  body: Buffer;
  type: string;
  etag: string;
}

export interface ConsoleAssets {
  page: ConsoleAsset;
  /** By path below /console/, e.g. "console.css", "js/main.js", "client/index.js". */
  files: ReadonlyMap<string, ConsoleAsset>;
}

/** The build output, found the same way from dist/http (npm start) and src/http (tsx). */
const DIST = fileURLToPath(new URL('../../dist/', import.meta.url));

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
};

/** Plain lower-case file names only: nothing else in those folders is ever served. */
const ASSET_NAME = /^[a-z][a-z0-9-]*\.(?:js|css)$/;

function asset(file: string): ConsoleAsset {
  const body = readFileSync(file);
  const type = TYPES[/\.[a-z]+$/.exec(file)?.[0] ?? ''] ?? 'application/octet-stream';
  return { body, type, etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 27)}"` };
}

function folder(dir: string, prefix: string, extension: string): [string, ConsoleAsset][] {
  return readdirSync(dir)
    .filter((name) => ASSET_NAME.test(name) && name.endsWith(extension))
    .map((name) => [`${prefix}${name}`, asset(join(dir, name))]);
}

/**
 * Reads the built console once. Undefined when it is not built (running from source without
 * `npm run build`): the routes then say so instead of serving half a page.
 */
export function loadConsoleAssets(dist = DIST): ConsoleAssets | undefined {
  try {
    const consoleDir = join(dist, 'console');
    return {
      page: asset(join(consoleDir, 'index.html')),
      files: new Map([
        ...folder(consoleDir, '', '.css'),
        ...folder(consoleDir, 'js/', '.js'),
        ...folder(join(dist, 'client'), 'client/', '.js'),
      ]),
    };
  } catch {
    return undefined;
  }
}
