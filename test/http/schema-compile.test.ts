import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Ajv } from 'ajv';
import { schemaCompilers } from '../../src/http/app.js';
import { buildTestApp } from '../helpers/app.js';

// Each distinct route schema is compiled once per process, not once per route and app
// (docs/performance.md#starting-up). Counted at Ajv's compile, which the app's validators use.
test('a second app compiles no validator, and validates as the first does', async (t) => {
  type Compile = (this: Ajv, ...args: Parameters<Ajv['compile']>) => ReturnType<Ajv['compile']>;
  // Ajv's own method, unbound: it is called on whichever instance compiles.
  const compile = Reflect.get(Ajv.prototype, 'compile') as Compile;
  let compiled = 0;
  Ajv.prototype.compile = function (this: Ajv, ...args: Parameters<Ajv['compile']>) {
    compiled++;
    return compile.apply(this, args);
  } as Ajv['compile'];
  t.after(() => {
    Ajv.prototype.compile = compile as Ajv['compile'];
  });

  const first = await buildTestApp(t);
  await first.app.ready();
  const routes = first.app.printRoutes({ commonPrefix: false }).split('\n').length;
  // Fewer compiles than routes: routes share their parameter schemas.
  assert.ok(compiled > 0 && compiled < routes, `${compiled} compiles for ${routes} route lines`);

  compiled = 0;
  const second = await buildTestApp(t);
  await second.app.ready();
  assert.equal(compiled, 0);

  for (const h of [first, second]) {
    const bad = await h.request({ method: 'GET', url: '/admin/users?size=many' });
    assert.equal(bad.statusCode, 400);
    const good = await h.request({ method: 'GET', url: '/admin/users?size=5' });
    assert.equal(good.statusCode, 200);
  }
});

test('apps share one compiled function per distinct schema; a validator depends on its JSON alone', () => {
  const { buildValidator, buildSerializer } = schemaCompilers;
  const shared = { Problem: { $id: 'Problem', type: 'object', properties: { code: { type: 'string' } } } };
  const response = { type: 'object', properties: { n: { type: 'integer' } } };
  const route = { schema: response, method: 'GET', url: '/x', httpStatus: '200' };
  // Two apps: each asks the factory for its compiler, then compiles its routes' schemas.
  const [a, b] = [buildSerializer(shared, {}), buildSerializer(shared, {})];
  const serialize = a(route);
  assert.equal(b({ ...route, schema: structuredClone(response) }), serialize);
  assert.equal(serialize({ n: 1 }), '{"n":1}');
  // Other shared schemas are another compilation.
  assert.notEqual(buildSerializer({}, {})(route), serialize);

  const validate = (schema: object, httpPart = 'body') =>
    buildValidator({}, {})({ schema, httpPart, method: 'POST', url: '/x' });
  const numbers = { type: 'object', properties: { n: { type: 'integer' } } };
  assert.equal(validate(structuredClone(numbers)), validate(numbers));
  // The same schema for text (path, query) coerces: another function.
  const coercing = validate(numbers, 'querystring');
  assert.notEqual(coercing, validate(numbers));
  assert.equal(coercing({ n: '5' }), true);
  assert.equal(validate(numbers)({ n: '5' }), false);
  // Two schemas with one $id (an earlier app's and a later one's) are both compiled, each as given.
  const first = validate({ $id: 'Body', type: 'string' });
  const second = validate({ $id: 'Body', type: 'number' });
  assert.equal(first('x'), true);
  assert.equal(second(5), true);
  assert.equal(second('x'), false);
});
