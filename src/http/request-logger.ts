import { LogController, type FastifyBaseLogger, type FastifyServerOptions } from 'fastify';
import type { Bindings, ChildLoggerOptions, LevelWithSilentOrString, LogFn } from 'pino';

const LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace'] as const;

type ChildLoggerFactory = NonNullable<FastifyServerOptions['childLoggerFactory']>;

/** What the lazy logger needs of its parent: pino's own level check. */
interface LevelAware extends FastifyBaseLogger {
  isLevelEnabled(level: LevelWithSilentOrString): boolean;
}

function levelAware(logger: FastifyBaseLogger): logger is LevelAware {
  return typeof (logger as Partial<LevelAware>).isLevelEnabled === 'function';
}

/**
 * A request's logger that becomes pino's child logger (with the request id bound) only when it
 * first writes a line. Fastify makes a child logger for every request, and pino's child() costs a
 * prototype object and the bindings serialized (redaction included): work for nothing on a server
 * whose level drops every per-request line, as a loaded one runs
 * (docs/performance.md#the-request-lifecycle).
 * Every line that is written goes through the real child, so it carries the request id as before.
 */
class RequestLogger implements FastifyBaseLogger {
  readonly #parent: LevelAware;
  readonly #bindings: Bindings;
  #child: FastifyBaseLogger | undefined;

  constructor(parent: LevelAware, bindings: Bindings) {
    this.#parent = parent;
    this.#bindings = bindings;
  }

  #logger(): FastifyBaseLogger {
    return (this.#child ??= this.#parent.child(this.#bindings));
  }

  get level(): string {
    return this.#child?.level ?? this.#parent.level;
  }

  set level(level: string) {
    this.#logger().level = level;
  }

  declare readonly fatal: LogFn;
  declare readonly error: LogFn;
  declare readonly warn: LogFn;
  declare readonly info: LogFn;
  declare readonly debug: LogFn;
  declare readonly trace: LogFn;
  declare readonly silent: LogFn;

  // On the prototype, not one closure per instance and level. A level the parent drops is dropped
  // here without making the child: the child's level is the parent's (see requestLoggerFactory).
  static {
    for (const level of LEVELS) {
      Object.defineProperty(RequestLogger.prototype, level, {
        value(this: RequestLogger, ...args: unknown[]): void {
          if (this.#child === undefined && !this.#parent.isLevelEnabled(level)) return;
          this.#logger()[level](...(args as Parameters<LogFn>));
        },
      });
    }
    Object.defineProperty(RequestLogger.prototype, 'silent', { value: () => undefined });
  }

  child(bindings: Bindings, options?: ChildLoggerOptions): FastifyBaseLogger {
    return this.#logger().child(bindings, options);
  }
}

/**
 * Fastify's `childLoggerFactory` for requests logged by `root`: a RequestLogger, unless the route
 * asks for its own level or serializers (none does today), which pino's child must apply at once.
 * Fastify itself runs without a logger (see buildApp), so the logger it would hand over is its
 * silent stand-in and `root` is used instead.
 */
export function requestLoggerFactory(root: FastifyBaseLogger): ChildLoggerFactory {
  return (_fastifyLogger, bindings, options) => {
    if (options.level !== undefined || options.serializers !== undefined || !levelAware(root))
      return root.child(bindings, options);
    return new RequestLogger(root, bindings);
  };
}

/**
 * Fastify's own request lines (`incoming request`, `request completed`) are left out: the access
 * log is one line per request, written when its answer is handed to the connection
 * (request-observer.ts). Fastify's other lines (errors, a reply sent twice, a stream cut short)
 * are kept.
 */
export class RequestLogController extends LogController {
  override incomingRequest(): void {}
  override requestCompleted(): void {}
}
