import { isLicensorApiError, isLicensorConnectionError, LicensorClient } from '../client/index.js';

/**
 * The signed-in token lives in sessionStorage: this tab only, gone when the tab closes, never in a
 * cookie (so no request is ever authorised by the browser on its own, and there is nothing to
 * forge across sites). It is sent as a bearer header by the typed client.
 */
const TOKEN_KEY = 'licensor.console.token';

export function savedToken(): string | null {
  try {
    return sessionStorage.getItem(TOKEN_KEY);
  } catch {
    return null;
  }
}

export function saveToken(token: string): void {
  sessionStorage.setItem(TOKEN_KEY, token);
}

export function forgetToken(): void {
  sessionStorage.removeItem(TOKEN_KEY);
}

/** The API is served by the same server, one level above /console/ (behind a prefix, too). */
export function apiBase(): string {
  return new URL('../', window.location.href).href;
}

export function clientFor(token: string | undefined): LicensorClient {
  return new LicensorClient({ baseUrl: apiBase(), token, timeoutMs: 30_000 });
}

/** Whether the server refused the token itself (it is unknown or was revoked). */
export function isUnauthorized(err: unknown): boolean {
  return isLicensorApiError(err) && err.code === 'UNAUTHORIZED';
}

/**
 * What to tell people about a failure: the problem's `detail` for a refusal, a sentence for an
 * unreachable server, the console's own messages as they are, and never a stack trace or "[object Object]" for anything else.
 */
export function errorText(err: unknown): string {
  if (typeof err === 'string') return err;
  if (isLicensorApiError(err)) return err.detail;
  if (isLicensorConnectionError(err)) return `The server cannot be reached (${err.reason}). Try again.`;
  if (err instanceof Error && typeof err.message === 'string' && err.message !== '')
    return `Something went wrong in the console: ${err.message}`;
  return 'Something went wrong in the console. Reload the page and try again.';
}
