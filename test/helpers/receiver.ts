import { createHmac, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import type { TestContext } from 'node:test';
import { cleanup } from './cleanup.js';

/** One request a receiver got: its headers and its body exactly as sent. */
export interface Received {
  path: string;
  headers: IncomingMessage['headers'];
  body: string;
  /** The body parsed, when it is JSON. */
  event: { id: string; type: string; timestamp: string; data: Record<string, unknown> };
}

/** How the receiver answers the n-th request (0-based): a status, after an optional sleep. */
export type Responder = (
  n: number,
  request: Received,
) => { status: number; sleepMs?: number; headers?: Record<string, string> };

/**
 * A real webhook receiver on 127.0.0.1: records every request and answers as `respond` says. It can
 * be stopped and started again on the same port, to play a receiver that is down for a while.
 */
export class Receiver {
  readonly received: Received[] = [];
  respond: Responder = () => ({ status: 200 });
  #server: Server | undefined;
  #port = 0;
  readonly #sockets = new Set<Socket>();

  static async start(t: TestContext, respond?: Responder): Promise<Receiver> {
    const receiver = new Receiver();
    if (respond) receiver.respond = respond;
    await receiver.listen();
    cleanup(t, () => receiver.stop());
    return receiver;
  }

  get url(): string {
    return `http://127.0.0.1:${this.#port}/hook`;
  }

  async listen(): Promise<void> {
    const server = createServer((req, res) => void this.#handle(req, res));
    server.on('connection', (socket) => {
      this.#sockets.add(socket);
      socket.on('close', () => this.#sockets.delete(socket));
    });
    await new Promise<void>((resolve) => server.listen(this.#port, '127.0.0.1', resolve));
    this.#port = (server.address() as AddressInfo).port;
    this.#server = server;
  }

  async stop(): Promise<void> {
    const server = this.#server;
    this.#server = undefined;
    if (!server) return;
    for (const socket of this.#sockets) socket.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const body = Buffer.concat(chunks).toString('utf8');
    let event: Received['event'];
    try {
      event = JSON.parse(body) as Received['event'];
    } catch {
      event = { id: '', type: '', timestamp: '', data: {} };
    }
    const received: Received = { path: req.url ?? '', headers: req.headers, body, event };
    const n = this.received.length;
    this.received.push(received);
    const answer = this.respond(n, received);
    if (answer.sleepMs) await new Promise((resolve) => setTimeout(resolve, answer.sleepMs));
    if (res.destroyed) return;
    res.writeHead(answer.status, answer.headers ?? {});
    res.end('ok');
  }

  of(type: string): Received[] {
    return this.received.filter((r) => r.event.type === type);
  }
}

/** Waits until `condition` holds, checking every 20 ms; fails after `limitMs`, saying `what`. */
export async function eventually(what: string, condition: () => boolean, limitMs = 10_000): Promise<void> {
  const end = Date.now() + limitMs;
  while (!condition()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/**
 * A Standard Webhooks verifier written from the specification, independently of Licensor's signer:
 * the signed content is `{webhook-id}.{webhook-timestamp}.{body}`, the key is the base64 after
 * `whsec_`, and `webhook-signature` is a space-separated list of `v1,<base64 HMAC-SHA256>`, any of
 * which may match. The timestamp must be within `toleranceSeconds` of `nowSeconds`.
 */
export function verifyStandardWebhook(
  secret: string,
  headers: Record<string, string | string[] | undefined>,
  body: string,
  nowSeconds: number,
  toleranceSeconds = 300,
): boolean {
  const id = headers['webhook-id'];
  const timestamp = headers['webhook-timestamp'];
  const signatures = headers['webhook-signature'];
  if (typeof id !== 'string' || typeof timestamp !== 'string' || typeof signatures !== 'string') return false;
  if (!/^\d+$/.test(timestamp) || Math.abs(nowSeconds - Number(timestamp)) > toleranceSeconds) return false;
  if (!secret.startsWith('whsec_')) return false;
  const key = Buffer.from(secret.slice('whsec_'.length), 'base64');
  const expected = createHmac('sha256', key).update(`${id}.${timestamp}.${body}`).digest();
  return signatures.split(' ').some((entry) => {
    const [version, signature] = entry.split(',', 2);
    if (version !== 'v1' || signature === undefined) return false;
    const given = Buffer.from(signature, 'base64');
    return given.length === expected.length && timingSafeEqual(given, expected);
  });
}

/** Reads until `done` holds for what `read` returns, every 20 ms; fails after `limitMs`, saying `what`. */
export async function until<T>(
  what: string,
  read: () => Promise<T>,
  done: (value: T) => boolean,
  limitMs = 10_000,
): Promise<T> {
  const end = Date.now() + limitMs;
  for (;;) {
    const value = await read();
    if (done(value)) return value;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}: last saw ${JSON.stringify(value)}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
