import type { TestContext } from 'node:test';
import type { ValidateFunction } from 'ajv';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import type {
  FastifyInstance,
  FastifyReply,
  FastifyRequest,
  InjectOptions,
  LightMyRequestResponse,
} from 'fastify';
import { ManualClock } from '../../src/domain/clock.js';
import { buildApp } from '../../src/http/app.js';
import { hashTokenSecret } from '../../src/http/auth.js';
import type { OpenApiDocument } from '../../src/http/openapi.js';
import { inline, type Method } from './openapi-doc.js';
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.js';
import type { AuthFailureLimit } from '../../src/http/auth-failure-limiter.js';
import type { Store } from '../../src/store/store.js';
import { createIssuer, type TestIssuer } from './issuer.js';
import { cleanup } from './cleanup.js';

export const ADMIN_TOKEN = 'test-admin-token-0123456789';

export interface TestApp {
  app: FastifyInstance;
  store: Store;
  clock: ManualClock;
  issuer: TestIssuer;
  /** inject() with the administrator token unless `headers.authorization` is given. */
  request(options: InjectOptions): Promise<LightMyRequestResponse>;
  /** POST /admin/license with a key; returns the response. */
  addKey(licenseKey: string): Promise<LightMyRequestResponse>;
}

const DOCUMENT_ID = 'urn:licensor:openapi';

function pointer(...segments: string[]): string {
  return segments
    .map((s) => `/${encodeURIComponent(s.replaceAll('~', '~0').replaceAll('/', '~1'))}`)
    .join('');
}

/**
 * Checks responses against the OpenAPI document the app serves: the route and status must be
 * documented, the content type must be one the status documents, a JSON body must match its
 * schema, and a problem's code must be one of those its status lists. One per distinct document,
 * so the validators are compiled once per test process.
 */
class ResponseChecker {
  static readonly #byDocument = new Map<string, ResponseChecker>();
  readonly #ajv = addFormats.default(new Ajv2020({ strict: false, allErrors: true }));
  readonly #validators = new Map<string, ValidateFunction>();
  readonly #document: OpenApiDocument;

  private constructor(document: OpenApiDocument) {
    this.#document = document;
    // The whole document is one schema resource: its #/components/schemas/... refs resolve in it.
    this.#ajv.addSchema(document, DOCUMENT_ID);
  }

  /** The document as /openapi.json serves it (the route returns app.swagger(), as JSON). */
  static of(app: FastifyInstance): ResponseChecker {
    const text = JSON.stringify(app.swagger());
    let checker = ResponseChecker.#byDocument.get(text);
    if (checker === undefined) {
      checker = new ResponseChecker(JSON.parse(text) as OpenApiDocument);
      ResponseChecker.#byDocument.set(text, checker);
    }
    return checker;
  }

  #validator(path: string): ValidateFunction {
    let validate = this.#validators.get(path);
    if (validate === undefined) {
      validate = this.#ajv.compile({ $ref: `${DOCUMENT_ID}#${path}` });
      this.#validators.set(path, validate);
    }
    return validate;
  }

  /** Why the response does not match the document, or undefined when it does. */
  check(
    route: string | undefined,
    method: string,
    status: number,
    type: string,
    body: string,
  ): string | undefined {
    let schemaPath: string | undefined;
    if (route === undefined) {
      // No route matched (404 ROUTE_NOT_FOUND): no operation to look up, but still a Problem.
      if (type !== 'application/problem+json') return `a response without a route is ${type}, not a problem`;
      schemaPath = pointer('components', 'schemas', 'Problem');
    } else {
      const path = route.replace(/:([A-Za-z0-9_]+)/g, '{$1}');
      const operation = this.#document.paths?.[path]?.[method.toLowerCase() as Method];
      if (operation === undefined) return `${method} ${path} is not in the OpenAPI document`;
      const responses = operation.responses ?? {};
      const key = [String(status), `${String(status)[0]}XX`, 'default'].find(
        (k) => responses[k] !== undefined,
      );
      if (key === undefined) return `status ${status} is not documented for ${method} ${path}`;
      const content = inline(responses[key]!).content ?? {};
      if (content[type] === undefined)
        return `${type} is not documented for ${status} of ${method} ${path} (documented: ${Object.keys(content).join(', ') || 'none'})`;
      if (!type.endsWith('json')) return undefined;
      schemaPath = pointer('paths', path, method.toLowerCase(), 'responses', key, 'content', type, 'schema');
    }
    let value: unknown;
    try {
      value = JSON.parse(body);
    } catch {
      return `the ${type} body is not JSON: ${body.slice(0, 200)}`;
    }
    const validate = this.#validator(schemaPath);
    if (!validate(value))
      return `the body does not match ${schemaPath}: ${this.#ajv.errorsText(validate.errors)}\n${body.slice(0, 500)}`;
    if (type === 'application/problem+json') {
      const problem = value as { status: number; code: string };
      if (problem.status !== status) return `a problem with status ${problem.status} sent as ${status}`;
      // Each error status of an operation names its codes, one example each: the code must be one.
      const codes =
        route === undefined ? ['ROUTE_NOT_FOUND'] : Object.keys(this.#problemExamples(route, method, status));
      if (!codes.includes(problem.code))
        return `code ${problem.code} is not documented for ${status} (documented: ${codes.join(', ')})`;
    }
    return undefined;
  }

  #problemExamples(route: string, method: string, status: number): Record<string, unknown> {
    const path = route.replace(/:([A-Za-z0-9_]+)/g, '{$1}');
    const response =
      this.#document.paths?.[path]?.[method.toLowerCase() as Method]?.responses?.[String(status)];
    return response === undefined
      ? {}
      : (inline(response).content?.['application/problem+json']?.examples ?? {});
  }
}

/**
 * Checks every response the app sends against its OpenAPI document (see ResponseChecker), so every
 * test that uses buildTestApp is also a check that the document has not drifted from the server.
 * Returns the list the mismatches are appended to.
 */
function checkResponsesAgainstDocument(app: FastifyInstance): string[] {
  const mismatches: string[] = [];
  let checker: ResponseChecker | undefined;
  app.addHook('onSend', async (request: FastifyRequest, reply: FastifyReply, payload: unknown) => {
    // HEAD answers have no body; the hidden routes (the document itself, /docs) are not in it.
    if (request.method === 'HEAD' || request.routeOptions.schema?.hide === true) return payload;
    const type = String(reply.getHeader('content-type') ?? '')
      .split(';')[0]!
      .trim()
      .toLowerCase();
    const body =
      typeof payload === 'string' ? payload : Buffer.isBuffer(payload) ? payload.toString('utf8') : '';
    // The document is complete once the app is ready, which it is by the time it answers.
    checker ??= ResponseChecker.of(app);
    const mismatch = checker.check(request.routeOptions.url, request.method, reply.statusCode, type, body);
    if (mismatch !== undefined)
      mismatches.push(`${request.method} ${request.url} -> ${reply.statusCode} ${type}: ${mismatch}`);
    return payload;
  });
  return mismatches;
}

function driftError(mismatches: string[]): Error {
  return new Error(`responses that do not match the OpenAPI document:\n${mismatches.join('\n')}`);
}

/**
 * An app on a fresh in-memory SQLite store, a manual clock at 2026-06-01 and a trusted test issuer;
 * closed when the test ends. Every response it sends is checked against the OpenAPI document it
 * serves: request() throws on a mismatch, and the test fails at its end for any other response
 * (h.app.inject) that did not match.
 */
export async function buildTestApp(
  t: TestContext,
  options: {
    store?: Store;
    now?: string;
    activityWindowDays?: number;
    issuer?: TestIssuer;
    bodyLimitBytes?: number;
    authFailureLimit?: AuthFailureLimit;
    requestTimeoutMs?: number;
    keepAliveTimeoutMs?: number;
    entitlementsTtlSeconds?: number;
  } = {},
): Promise<TestApp> {
  const clock = new ManualClock(options.now ?? '2026-06-01T12:00:00.000Z');
  const activityWindowDays = options.activityWindowDays ?? 365;
  const store = options.store ?? SqliteStore.open({ filename: ':memory:', activityWindowDays });
  const issuer = options.issuer ?? createIssuer(() => clock.now());
  await store.setBootstrapToken(hashTokenSecret(ADMIN_TOKEN), clock.now());
  const app = await buildApp({
    store,
    keyRing: issuer.ring,
    clock,
    activityWindowDays,
    ...(options.bodyLimitBytes !== undefined && { bodyLimitBytes: options.bodyLimitBytes }),
    ...(options.authFailureLimit !== undefined && { authFailureLimit: options.authFailureLimit }),
    ...(options.requestTimeoutMs !== undefined && { requestTimeoutMs: options.requestTimeoutMs }),
    ...(options.keepAliveTimeoutMs !== undefined && { keepAliveTimeoutMs: options.keepAliveTimeoutMs }),
    ...(options.entitlementsTtlSeconds !== undefined && {
      entitlementsTtlSeconds: options.entitlementsTtlSeconds,
    }),
  });
  const mismatches = checkResponsesAgainstDocument(app);
  let reported = 0;
  cleanup(t, async () => {
    await app.close();
    await store.close();
    if (mismatches.length > reported) throw driftError(mismatches.slice(reported));
  });
  const request = async (opts: InjectOptions): Promise<LightMyRequestResponse> => {
    const response = await app.inject({
      ...opts,
      headers: { authorization: `Bearer ${ADMIN_TOKEN}`, ...opts.headers },
    });
    if (mismatches.length > reported) {
      const fresh = mismatches.slice(reported);
      reported = mismatches.length;
      throw driftError(fresh);
    }
    return response;
  };
  return {
    app,
    store,
    clock,
    issuer,
    request,
    addKey: (licenseKey) => request({ method: 'POST', url: '/admin/license', payload: { licenseKey } }),
  };
}
