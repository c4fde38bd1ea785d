import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { CONSOLE_CSP, loadConsoleAssets } from '../../src/http/console-assets.js';
import { buildTestApp, type TestApp } from '../helpers/app.js';

/** The console is built by `npm run build` (npm test builds first). */

const TYPES: Record<string, RegExp> = {
  '.css': /^text\/css; charset=utf-8$/,
  '.js': /^text\/javascript; charset=utf-8$/,
};

async function get(h: TestApp, url: string) {
  return h.app.inject({ method: 'GET', url });
}

/** The relative imports of an ES module: `from './x.js'`, `import '../y.js'`. */
function importsOf(source: string): string[] {
  return [...source.matchAll(/(?:\bfrom|\bimport)\s*['"](\.{1,2}\/[^'"]+)['"]/g)].map((m) => m[1]!);
}

describe('/console/', () => {
  test('the page: HTML with the strict CSP, no inline script, style or handler, no other host', async (t) => {
    const h = await buildTestApp(t);
    const res = await get(h, '/console/');
    assert.equal(res.statusCode, 200);
    assert.equal(res.headers['content-type'], 'text/html; charset=utf-8');
    assert.equal(res.headers['content-security-policy'], CONSOLE_CSP);
    assert.equal(
      CONSOLE_CSP,
      "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
    );
    assert.equal(res.headers['x-content-type-options'], 'nosniff');
    assert.equal(res.headers['referrer-policy'], 'no-referrer');
    assert.equal(res.headers['set-cookie'], undefined);
    const html = res.body;
    for (const script of html.matchAll(/<script\b[^>]*>([\s\S]*?)<\/script>/gi)) {
      assert.match(script[0], /\ssrc="[^"]+"/, 'every script has a src');
      assert.equal(script[1]!.trim(), '', 'and no inline code');
    }
    assert.doesNotMatch(html, /<style|\sstyle=/i, 'no inline style');
    assert.doesNotMatch(html, /\son[a-z]+=/i, 'no inline event handler');
    assert.doesNotMatch(html, /https?:\/\//i, 'no URL to another host');
    assert.match(html, /<html lang="en">/);
    assert.match(html, /name="viewport"/);
  });

  test('every asset the page loads, and every module those import, is served with its type', async (t) => {
    const h = await buildTestApp(t);
    const html = (await get(h, '/console/')).body;
    const pending = [...html.matchAll(/\s(?:href|src)="([^"#:]+)"/g)].map(
      (m) => new URL(m[1]!, 'http://x/console/'),
    );
    assert.deepEqual(pending.map((u) => u.pathname).sort(), ['/console/console.css', '/console/js/main.js']);
    const seen = new Set<string>();
    while (pending.length > 0) {
      const url = pending.pop()!;
      if (seen.has(url.pathname)) continue;
      seen.add(url.pathname);
      const res = await get(h, url.pathname);
      assert.equal(res.statusCode, 200, url.pathname);
      const ext = /\.[a-z]+$/.exec(url.pathname)![0];
      assert.match(String(res.headers['content-type']), TYPES[ext]!, url.pathname);
      assert.equal(res.headers['content-security-policy'], CONSOLE_CSP);
      assert.equal(res.headers['x-content-type-options'], 'nosniff');
      if (ext === '.js') {
        assert.doesNotMatch(
          res.body,
          /\beval\(|new Function\(|innerHTML|\.style\./,
          `${url.pathname}: no eval, HTML or inline style`,
        );
        for (const specifier of importsOf(res.body)) pending.push(new URL(specifier, url));
      } else {
        assert.doesNotMatch(res.body, /@import|url\((?!#)/, 'the stylesheet loads nothing else');
      }
    }
    // The console's own modules and the typed client it uses, all from this server.
    assert.ok(seen.has('/console/client/index.js'), [...seen].join(', '));
    assert.ok(seen.has('/console/client/licensor-client.js'));
    assert.ok([...seen].filter((p) => p.startsWith('/console/js/')).length >= 8, [...seen].join(', '));
  });

  test('"/console" redirects to "/console/"; an unchanged asset answers 304; no token needed', async (t) => {
    const h = await buildTestApp(t);
    const bare = await get(h, '/console');
    assert.equal(bare.statusCode, 308);
    assert.equal(bare.headers.location, 'console/', 'relative, so a path prefix is kept');
    // The root leads to the console too, with no token, whatever the query.
    for (const url of ['/', '/?x=1']) {
      const root = await get(h, url);
      assert.equal(root.statusCode, 302, url);
      assert.equal(root.headers.location, 'console/', url);
    }
    const css = await get(h, '/console/console.css');
    assert.equal(css.headers['cache-control'], 'no-cache');
    const etag = String(css.headers.etag);
    assert.match(etag, /^"[A-Za-z0-9_-]+"$/);
    const again = await h.app.inject({
      method: 'GET',
      url: '/console/console.css',
      headers: { 'if-none-match': etag },
    });
    assert.equal(again.statusCode, 304);
    assert.equal(again.body, '');
  });

  test('only the built files by exact name: no traversal, no source maps, no other files', async (t) => {
    const h = await buildTestApp(t);
    for (const url of [
      '/console/index.html',
      '/console/main.js',
      '/console/js/nope.js',
      '/console/js/main.js.map',
      '/console/js/main.d.ts',
      '/console/js/main.ts',
      '/console/js/../../package.json',
      '/console/js/..%2f..%2fpackage.json',
      '/console/js/%2e%2e/%2e%2e/package.json',
      '/console/client/..%2fhttp%2fapp.js',
      '/console/client/../http/app.js',
      '/console/client/types.d.ts',
      '/console/..%2f..%2fsrc%2fconfig.ts',
      '/console/%2fetc%2fpasswd',
      '/console/js/MAIN.JS',
      '/console/js/main.js%00.css',
      '/console/js//main.js',
      '/console/cli/main.js',
      '/console/http/app.js',
    ]) {
      const res = await get(h, url);
      assert.equal(res.statusCode, 404, `${url}: ${res.statusCode}`);
      assert.match(String(res.headers['content-type']), /^application\/problem\+json/, url);
      assert.equal(res.json().code, 'ROUTE_NOT_FOUND', url);
    }
    for (const method of ['POST', 'PUT', 'DELETE'] as const) {
      const res = await h.app.inject({ method, url: '/console/console.css' });
      assert.equal(res.statusCode, 404, method);
    }
  });

  test('loadConsoleAssets takes plain names from the built folders only, and is undefined when unbuilt', () => {
    const dist = mkdtempSync(join(tmpdir(), 'licensor-console-'));
    try {
      assert.equal(loadConsoleAssets(dist), undefined);
      mkdirSync(join(dist, 'console'));
      mkdirSync(join(dist, 'client'));
      for (const [file, text] of [
        ['console/index.html', '<!doctype html>'],
        ['console/console.css', 'body{}'],
        ['console/main.js', 'export {}'],
        ['console/main.js.map', '{}'],
        ['console/main.d.ts', 'export {}'],
        ['console/.hidden.js', 'x'],
        ['console/Upper.js', 'x'],
        ['client/index.js', 'export {}'],
        ['client/index.d.ts', 'export {}'],
      ] as const)
        writeFileSync(join(dist, file), text);
      const assets = loadConsoleAssets(dist)!;
      assert.deepEqual([...assets.files.keys()].sort(), ['client/index.js', 'console.css', 'js/main.js']);
      assert.equal(assets.page.type, 'text/html; charset=utf-8');
    } finally {
      rmSync(dist, { recursive: true, force: true });
    }
  });
});
