import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import SwaggerParser from '@apidevtools/swagger-parser';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import type { OpenAPI, OpenAPIV3_1 } from 'openapi-types';
import { ERROR_STATUS, type ErrorCode } from '../../src/domain/errors.js';
import { DOCS_CSP, DOCS_STYLESHEET_PATH } from '../../src/http/docs-page.js';
import { OPERATION_METHODS, type OpenApiDocument } from '../../src/http/openapi.js';
import { buildTestApp, type TestApp } from '../helpers/app.js';
import { inline } from '../helpers/openapi-doc.js';

/** The routes left out of the document on purpose: the document, the page rendering it, the console. */
const HIDDEN_ROUTES = ['/openapi.json', '/docs', DOCS_STYLESHEET_PATH, '/', '/console/', '/console/*'];

async function documentOf(h: TestApp): Promise<OpenApiDocument> {
  const res = await h.app.inject({ method: 'GET', url: '/openapi.json' });
  assert.equal(res.statusCode, 200);
  assert.match(String(res.headers['content-type']), /^application\/json/);
  return res.json();
}

function operations(
  doc: OpenApiDocument,
): { key: string; path: string; method: string; op: OpenAPIV3_1.OperationObject }[] {
  return Object.entries(doc.paths ?? {}).flatMap(([path, item]) =>
    Object.keys(item ?? {}).map((key) => {
      const method = OPERATION_METHODS.find((m) => m === key);
      assert.ok(method !== undefined, `${path} has "${key}", not an operation`);
      return { key: `${method.toUpperCase()} ${path}`, path, method, op: item![method]! };
    }),
  );
}

/** `:param` in a Fastify route is `{param}` in OpenAPI. */
function openapiPath(url: string): string {
  return url.replace(/:([A-Za-z0-9_]+)/g, '{$1}');
}

describe('the OpenAPI document', () => {
  test('is a valid OpenAPI 3.1 document', async (t) => {
    const h = await buildTestApp(t);
    const doc = await documentOf(h);
    assert.equal(doc.openapi, '3.1.0');
    await SwaggerParser.validate(structuredClone(doc) as unknown as OpenAPI.Document);
  });

  test('has every route the app registers, and nothing else', async (t) => {
    const h = await buildTestApp(t);
    const doc = await documentOf(h);
    const routes = h.app.accessTable;
    const gets = new Set(routes.filter((r) => r.method === 'GET').map((r) => r.url));
    // Fastify adds a HEAD route for each GET route: it is the GET operation.
    const registered = routes.filter((r) => !(r.method === 'HEAD' && gets.has(r.url)));
    const hidden = registered.filter((r) => r.hidden).map((r) => r.url);
    assert.deepEqual(
      hidden.filter((url) => !HIDDEN_ROUTES.includes(url)),
      [],
      'only the document, the /docs page, the console and the root that leads to it may be hidden',
    );
    const expected = registered
      .filter((r) => !r.hidden)
      .map((r) => `${r.method} ${openapiPath(r.url)}`)
      .sort();
    assert.ok(expected.length >= 20, `the route table has ${expected.length} routes`);
    assert.deepEqual(
      operations(doc)
        .map((o) => o.key)
        .sort(),
      expected,
    );
  });

  test('describes every operation: id, summary, tags, parameters, security, responses', async (t) => {
    const h = await buildTestApp(t);
    const doc = await documentOf(h);
    const access = new Map(h.app.accessTable.map((r) => [`${r.method} ${openapiPath(r.url)}`, r.access]));
    const tags = new Set((doc.tags ?? []).map((tag) => tag.name));
    const ids = new Set<string>();
    for (const { key, path, op } of operations(doc)) {
      assert.match(op.operationId ?? '', /^[a-z][A-Za-z0-9]*$/, `${key}: operationId in camelCase`);
      assert.ok(!ids.has(op.operationId!), `${key}: operationId ${op.operationId} is unique`);
      ids.add(op.operationId!);
      assert.ok((op.summary ?? '').length > 0, `${key}: summary`);
      assert.ok((op.tags ?? []).length > 0, `${key}: tags`);
      for (const tag of op.tags ?? []) assert.ok(tags.has(tag), `${key}: tag "${tag}" is described`);

      // Security is documented exactly where the route needs a token.
      const secured = (op.security ?? []).length > 0;
      assert.equal(
        secured,
        access.get(key) !== 'public',
        `${key}: security matches access ${access.get(key)}`,
      );

      // Every path parameter is documented; every parameter has a description.
      const inPath = [...path.matchAll(/\{([^}]+)\}/g)].map((m) => m[1]);
      const params = (op.parameters ?? []).map(inline);
      assert.deepEqual(
        params.filter((p) => p.in === 'path').map((p) => p.name),
        inPath,
        `${key}: path parameters`,
      );
      for (const p of params)
        assert.ok((p.description ?? '').length > 0, `${key}: ${p.name} has a description`);
      if (op.requestBody !== undefined) {
        const media = inline(op.requestBody).content['application/json'];
        assert.ok(media?.example !== undefined || media?.examples !== undefined, `${key}: body example`);
      }

      const responses = Object.entries(op.responses ?? {}).map(([s, r]) => [s, inline(r)] as const);
      const successes = responses.filter(([status]) => status.startsWith('2'));
      assert.ok(successes.length > 0, `${key}: a 2xx response`);
      for (const [status, response] of responses) {
        assert.ok(
          response.description.length > 0 && response.description !== 'Default Response',
          `${key} ${status}: described`,
        );
        assert.ok(Object.keys(response.content ?? {}).length > 0, `${key} ${status}: has content`);
      }
      for (const [status, response] of successes)
        for (const [type, media] of Object.entries(response.content ?? {})) {
          assert.ok(media.schema !== undefined, `${key} ${status} ${type}: schema`);
          assert.ok(
            media.example !== undefined || media.examples !== undefined,
            `${key} ${status} ${type}: example`,
          );
        }
      if (secured) assert.ok(op.responses?.['401'] !== undefined, `${key}: 401 documented`);
      assert.ok(op.responses?.['500'] !== undefined, `${key}: 500 documented`);

      // Errors are Problems, and each status names exactly the codes of that status it lists.
      for (const [status, response] of responses.filter(([s]) => !s.startsWith('2'))) {
        assert.deepEqual(
          Object.keys(response.content ?? {}),
          ['application/problem+json'],
          `${key} ${status}`,
        );
        const media = response.content!['application/problem+json']!;
        assert.deepEqual(media.schema, { $ref: '#/components/schemas/Problem' }, `${key} ${status}: Problem`);
        const codes = Object.keys(media.examples ?? {}) as ErrorCode[];
        assert.ok(codes.length > 0, `${key} ${status}: an example per code`);
        for (const code of codes) {
          assert.equal(ERROR_STATUS[code], Number(status), `${key}: ${code} is not a ${status}`);
          assert.ok(response.description.includes(code), `${key} ${status}: the description names ${code}`);
        }
      }
    }
  });

  test('every example matches its schema', async (t) => {
    const h = await buildTestApp(t);
    const doc = await documentOf(h);
    const ajv = addFormats.default(new Ajv2020({ strict: false, allErrors: true }));
    ajv.addSchema(doc, 'urn:licensor:examples');
    let count = 0;
    const check = (pointer: string, example: unknown, where: string) => {
      const validate = ajv.compile({ $ref: `urn:licensor:examples#${pointer}` });
      assert.ok(validate(example), `${where}: ${ajv.errorsText(validate.errors)}`);
      count++;
    };
    const esc = (s: string) => encodeURIComponent(s.replaceAll('~', '~0').replaceAll('/', '~1'));
    for (const [name, schema] of Object.entries(doc.components?.schemas ?? {})) {
      assert.ok((schema.examples ?? []).length > 0, `component ${name} has an example`);
      for (const example of schema.examples ?? [])
        check(`/components/schemas/${name}`, example, `component ${name}`);
    }
    for (const { key, path, method, op } of operations(doc)) {
      const base = `/paths/${esc(path)}/${method}`;
      (op.parameters ?? []).map(inline).forEach((p, i) => {
        const example = (p as { example?: unknown }).example;
        if (example !== undefined) check(`${base}/parameters/${i}/schema`, example, `${key} ${p.name}`);
      });
      const media = [
        ...Object.entries(op.requestBody === undefined ? {} : inline(op.requestBody).content).map(
          ([type, m]) => ({
            at: `${base}/requestBody/content/${esc(type)}`,
            m,
          }),
        ),
        ...Object.entries(op.responses ?? {}).flatMap(([status, r]) =>
          Object.entries(inline(r).content ?? {}).map(([type, m]) => ({
            at: `${base}/responses/${status}/content/${esc(type)}`,
            m,
          })),
        ),
      ];
      for (const { at, m } of media) {
        const examples = [
          ...(m.example === undefined ? [] : [m.example]),
          ...Object.values(m.examples ?? {}).map((e) => inline(e).value as unknown),
        ];
        for (const example of examples) check(`${at}/schema`, example, `${key} ${at}`);
      }
    }
    assert.ok(count > 100, `${count} examples checked`);
  });
});

describe('the response drift check of buildTestApp', () => {
  test('refuses a response whose status, content type or body the document does not have', async (t) => {
    const h = await buildTestApp(t);
    // A route documented to answer {"n": integer} that answers otherwise, as a server that drifted.
    h.app.get(
      '/drift-probe',
      {
        config: { access: 'public' },
        schema: {
          operationId: 'driftProbe',
          summary: 'probe',
          tags: ['operations'],
          querystring: {
            type: 'object',
            properties: { as: { type: 'string' } },
          },
          response: {
            200: {
              description: 'n',
              type: 'object',
              properties: { n: { type: 'integer' } },
              required: ['n'],
            },
          },
        },
      },
      async (request, reply) => {
        const as = (request.query as { as?: string }).as;
        if (as === 'text') return reply.type('text/plain').send('n=1');
        if (as === 'teapot') {
          reply.statusCode = 418;
          return reply.send({ n: 1 });
        }
        if (as === 'wrong') return reply.type('application/json').send('{"n":"one"}');
        return { n: 1 };
      },
    );
    assert.equal((await h.request({ method: 'GET', url: '/drift-probe' })).statusCode, 200);
    for (const [as, why] of [
      ['text', /text\/plain is not documented for 200/],
      ['teapot', /status 418 is not documented/],
      ['wrong', /does not match .*must be integer/],
    ] as const)
      await assert.rejects(h.request({ method: 'GET', url: `/drift-probe?as=${as}` }), why, as);
    // A response without a route is checked against Problem.
    assert.equal((await h.request({ method: 'GET', url: '/no/such/route' })).statusCode, 404);
  });
});

describe('/docs', () => {
  test('is an HTML reference of every operation and schema, with a strict CSP and no script', async (t) => {
    const h = await buildTestApp(t);
    const doc = await documentOf(h);
    const res = await h.app.inject({ method: 'GET', url: '/docs' });
    assert.equal(res.statusCode, 200);
    assert.match(String(res.headers['content-type']), /^text\/html; charset=utf-8/);
    const csp = String(res.headers['content-security-policy']);
    assert.equal(csp, DOCS_CSP);
    assert.match(csp, /default-src 'self'/);
    assert.match(csp, /script-src 'none'/);
    assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval/);
    assert.equal(res.headers['x-content-type-options'], 'nosniff');
    const html = res.body;
    assert.doesNotMatch(html, /<script/i, 'no script at all');
    assert.doesNotMatch(html, /<style|\sstyle=/i, 'no inline style');
    assert.doesNotMatch(html, /https?:\/\//i, 'no URL to another host');
    for (const { op } of operations(doc))
      assert.ok(html.includes(`id="op-${op.operationId}"`), op.operationId);
    for (const name of Object.keys(doc.components?.schemas ?? {}))
      assert.ok(html.includes(`id="schema-${name}"`));
    for (const code of Object.keys(ERROR_STATUS)) assert.ok(html.includes(`<code>${code}</code>`), code);

    // Each asset the page names loads from this server, with its content type.
    const assets = [...html.matchAll(/\s(?:href|src)="([^"#][^"]*)"/g)].map((m) => m[1]!);
    assert.ok(assets.includes(DOCS_STYLESHEET_PATH));
    const types: Record<string, RegExp> = { '.css': /^text\/css/, '.json': /^application\/json/ };
    for (const url of new Set(assets)) {
      assert.match(url, /^\/[^/]/, `${url} is a path on this server`);
      const asset = await h.app.inject({ method: 'GET', url });
      assert.equal(asset.statusCode, 200, url);
      const ext = /\.[a-z]+$/.exec(url)?.[0] ?? '';
      assert.ok(types[ext], `${url}: an asset of a known type`);
      assert.match(String(asset.headers['content-type']), types[ext], url);
    }
    const css = await h.app.inject({ method: 'GET', url: DOCS_STYLESHEET_PATH });
    assert.equal(css.headers['content-security-policy'], DOCS_CSP);
    assert.doesNotMatch(css.body, /@import|url\(/, 'the stylesheet loads nothing else');
  });

  test('needs no token, and "/docs/" is the same page', async (t) => {
    const h = await buildTestApp(t);
    const res = await h.app.inject({ method: 'GET', url: '/docs/' });
    assert.equal(res.statusCode, 200);
    assert.match(res.body, /<h1>Licensor API reference<\/h1>/);
  });
});
