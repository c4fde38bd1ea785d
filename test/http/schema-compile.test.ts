import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Ajv } from 'ajv';
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
