import pg from 'pg';
import type { SnapshotPart } from '../../domain/changes.js';
import type { Snapshot } from '../snapshot.js';
import { CHANGES_CHANNEL, GENERATIONS_SQL } from './postgres-queries.js';

const PARTS: readonly SnapshotPart[] = ['licenses', 'tokens', 'users', 'settings'];
/** How often the generations are read, whatever the notifications say. */
const POLL_MS = 500;
const RECONNECT_MIN_MS = 100;
const RECONNECT_MAX_MS = 5000;

export interface CoherenceOptions {
  /** Connection settings of the store's pool (URL, search_path, application name). */
  clientConfig: pg.ClientConfig;
  pool: pg.Pool;
  schema: string;
  snapshot: Snapshot;
  onError: (err: Error) => void;
}

/**
 * Keeps one instance's snapshot coherent with every other instance's commits
 * (docs/performance.md#the-read-snapshot): a dedicated connection LISTENs for the part each
 * committing change announces, and the parts' generation numbers are read every POLL_MS and on
 * every reconnect, so a notification lost while the connection was down is made up for. The
 * connection has an 'error' listener for its whole life and reconnects with backoff; a database
 * that goes away never takes the process with it.
 */
export class Coherence {
  readonly #options: CoherenceOptions;
  readonly #seen: Partial<Record<SnapshotPart, string>> = {};
  #client: pg.Client | undefined;
  #closed = false;
  #backoffMs = RECONNECT_MIN_MS;
  #pollTimer: NodeJS.Timeout | undefined;
  #reconnectTimer: NodeJS.Timeout | undefined;
  #polling = false;

  constructor(options: CoherenceOptions) {
    this.#options = options;
  }

  /** Connects the listener; resolves once it listens, or rejects when the first attempt fails. */
  async start(): Promise<void> {
    await this.#connect();
    this.#pollTimer = setInterval(() => void this.poll(), POLL_MS);
    this.#pollTimer.unref();
  }

  async #connect(): Promise<void> {
    const client = new pg.Client(this.#options.clientConfig);
    // For its whole life: an 'error' event without a listener would end the process.
    client.on('error', (err) => this.#lost(client, err));
    client.on('end', () => this.#lost(client, new Error('the LISTEN connection ended')));
    client.on('notification', (message) => {
      if (message.channel !== CHANGES_CHANNEL || message.payload === undefined) return;
      const [schema, part] = message.payload.split(':');
      if (schema === this.#options.schema && PARTS.includes(part as SnapshotPart))
        this.#options.snapshot.invalidate(part as SnapshotPart);
    });
    this.#client = client;
    try {
      await client.connect();
      await client.query(`LISTEN ${pg.escapeIdentifier(CHANGES_CHANNEL)}`);
    } catch (err) {
      this.#lost(client, err instanceof Error ? err : new Error(String(err)));
      throw err;
    }
    // Whatever was announced while nobody listened is unknown: everything is stale.
    this.#options.snapshot.invalidateAll();
    this.#backoffMs = RECONNECT_MIN_MS;
  }

  #lost(client: pg.Client, err: Error): void {
    if (this.#client !== client) return;
    this.#client = undefined;
    client.end().catch(() => undefined);
    if (this.#closed) return;
    this.#options.onError(err);
    this.#options.snapshot.invalidateAll();
    this.#reconnectTimer = setTimeout(() => {
      this.#reconnectTimer = undefined;
      if (this.#closed) return;
      this.#connect().catch(() => undefined);
    }, this.#backoffMs);
    this.#reconnectTimer.unref();
    this.#backoffMs = Math.min(RECONNECT_MAX_MS, this.#backoffMs * 2);
  }

  /** Whether the listener is connected (for readiness and tests). */
  get listening(): boolean {
    return this.#client !== undefined;
  }

  /** Reads the generations and marks stale the parts that moved. */
  async poll(): Promise<void> {
    if (this.#polling || this.#closed) return;
    this.#polling = true;
    try {
      const { rows } = await this.#options.pool.query<Record<SnapshotPart, string>>(GENERATIONS_SQL);
      const row = rows[0];
      if (row === undefined) return;
      for (const part of PARTS) {
        if (this.#seen[part] !== undefined && this.#seen[part] !== String(row[part]))
          this.#options.snapshot.invalidate(part);
        this.#seen[part] = String(row[part]);
      }
    } catch (err) {
      // The pool's own failures are answered as STORE_UNAVAILABLE on the next request.
      if (!this.#closed) this.#options.onError(err instanceof Error ? err : new Error(String(err)));
    } finally {
      this.#polling = false;
    }
  }

  async close(): Promise<void> {
    this.#closed = true;
    if (this.#pollTimer) clearInterval(this.#pollTimer);
    if (this.#reconnectTimer) clearTimeout(this.#reconnectTimer);
    const client = this.#client;
    this.#client = undefined;
    await client?.end().catch(() => undefined);
  }
}
