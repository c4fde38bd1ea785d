/**
 * What the audit and coherence process tests share: a server environment on either store, calls
 * to a running server, complete listings (every page) and a request whose response is never read.
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { createIssuer, type TestIssuer } from '../helpers/issuer.js';
import { createSchema, dropSchema, TEST_DATABASE_URL, uniqueSchemaName } from '../helpers/postgres.js';
import { tempDir } from '../helpers/process.js';
import { cleanup } from '../helpers/cleanup.js';

export type StoreKind = 'sqlite' | 'postgres';
export const STORES: readonly StoreKind[] = ['sqlite', 'postgres'];

export const ADMIN = 'audit-e2e-admin-token-0123456789abcdef';

/**
 * The environment of one Licensor installation on `store`: a trusted issuer's key file, the
 * bootstrap administrator token, and the data (a SQLite file in a temp dir, or a PostgreSQL schema
 * of its own). Every server started with it shares the same data. Removed when the test ends.
 */
export async function installation(
  t: TestContext,
  store: StoreKind,
  extra: Record<string, string> = {},
): Promise<{ env: Record<string, string>; issuer: TestIssuer }> {
  const dir = tempDir(t, 'licensor-audit-');
  const issuer = createIssuer();
  const pub = join(dir, 'issuer.pub');
  writeFileSync(pub, issuer.publicKey.export({ type: 'spki', format: 'pem' }));
  const env: Record<string, string> = {
    LICENSOR_DATA_DIR: join(dir, 'data'),
    LICENSOR_TRUSTED_KEYS: pub,
    LICENSOR_ADMIN_TOKEN: ADMIN,
    LICENSOR_LOG_LEVEL: 'warn',
    LICENSOR_HOST: '127.0.0.1',
    ...extra,
  };
  if (store === 'postgres') {
    const schema = uniqueSchemaName('licensor_audit');
    await createSchema(schema);
    // Registered before the servers start, so it runs after they are killed (cleanup is last in, first out).
    cleanup(t, () => dropSchema(schema));
    const url = new URL(TEST_DATABASE_URL);
    url.searchParams.set('options', `-c search_path=${schema}`);
    env.DATABASE_URL = url.toString();
  }
  return { env, issuer };
}

export interface Reply {
  status: number;
  body: Record<string, unknown>;
}

/** One request; `token` defaults to the administrator's. Throws only when no answer came. */
export async function call(
  base: string,
  method: string,
  path: string,
  body?: unknown,
  token: string = ADMIN,
): Promise<Reply> {
  const res = await fetch(`${base}${path}`, {
    method,
    headers: {
      authorization: `Bearer ${token}`,
      ...(body !== undefined && { 'content-type': 'application/json' }),
    },
    ...(body !== undefined && { body: JSON.stringify(body) }),
  });
  const text = await res.text();
  return { status: res.status, body: text === '' ? {} : (JSON.parse(text) as Record<string, unknown>) };
}

export async function ok(base: string, method: string, path: string, body?: unknown): Promise<Reply> {
  const reply = await call(base, method, path, body);
  assert.ok(reply.status < 300, `${method} ${path}: ${reply.status} ${JSON.stringify(reply.body)}`);
  return reply;
}

export interface AuditRow {
  id: number;
  action: string;
  target: string | null;
  outcome: 'success' | 'refused';
  code: string | null;
  clientAddress: string;
}

export interface UserRow {
  id: number;
  userid: string;
  disabled: boolean;
}

/** Every entry of a paged listing (`/admin/audit`, `/admin/users`), all pages. */
async function everyPage<T>(base: string, path: string, field: string): Promise<T[]> {
  const all: T[] = [];
  for (let offset = 0; ; offset += 1000) {
    const page = await ok(base, 'GET', `${path}?offset=${offset}&size=1000`);
    const rows = page.body[field] as T[];
    all.push(...rows);
    if (all.length >= Number(page.body.total) || rows.length === 0) return all;
  }
}

export const allAudit = (base: string): Promise<AuditRow[]> => everyPage(base, '/admin/audit', 'entries');
export const allUsers = (base: string): Promise<UserRow[]> => everyPage(base, '/admin/users', 'users');

/** Live licenses (these tests never delete one). */
export async function liveLicenses(base: string): Promise<{ id: number; uuid: string }[]> {
  return (await ok(base, 'GET', '/admin/license')).body as unknown as { id: number; uuid: string }[];
}

export async function liveTokens(base: string): Promise<{ id: number; name: string; bootstrap: boolean }[]> {
  return (await ok(base, 'GET', '/admin/tokens')).body as unknown as {
    id: number;
    name: string;
    bootstrap: boolean;
  }[];
}

/**
 * Writes one HTTP/1.1 request (or several, pipelined) on a raw socket and resets the connection as
 * soon as the bytes are handed to the kernel: the client never reads a byte of the response. When
 * the returned promise resolves the socket is gone.
 */
export function sendAndReset(
  base: string,
  requests: readonly { method: string; path: string; body?: unknown }[],
): Promise<void> {
  const { hostname, port } = new URL(base);
  const bytes = requests
    .map(({ method, path, body }) => {
      const payload = body === undefined ? '' : JSON.stringify(body);
      return (
        `${method} ${path} HTTP/1.1\r\nHost: ${hostname}:${port}\r\nAuthorization: Bearer ${ADMIN}\r\n` +
        (body === undefined ? '' : `Content-Type: application/json\r\n`) +
        `Content-Length: ${Buffer.byteLength(payload)}\r\n\r\n${payload}`
      );
    })
    .join('');
  return new Promise((resolve, reject) => {
    const socket = connect({ host: hostname, port: Number(port) });
    socket.on('error', () => undefined);
    socket.on('close', () => resolve());
    socket.on('connect', () => {
      socket.write(bytes, (err) => {
        if (err) reject(err);
        socket.resetAndDestroy();
      });
    });
  });
}

/** Polls `read` until it returns the same value (deep-equal) twice `gapMs` apart; at most `limitMs`. */
export async function settled<T>(read: () => Promise<T>, gapMs = 500, limitMs = 15_000): Promise<T> {
  const start = Date.now();
  let last = await read();
  for (;;) {
    await new Promise((resolve) => setTimeout(resolve, gapMs));
    const next = await read();
    try {
      assert.deepEqual(next, last);
      return next;
    } catch {
      if (Date.now() - start > limitMs) throw new Error(`the server did not settle within ${limitMs} ms`);
      last = next;
    }
  }
}
