import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { describe, test } from 'node:test';
import { ADMIN_TOKEN, buildTestApp } from '../helpers/app.js';

/** Sends raw bytes to a listening app and collects what comes back until the server closes. */
function raw(
  port: number,
  data: string,
  { endAfterMs = 5000 } = {},
): Promise<{ text: string; closedAfterMs: number }> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const socket = connect(port, '127.0.0.1', () => socket.write(data));
    let text = '';
    socket.on('data', (d: Buffer) => (text += d.toString()));
    socket.on('error', () => undefined);
    socket.on('close', () => resolve({ text, closedAfterMs: performance.now() - started }));
    setTimeout(() => {
      socket.destroy();
      reject(new Error(`still open after ${endAfterMs} ms; got: ${text.slice(0, 200)}`));
    }, endAfterMs).unref();
  });
}

/** The problem a raw answer carries: its status line, content type and code. */
function rawProblem(text: string): { status: number; type: string | undefined; code: unknown } {
  const [head = '', body = ''] = text.split('\r\n\r\n');
  const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(head)?.[1]);
  const type = /^content-type: (.*)$/im.exec(head)?.[1];
  // The connection is closed after it, and the answer says so.
  assert.match(head, /^connection: close$/im, head);
  return { status, type, code: (JSON.parse(body) as { code?: unknown }).code };
}

describe('limits', () => {
  test('a body over the limit is 413; a page over 1000 is 400 INVALID_PAGE; a path parameter over 100 characters is 414', async (t) => {
    const h = await buildTestApp(t, { bodyLimitBytes: 2048 });
    const big = await h.request({
      method: 'POST',
      url: '/admin/users',
      payload: { userid: 'x'.repeat(3000), iamid: 'i' },
    });
    assert.equal(big.statusCode, 413);
    assert.equal(big.json().code, 'PAYLOAD_TOO_LARGE');
    for (const url of [
      '/admin/users?size=1001',
      '/admin/audit?size=1001',
      '/admin/license/usage?size=1001',
      '/admin/users?size=0',
      '/admin/users?offset=-1',
    ]) {
      const res = await h.request({ method: 'GET', url });
      assert.equal(res.statusCode, 400, url);
      assert.equal(res.json().code, 'INVALID_PAGE');
    }
    assert.equal((await h.request({ method: 'GET', url: '/admin/users?size=1000' })).statusCode, 200);
    const long = await h.request({ method: 'DELETE', url: `/admin/license/${'1'.repeat(101)}` });
    assert.equal(long.statusCode, 414);
    assert.equal(long.json().code, 'URI_TOO_LONG');
    const badUrl = await h.request({ method: 'DELETE', url: '/admin/license/%ED%A0%80' });
    assert.equal(badUrl.statusCode, 400);
    assert.equal(badUrl.json().code, 'VALIDATION_FAILED');
  });

  test('headers over 16 KiB are refused with 431 and the connection closed', async (t) => {
    const h = await buildTestApp(t);
    await h.app.listen({ port: 0, host: '127.0.0.1' });
    const port = (h.app.server.address() as { port: number }).port;
    const res = await raw(
      port,
      `GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(17 * 1024)}\r\n\r\n`,
    );
    assert.deepEqual(rawProblem(res.text), {
      status: 431,
      type: 'application/problem+json',
      code: 'HEADERS_TOO_LARGE',
    });
  });

  test('a request that is not HTTP/1.1 is a 400 MALFORMED_REQUEST problem, and the connection closed', async (t) => {
    const h = await buildTestApp(t);
    await h.app.listen({ port: 0, host: '127.0.0.1' });
    const port = (h.app.server.address() as { port: number }).port;
    const post = (headers: string, body: string): string =>
      `POST /admin/users HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${ADMIN_TOKEN}\r\n${headers}\r\n\r\n${body}`;
    for (const [what, data] of [
      ['a request line that is not one', 'HELLO\r\n\r\n'],
      ['a header name with a space', 'GET /healthz HTTP/1.1\r\nHost: x\r\nBad Header: 1\r\n\r\n'],
      ['a target without a slash', 'GET healthz HTTP/1.1\r\nHost: x\r\n\r\n'],
      ['a length that is not a number', post('Content-Type: application/json\r\nContent-Length: abc', '{}')],
      [
        'both Content-Length and Transfer-Encoding',
        post(
          'Content-Type: application/json\r\nContent-Length: 2\r\nTransfer-Encoding: chunked',
          '2\r\n{}\r\n0\r\n\r\n',
        ),
      ],
      [
        'a chunk size that is not hex',
        post('Content-Type: application/json\r\nTransfer-Encoding: chunked', 'zz\r\n{}\r\n0\r\n\r\n'),
      ],
    ] as const) {
      const res = await raw(port, data);
      assert.deepEqual(
        rawProblem(res.text),
        { status: 400, type: 'application/problem+json', code: 'MALFORMED_REQUEST' },
        `${what}: ${res.text}`,
      );
    }
    // Nothing was created by any of them, and the server still answers.
    assert.equal((await h.request({ method: 'GET', url: '/admin/users' })).json().total, 0);
  });

  test('a request that does not arrive in time is cut with 408; an idle keep-alive connection is closed', async (t) => {
    const h = await buildTestApp(t, { requestTimeoutMs: 500, keepAliveTimeoutMs: 300 });
    await h.app.listen({ port: 0, host: '127.0.0.1' });
    const port = (h.app.server.address() as { port: number }).port;
    // Headers sent, body promised but never sent: a slow-loris client.
    const slow = await raw(
      port,
      `POST /admin/users HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${ADMIN_TOKEN}\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{`,
    );
    assert.deepEqual(rawProblem(slow.text), {
      status: 408,
      type: 'application/problem+json',
      code: 'REQUEST_TIMEOUT',
    });
    assert.ok(slow.closedAfterMs < 3000, `closed after ${Math.round(slow.closedAfterMs)} ms`);
    // A complete request, then silence: the server closes the idle connection.
    const idle = await raw(port, 'GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n');
    assert.match(idle.text, /^HTTP\/1\.1 200/);
    assert.ok(idle.closedAfterMs < 3000, `idle connection closed after ${Math.round(idle.closedAfterMs)} ms`);
  });
});
