import assert from 'node:assert/strict';
import type { TestContext } from 'node:test';
import fc from 'fast-check';
import { SYSTEM_ACTOR } from '../../src/domain/changes.js';
import { ERROR_STATUS } from '../../src/domain/errors.js';
import { generateTokenSecret, hashTokenSecret } from '../../src/http/auth.js';
import { activeSince } from '../../src/domain/users.js';
import type { OpenApiDocument } from '../../src/http/openapi.js';
import type { Store } from '../../src/store/store.js';
import { ADMIN_TOKEN, buildTestApp, type TestApp } from '../helpers/app.js';
import { inline, operationsOf } from '../helpers/openapi-doc.js';
import { routeTable, type RouteEntry } from '../helpers/routes.js';

/** Everything a refused request must leave as it was (the audit log records refusals by design). */
async function snapshot(store: Store, now: Date): Promise<string> {
  const since = activeSince(now, 365);
  const [licenses, users, tokens, active, summary] = await Promise.all([
    store.listLicenses({ includeDeleted: true }),
    store.listUsers({ offset: 0, size: 1000, activeSince: since }),
    store.listTokens(),
    store.readView(now).then((view) => view.activeUserCount),
    store.usageSummary(since),
  ]);
  return JSON.stringify({ licenses, users, tokens, active, summary });
}

/** Stands for the fuzzer's current administrator token (a fuzzed request may revoke it). */
const VALID = '<valid admin token>';

const oddStrings = fc.oneof(
  fc.string(),
  fc.string({ unit: 'grapheme', maxLength: 40 }),
  fc.constantFrom(
    '',
    ' ',
    '0',
    '-1',
    '1e309',
    'NaN',
    'null',
    '[]',
    '{}',
    '../../etc/passwd',
    '%00',
    '\u0000',
    '\uFFFF',
    '\uD800',
    '💥'.repeat(50),
    'a'.repeat(5000),
  ),
);

/**
 * Numbers no query needs: past 2^31, 2^32, 2^53, 2^63 and 2^64, beyond a double, negative,
 * fractional, and the notations a number parser takes but a person would not send.
 */
export const ABSURD_NUMBERS = [
  '9223372036854775808',
  '18446744073709551616',
  '99999999999999999999999',
  '1e400',
  '-1e400',
  '1e308',
  '5e-324',
  '-1',
  '-0',
  '1.5',
  '0.0000001',
  '1000000001',
  '2147483648',
  '4294967296',
  '9007199254740993',
  'Infinity',
  '-Infinity',
  'NaN',
  '0x10',
  '0b1',
  '1e3',
  '+5',
  ' 5',
  '5 ',
  '1_000',
  '１２',
];

const jsonValue = fc.oneof(
  { depthSize: 'small' },
  fc.jsonValue(),
  oddStrings,
  fc.integer(),
  fc.double(),
  fc.constant(null),
);

/** Bodies: random JSON, valid-looking shapes with broken fields, deep nesting, junk text. */
function bodyArbitrary(issueKey: () => string): fc.Arbitrary<string | undefined> {
  const shaped = fc.record(
    {
      licenseKey: fc.oneof(jsonValue, fc.constant('KEY')),
      licensekey: jsonValue,
      userid: jsonValue,
      iamid: jsonValue,
      name: jsonValue,
      email: jsonValue,
      userType: fc.oneof(jsonValue, fc.constantFrom('dataConsumer', 'policyOwner')),
      disabled: jsonValue,
      permissions: fc.oneof(jsonValue, fc.array(fc.constantFrom('APPLICATION_ADMIN', 'USER_ADMIN', 'ROOT'))),
      __proto__: jsonValue,
      constructor: jsonValue,
    },
    { requiredKeys: [] },
  );
  return fc.oneof(
    fc.constant(undefined),
    jsonValue.map((v) => JSON.stringify(v)),
    shaped.map((v) => JSON.stringify(v).replace('"KEY"', JSON.stringify(issueKey()))),
    fc.integer({ min: 50, max: 20_000 }).map((depth) => '['.repeat(depth) + ']'.repeat(depth)),
    fc.integer({ min: 50, max: 5_000 }).map((depth) => '{"a":'.repeat(depth) + '1' + '}'.repeat(depth)),
    fc.string({ maxLength: 200 }),
    fc.uint8Array({ maxLength: 200 }).map((bytes) => Buffer.from(bytes).toString('latin1')),
  );
}

interface FuzzRequest {
  route: RouteEntry;
  method: string;
  params: string[];
  query: [string, string][];
  auth: string | undefined;
  contentType: string | undefined;
  body: string | undefined;
  extraHeaders: [string, string][];
}

function requestArbitrary(routes: RouteEntry[], issueKey: () => string): fc.Arbitrary<FuzzRequest> {
  return fc.record({
    route: fc.constantFrom(...routes),
    // Dice rolls rather than weighted oneof: fast-check's bias towards small cases skews oneof, and
    // most requests should get past authentication to reach the code behind it.
    method: fc
      .tuple(fc.nat(9), fc.constantFrom('GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS', 'HEAD'))
      .map(([roll, other]) => (roll < 8 ? '' : other)),
    params: fc.array(
      fc.oneof(
        fc.constantFrom('1', '2', '3', '0', '-1', '99999999999999999999'),
        fc.constantFrom(...ABSURD_NUMBERS),
        oddStrings,
      ),
      { maxLength: 3 },
    ),
    query: fc.array(
      fc.tuple(
        fc.oneof(fc.constantFrom('offset', 'size', 'active', 'q', 'from', 'to', 'dryRun'), fc.string()),
        fc.oneof(oddStrings, fc.constantFrom(...ABSURD_NUMBERS)),
      ),
      {
        maxLength: 4,
      },
    ),
    auth: fc
      .tuple(fc.nat(9), oddStrings)
      .map(([roll, junk]) =>
        roll < 7 ? VALID : roll === 7 ? undefined : roll === 8 ? junk : `Bearer ${junk}`,
      ),
    contentType: fc
      .tuple(
        fc.nat(9),
        fc.constantFrom(
          'text/plain',
          'application/x-www-form-urlencoded',
          'multipart/form-data',
          'application/json; charset=latin1',
          '*/*',
        ),
        fc.string({ maxLength: 30 }),
      )
      .map(([roll, other, junk]) =>
        roll < 7 ? 'application/json' : roll === 7 ? undefined : roll === 8 ? other : junk,
      ),
    body: bodyArbitrary(issueKey),
    extraHeaders: fc.array(
      fc.tuple(
        fc.constantFrom('x-request-id', 'accept', 'x-forwarded-for', 'content-encoding', 'transfer-encoding'),
        oddStrings,
      ),
      {
        maxLength: 2,
      },
    ),
  });
}

/** Percent-encodes; a lone surrogate (which encodeURIComponent refuses) becomes invalid UTF-8. */
function encode(text: string): string {
  try {
    return encodeURIComponent(text);
  } catch {
    return '%ED%A0%80';
  }
}

function urlOf(request: FuzzRequest): string {
  let i = 0;
  const path = request.route.url.replace(/:[A-Za-z]+/g, () => encode(request.params[i++] ?? '1'));
  const query = request.query.map(([k, v]) => `${encode(k)}=${encode(v)}`).join('&');
  return query === '' ? path : `${path}?${query}`;
}

/** Header values that Node itself refuses to send are not requests a server can receive. */
function sendable(value: string): boolean {
  return /^[\t\x20-\x7e\x80-\xff]*$/.test(value);
}

/**
 * Fires `runs` generated requests at every route of the app and checks the invariants: never a
 * 5xx, never a hang, a problem body with a known code for every 4xx, and no state change from any
 * refused request.
 */
export async function fuzzRoutes(
  t: TestContext,
  runs: number,
): Promise<{ requests: number; refused: number; byStatus: Record<number, number> }> {
  const h: TestApp = await buildTestApp(t);
  await h.addKey(h.issuer.issue({ seats: 50, uuid: 'fuzz-base' }));
  for (let i = 0; i < 5; i++)
    await h.request({ method: 'POST', url: '/admin/users', payload: { userid: `seed${i}`, iamid: 'idp' } });
  const routes = routeTable(h.app);
  assert.ok(routes.length >= 20, `the route table has ${routes.length} routes`);
  const byStatus: Record<number, number> = {};
  let requests = 0;
  let refused = 0;
  let adminSecret = ADMIN_TOKEN;
  let before = await snapshot(h.store, h.clock.now());

  const seed = Number(process.env.LICENSOR_FUZZ_SEED ?? Date.now() % 2 ** 31);
  const outcome = await fc.check(
    fc.asyncProperty(
      requestArbitrary(routes, () => h.issuer.issue()),
      async (request) => {
        const headers: Record<string, string> = {};
        if (request.auth === VALID) headers.authorization = `Bearer ${adminSecret}`;
        else if (request.auth !== undefined && sendable(request.auth)) headers.authorization = request.auth;
        if (request.contentType !== undefined && sendable(request.contentType))
          headers['content-type'] = request.contentType;
        for (const [name, value] of request.extraHeaders) if (sendable(value)) headers[name] = value;
        const method = (request.method || request.route.method) as 'GET' | 'HEAD';
        const res = await Promise.race([
          h.app.inject({
            method,
            url: urlOf(request),
            headers,
            ...(request.body !== undefined &&
              method !== 'GET' &&
              method !== 'HEAD' && { payload: request.body }),
          }),
          new Promise<never>((_, reject) =>
            setTimeout(() => reject(new Error('no answer within 5 s')), 5000),
          ),
        ]);
        requests++;
        byStatus[res.statusCode] = (byStatus[res.statusCode] ?? 0) + 1;
        assert.ok(
          res.statusCode < 500,
          `${method} ${urlOf(request)} answered ${res.statusCode}: ${res.body.slice(0, 300)}`,
        );
        const after = await snapshot(h.store, h.clock.now());
        if (res.statusCode >= 400) {
          refused++;
          if (method !== 'HEAD') {
            assert.match(
              String(res.headers['content-type']),
              /^application\/problem\+json/,
              `${res.statusCode} without a problem body`,
            );
            const problem = res.json();
            assert.equal(
              ERROR_STATUS[problem.code as keyof typeof ERROR_STATUS],
              res.statusCode,
              `unknown code ${problem.code}`,
            );
          }
          assert.equal(
            after,
            before,
            `${method} ${urlOf(request)} was refused (${res.statusCode}) but changed the store`,
          );
        }
        before = after;
        // A fuzzed DELETE /admin/tokens/{id} may revoke the fuzzer's own token (rightly); mint another
        // so the rest of the run still reaches the code behind authentication.
        if (!(await h.store.findTokenByHash(hashTokenSecret(adminSecret)))) {
          adminSecret = generateTokenSecret();
          await h.store.createToken(
            { name: 'fuzzer', hash: hashTokenSecret(adminSecret), permissions: ['APPLICATION_ADMIN'] },
            { clock: h.clock, actor: SYSTEM_ACTOR },
          );
          before = await snapshot(h.store, h.clock.now());
        }
      },
    ),
    { numRuns: runs, seed, endOnFailure: true },
  );
  if (outcome.failed) {
    // The failing request, trimmed (fuzzed strings run to kilobytes), and how to replay it.
    const example = JSON.stringify(outcome.counterexample, (_k, v: unknown) =>
      typeof v === 'string' && v.length > 120 ? `${v.slice(0, 120)}...(${v.length} chars)` : v,
    );
    const cause =
      outcome.errorInstance instanceof Error ? outcome.errorInstance.message : String(outcome.errorInstance);
    throw new Error(`${cause}\nreplay with LICENSOR_FUZZ_SEED=${seed}\nrequest: ${example}`);
  }
  return { requests, refused, byStatus };
}

/** Whether a response is a refusal with a problem body whose code has the response's status. */
function assertProblem(
  res: { statusCode: number; headers: Record<string, unknown>; json(): unknown; body: string },
  what: string,
): void {
  assert.ok(res.statusCode < 500, `${what} answered ${res.statusCode}: ${res.body.slice(0, 300)}`);
  if (res.statusCode < 400) return;
  assert.match(
    String(res.headers['content-type']),
    /^application\/problem\+json/,
    `${what}: no problem body`,
  );
  const problem = res.json() as { code: string };
  assert.equal(
    ERROR_STATUS[problem.code as keyof typeof ERROR_STATUS],
    res.statusCode,
    `${what}: code ${problem.code}`,
  );
}

/**
 * Every query parameter of every route (as the OpenAPI document lists them), alone and together,
 * with each of ABSURD_NUMBERS and a valid token: never a 5xx, a problem for every refusal, and no
 * change from a refused request. Returns how many requests were sent, by status.
 */
export async function sweepQueryNumbers(t: TestContext): Promise<Record<number, number>> {
  const h: TestApp = await buildTestApp(t);
  await h.addKey(h.issuer.issue({ seats: 50, uuid: 'sweep-base' }));
  for (let i = 0; i < 3; i++)
    await h.request({ method: 'POST', url: '/admin/users', payload: { userid: `seed${i}`, iamid: 'idp' } });
  const document = (await h.request({ method: 'GET', url: '/openapi.json' })).json<OpenApiDocument>();
  const byStatus: Record<number, number> = {};
  let swept = 0;
  for (const { path, method, op: operation } of operationsOf(document)) {
    const names = (operation.parameters ?? [])
      .map(inline)
      .filter((p) => p.in === 'query')
      .map((p) => p.name);
    if (names.length === 0) continue;
    swept++;
    const url = path.replace(/\{[^}]+\}/g, '1');
    for (const value of ABSURD_NUMBERS)
      for (const query of [...names.map((name) => [name]), names]) {
        const target = `${url}?${query.map((name) => `${name}=${encodeURIComponent(value)}`).join('&')}`;
        const before = await snapshot(h.store, h.clock.now());
        const res = await h.request({ method: method.toUpperCase(), url: target });
        byStatus[res.statusCode] = (byStatus[res.statusCode] ?? 0) + 1;
        assertProblem(res, `${method.toUpperCase()} ${target}`);
        if (res.statusCode >= 400)
          assert.equal(
            await snapshot(h.store, h.clock.now()),
            before,
            `${target} was refused but changed the store`,
          );
      }
  }
  assert.ok(swept >= 5, `only ${swept} operations take a query string`);
  return byStatus;
}
