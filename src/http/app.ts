import { SerializerSelector } from '@fastify/fast-json-stringify-compiler';
import swagger from '@fastify/swagger';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Ajv } from 'ajv';
import addFormats from 'ajv-formats';
import { fullFormats } from 'ajv-formats/dist/formats.js';
import Fastify, { type FastifyInstance, type FastifyServerOptions } from 'fastify';
import { pino, type Logger } from 'pino';
import { LicensorError } from '../domain/errors.js';
import { InstanceSigner } from '../keys/instance-signer.js';
import { findDuplicateMember } from '../keys/strict-json.js';
import type { AppContext } from './app-context.js';
import { registerAudit } from './audit.js';
import { registerMetrics, RequestSeries } from './metrics.js';
import { AuthFailureLimiter, type AuthFailureLimit } from './auth-failure-limiter.js';
import { registerAuth } from './auth.js';
import { RequestLogController, requestLoggerFactory } from './request-logger.js';
import { AnswerLog, observeAnswers, observeRequests } from './request-observer.js';
import { openapiOptions } from './openapi.js';
import {
  answerClientError,
  describeValidation,
  handleError,
  sendProblem,
  toLicensorError,
} from './problem.js';
import { adminRoutes } from './routes/admin-routes.js';
import { consoleRoutes } from './routes/console-routes.js';
import { hostRoutes } from './routes/host-routes.js';
import { instanceRoutes } from './routes/instance-routes.js';
import { licenseRoutes } from './routes/license-routes.js';
import { metaRoutes } from './routes/meta-routes.js';
import { settingsRoutes } from './routes/settings-routes.js';
import { usageRoutes } from './routes/usage-routes.js';
import { userRoutes } from './routes/user-routes.js';
import { webhookRoutes } from './routes/webhook-routes.js';
import { Problem } from '../api/common-schemas.js';

/** What routes need: the store, the trusted issuer keys, the clock and the rules' settings. */
/** The default of LICENSOR_ENTITLEMENTS_TTL_SECONDS: one day. */
export const ENTITLEMENTS_TTL_SECONDS = 86_400;

export interface AppOptions extends Omit<AppContext, 'instance' | 'entitlementsTtlSeconds'> {
  entitlementsTtlSeconds?: number;
  bodyLimitBytes?: number;
  /** Where the app logs (the server's pino logger); nothing is logged when left out. */
  logger?: Logger;
  version?: string;
  /** Failed authentications per client before 429; none when left out. */
  authFailureLimit?: AuthFailureLimit | null;
  /** The longest a request may take to arrive whole (headers and body). */
  requestTimeoutMs?: number;
  /** How long an idle keep-alive connection stays open. */
  keepAliveTimeoutMs?: number;
  /** Peers whose X-Forwarded-For names the client (request.ip); none when left out. */
  trustProxy?: FastifyServerOptions['trustProxy'];
}

/** Defaults for the connection limits (docs/security.md). */
export const REQUEST_TIMEOUT_MS = 30_000;
export const KEEP_ALIVE_TIMEOUT_MS = 72_000;

type CompilersFactory = NonNullable<
  NonNullable<FastifyServerOptions['schemaController']>['compilersFactory']
>;
type ValidatorFactory = NonNullable<CompilersFactory['buildValidator']>;
type SerializerFactory = NonNullable<CompilersFactory['buildSerializer']>;
type Validator = ReturnType<ReturnType<ValidatorFactory>>;
type Serializer = ReturnType<ReturnType<SerializerFactory>>;

/**
 * Two validators: request bodies are checked strictly (a string "5" is not the number 5), while
 * path and query parameters, which arrive as text, are coerced to their declared types.
 *
 * Compiled once per process for each distinct schema, not once per route and app: most routes share
 * their parameter and problem schemas, and compiling took most of an app's start (0.5 to 1.2 s,
 * and 60 % of an HTTP test file's time, which builds an app per test). A validator is keyed by its
 * schema's JSON and whether it coerces; a serializer by its schema's JSON and the shared schemas it
 * may refer to. What Ajv and fast-json-stringify compile is that JSON, and a compiled function
 * keeps no state of the app it was made for (docs/performance.md#starting-up).
 */
// addUsedSchema: false keeps a compiled schema's $id out of the shared instance, so what a
// validator does depends on its schema's JSON alone, whichever apps compiled before it.
const common = {
  allErrors: false,
  removeAdditional: false,
  useDefaults: true,
  strict: false,
  addUsedSchema: false,
} as const;
const strictAjv = withInstants(addFormats.default(new Ajv({ ...common, coerceTypes: false })));
const coercingAjv = withInstants(addFormats.default(new Ajv({ ...common, coerceTypes: 'array' })));

/**
 * `date-time` as ajv-formats checks it (RFC 3339), and an instant JavaScript can represent: RFC 3339
 * allows a leap second (`23:59:60Z`), which `Date` cannot hold, and which the stores' filters would
 * then fail on with a 500. Refused as any other bad date-time (docs/errors.md).
 */
function withInstants(ajv: Ajv): Ajv {
  const rfc3339 = fullFormats['date-time'] as { validate: (s: string) => boolean };
  return ajv.addFormat('date-time', {
    type: 'string',
    validate: (s: string) => rfc3339.validate(s) && !Number.isNaN(Date.parse(s)),
  });
}
const validators = new Map<string, Validator>();
const serializers = new Map<string, Serializer>();

function memo<T>(compiled: Map<string, T>, key: string, compile: () => T): T {
  let fn = compiled.get(key);
  if (fn === undefined) compiled.set(key, (fn = compile()));
  return fn;
}

const buildValidator: ValidatorFactory =
  () =>
  ({ schema, httpPart }) => {
    const strict = httpPart === 'body';
    return memo(
      validators,
      `${strict ? 'body' : 'text'}\n${JSON.stringify(schema)}`,
      () => (strict ? strictAjv : coercingAjv).compile(schema as object) as Validator,
    );
  };

const buildSerializer: SerializerFactory = (externalSchemas, options) => {
  const compile = SerializerSelector()(externalSchemas, options);
  // The shared schemas a response may refer to (app.addSchema) are part of what is compiled.
  const prefix = JSON.stringify([externalSchemas, options ?? null]);
  return (route) => memo(serializers, `${prefix}\n${JSON.stringify(route.schema)}`, () => compile(route));
};

/**
 * Why a JSON body is refused, given what Fastify's parser (secure-json-parse) said of it; null when
 * it is taken (docs/errors.md#how-inputs-are-read):
 * - the parser refuses a `__proto__` or `constructor.prototype` key in the words it uses for JSON
 *   that does not parse: JSON that parses is said to be refused for that key;
 * - JSON.parse keeps the last of two members of one name, other parsers (a proxy's, a WAF's) the
 *   first: a body that says two things is refused, not guessed at.
 */
function jsonBodyRefusal(text: string, err: Error | null): Error | null {
  if (err !== null) {
    try {
      JSON.parse(text);
    } catch {
      return err;
    }
    return new LicensorError(
      'MALFORMED_JSON',
      'the body has a "__proto__" or "constructor" key holding "prototype", which is refused',
    );
  }
  const twice = findDuplicateMember(text);
  return twice === undefined
    ? null
    : new LicensorError('MALFORMED_JSON', `the body has the member "${twice}" twice in one object`);
}

/** The app's schema compilers (exported for their tests). */
export const schemaCompilers: Required<CompilersFactory> = { buildValidator, buildSerializer };

/**
 * Builds the application without listening (server.ts owns the process). Tests drive it with
 * inject(); the server adds the network and signals.
 */
export async function buildApp(options: AppOptions): Promise<FastifyInstance> {
  const requestTimeout = options.requestTimeoutMs ?? REQUEST_TIMEOUT_MS;
  const log = options.logger ?? pino({ level: 'silent' });
  const requests = new RequestSeries();
  const answers = new AnswerLog(requests, log);
  const app = Fastify({
    // Fastify gets no logger of its own: with one, it sets up response listeners and log checks on
    // every request (docs/performance.md#the-request-lifecycle). Requests still log through
    // `request.log`, a child of Licensor's logger made when it first writes, with the request id;
    // the access log and the request metrics are request-observer.ts's.
    logger: false,
    childLoggerFactory: requestLoggerFactory(log),
    logController: new RequestLogController(),
    bodyLimit: options.bodyLimitBytes ?? 256 * 1024,
    // A slow client must not hold a connection open forever (Fastify sets no limit by default).
    requestTimeout,
    http: {
      headersTimeout: requestTimeout,
      // Node looks for timed-out requests only this often (30 s by default, which would let a
      // slow client hold a connection for a minute).
      connectionsCheckingInterval: Math.max(100, Math.min(5000, requestTimeout / 4)),
    },
    keepAliveTimeout: options.keepAliveTimeoutMs ?? KEEP_ALIVE_TIMEOUT_MS,
    // Requests Node's HTTP parser refuses before Fastify sees them, answered as problems too.
    clientErrorHandler: answerClientError,
    schemaErrorFormatter: describeValidation,
    // Errors the router raises before any route runs (a bad URL, an over-long parameter) are
    // problems like any other, not Fastify's own bodies. No hook runs for them, so they are
    // counted and logged here (docs/deployment.md#logs); the router's request has no
    // `clientAddress` (nor a forwarded address), only the connection's peer.
    frameworkErrors: (error, request, reply) => {
      const started = performance.now();
      void sendProblem(reply, toLicensorError(error));
      const seconds = (performance.now() - started) / 1000;
      answers.answered(request, reply.statusCode, seconds, () => request.socket.remoteAddress ?? 'unknown');
    },
    schemaController: { compilersFactory: schemaCompilers },
    // Route URLs are case-sensitive and exact; a trailing slash is the same route.
    routerOptions: { ignoreTrailingSlash: true },
    requestIdHeader: 'x-request-id',
    return503OnClosing: true,
    trustProxy: options.trustProxy ?? false,
  }).withTypeProvider<TypeBoxTypeProvider>();

  // The seed's own curl examples send "Content-Type: application/json" on GET and DELETE with no
  // body; that is no body, not malformed JSON. Non-empty bodies keep Fastify's parser and its
  // prototype-poisoning checks.
  const parseJson = app.getDefaultJsonParser('error', 'error');
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
    const text = typeof body === 'string' ? body : body.toString('utf8');
    if (text === '') done(null, undefined);
    else
      void parseJson(request, text, (err, parsed) => {
        const refusal = jsonBodyRefusal(text, err);
        done(refusal, refusal === null ? parsed : undefined);
      });
  });
  // Every body is JSON: without its parser text/plain is 415 like any other type, not a string
  // that a route without a body ignores and one with a body calls "not an object".
  app.removeContentTypeParser('text/plain');

  app.setErrorHandler(handleError);
  app.setNotFoundHandler((request, reply) =>
    sendProblem(
      reply,
      new LicensorError('ROUTE_NOT_FOUND', `no route ${request.method} ${request.url.split('?')[0] ?? ''}`),
    ),
  );
  app.addSchema(Problem);
  await app.register(swagger, openapiOptions(options.version ?? '0.0.0'));
  observeRequests(app);
  registerAudit(app, options.store, options.clock, log);
  observeAnswers(app, answers);
  registerAuth(
    app,
    options.store,
    options.authFailureLimit ? new AuthFailureLimiter(options.authFailureLimit, options.clock) : undefined,
  );
  const metrics = registerMetrics(options.store, options.clock, requests);
  const context: AppContext = {
    store: options.store,
    keyRing: options.keyRing,
    clock: options.clock,
    activityWindowDays: options.activityWindowDays,
    metrics,
    ...(options.draining !== undefined && { draining: options.draining }),
    instance: new InstanceSigner(await options.store.instanceIdentity()),
    entitlementsTtlSeconds: options.entitlementsTtlSeconds ?? ENTITLEMENTS_TTL_SECONDS,
  };
  for (const routes of [
    licenseRoutes,
    usageRoutes,
    userRoutes,
    settingsRoutes,
    hostRoutes,
    instanceRoutes,
    adminRoutes,
    metaRoutes,
    consoleRoutes,
    webhookRoutes,
  ]) {
    await app.register(routes, context);
  }
  return app;
}
