import pg from 'pg';
import type { SnapshotPart } from '../../domain/changes.js';
import type { Snapshot } from '../snapshot.js';
import { CHANGES_CHANNEL, GENERATIONS_SQL } from './postgres-queries.js';

const PARTS: readonly SnapshotPart[] = ['licenses', 'tokens', 'users', 'settings'];
/** How often the generations are read, whatever the notifications say. */
const POLL_MS = 500;
/**
 * How long the snapshot is trusted after the last generation read that succeeded: past it, every
 * poll tick empties the snapshot, so an instance cut off from the database (a partition, a socket
 * left half-open) stops answering from memory within TRUST_MS + POLL_MS.
 */
export const TRUST_MS = 2000;
/** The generations, read with a timeout (pg reads query_timeout per query; its types omit it). */
function generationsQuery(): pg.QueryConfig {
  return { text: GENERATIONS_SQL, query_timeout: TRUST_MS } as pg.QueryConfig;
}
/**
 * Every this many poll ticks (5 s) the LISTEN connection answers a query, or is replaced: a
 * connection left half-open by a partition never fails by itself, and would hear nothing again
 * while the poll alone kept the snapshot coherent.
 */
const LISTEN_CHECK_TICKS = 10;
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
 * every reconnect, so a notification lost while the connection was down is made up for. When no
 * generation read has succeeded for TRUST_MS, the snapshot is emptied on every poll tick: an
 * instance that cannot reach the database never answers from memory for long. The LISTEN
 * connection answers a query every few seconds or is replaced, as one left half-open never fails.
 * The connection has an 'error' listener for its whole life and reconnects with backoff; a database
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
  #ticks = 0;
  #checkingListener = false;
  /** performance.now() when the last generation read that succeeded was sent. */
  #confirmedAt = performance.now();

  constructor(options: CoherenceOptions) {
    this.#options = options;
  }

  /** Connects the listener; resolves once it listens, or rejects when the first attempt fails. */
  async start(): Promise<void> {
    await this.#connect();
    this.#confirmedAt = performance.now();
    this.#pollTimer = setInterval(() => this.#tick(), POLL_MS);
    this.#pollTimer.unref();
  }

  #tick(): void {
    // Without a recent generation read, nothing says what other instances committed: whatever is
    // loaded is dropped, and reads go to the database until a poll succeeds again.
    if (performance.now() - this.#confirmedAt > TRUST_MS) this.#options.snapshot.invalidateAll();
    void this.poll();
    if (++this.#ticks % LISTEN_CHECK_TICKS === 0) void this.#checkListener();
  }

  /** A query on the LISTEN connection, with the poll's timeout: one that fails replaces it. */
  async #checkListener(): Promise<void> {
    const client = this.#client;
    if (client === undefined || this.#checkingListener) return;
    this.#checkingListener = true;
    try {
      await client.query({ text: 'SELECT 1', query_timeout: TRUST_MS } as pg.QueryConfig);
    } catch (err) {
      this.#lost(client, err instanceof Error ? err : new Error(String(err)));
    } finally {
      this.#checkingListener = false;
    }
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
    const sentAt = performance.now();
    try {
      // A read that hangs (a socket half-open) fails after TRUST_MS, and the pool drops its
      // connection, so one lost reply cannot stop every later poll.
      const { rows } = await this.#options.pool.query<Record<SnapshotPart, string>>(generationsQuery());
      const row = rows[0];
      if (row === undefined) return;
      for (const part of PARTS) {
        if (this.#seen[part] !== undefined && this.#seen[part] !== String(row[part]))
          this.#options.snapshot.invalidate(part);
        this.#seen[part] = String(row[part]);
      }
      this.#confirmedAt = sentAt;
    } catch (err) {
      // The pool's own failures are answered as STORE_UNAVAILABLE on the next request.
      if (!this.#closed) this.#options.onError(err instanceof Error ? err : new Error(String(err)));
    } finally {
      this.#polling = false;
    }
  }

  /**
   * Stops polling and ends the LISTEN connection. pg ends an idle connection politely and waits
   * for the server to close it, which on a half-open connection (a partition) never comes: after
   * TRUST_MS its socket is destroyed, so close() cannot hang on a network that stopped answering.
   */
  async close(): Promise<void> {
    this.#closed = true;
    if (this.#pollTimer) clearInterval(this.#pollTimer);
    if (this.#reconnectTimer) clearTimeout(this.#reconnectTimer);
    const client = this.#client;
    this.#client = undefined;
    if (client === undefined) return;
    let limit: NodeJS.Timeout | undefined;
    const late = new Promise<'late'>((resolve) => {
      limit = setTimeout(() => resolve('late'), TRUST_MS);
    });
    const outcome = await Promise.race([client.end().catch(() => undefined), late]);
    clearTimeout(limit);
    if (outcome === 'late') client.connection.stream.destroy();
  }
}
