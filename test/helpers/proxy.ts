import { connect, createServer, type Server, type Socket } from 'node:net';
import { TEST_DATABASE_URL } from './postgres.js';

/**
 * A TCP proxy to PostgreSQL that a test can cut (refusing new connections and resetting every open
 * one), freeze (a partition: every connection stays open and nothing passes either way), heal (new
 * connections pass again, the frozen ones stay frozen) and restore with `open`. It listens on
 * 127.0.0.1 only.
 */
export class CuttableProxy {
  #server: Server | null = null;
  readonly #sockets = new Set<Socket>();
  #frozen = false;
  port = 0;

  constructor(private readonly target: { host: string; port: number }) {}

  /** `url`, a postgres:// URL of the server this proxies, going through this proxy instead. */
  via(url: string): string {
    const through = new URL(url);
    through.host = `127.0.0.1:${this.port}`;
    return through.toString();
  }

  /** Listens (again, on the same port after a cut) and forwards every connection. */
  async open(): Promise<void> {
    this.#frozen = false;
    this.#server = createServer((client) => {
      this.#track(client);
      if (this.#frozen) {
        // Accepted, and never answered: what a connection into a partition sees.
        client.pause();
        return;
      }
      const upstream = connect(this.target);
      this.#track(upstream);
      client.pipe(upstream).pipe(client);
    });
    await new Promise<void>((resolve) => this.#server!.listen(this.port, '127.0.0.1', resolve));
    this.port = (this.#server.address() as { port: number }).port;
  }

  /** New connections are refused and every open one is reset. */
  async cut(): Promise<void> {
    const server = this.#server;
    this.#server = null;
    for (const s of this.#sockets) s.resetAndDestroy();
    await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
  }

  /**
   * A partition: nothing passes on any open connection, none is closed or reset, and a new
   * connection is accepted and never answered. Ended by `cut` (then `open`).
   */
  freeze(): void {
    this.#frozen = true;
    for (const s of this.#sockets) {
      s.unpipe();
      s.pause();
    }
  }

  /**
   * The partition ends without a reset: new connections go through again, and the ones open during
   * it stay frozen, as sockets left half-open do.
   */
  heal(): void {
    this.#frozen = false;
  }

  #track(socket: Socket): void {
    this.#sockets.add(socket);
    socket.on('close', () => this.#sockets.delete(socket));
    socket.on('error', () => undefined);
  }
}

/** A proxy to the test database's server, listening. */
export async function proxyToTestDatabase(): Promise<CuttableProxy> {
  const target = new URL(TEST_DATABASE_URL);
  const proxy = new CuttableProxy({ host: target.hostname, port: Number(target.port || 5432) });
  await proxy.open();
  return proxy;
}
