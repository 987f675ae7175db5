// The SDK's HTTPS client against local HTTPS servers with the test CA: JSON answers, a verified
// certificate (host name included), and every way a server can misbehave failing within the
// deadline as the right SDK error.
import { createServer, type Server } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer as createTcpServer, type AddressInfo } from 'node:net';
import t, { type Test } from 'tap';
import { httpsJson, type HttpsJsonRequest } from '../../../src/plugins/sdk/https/index.js';
import { MfaCommunicationError, MfaServiceUnreachable } from '../../../src/plugins/sdk/index.js';
import { testPki, type ServerCertificate } from '../../fakes/tls.js';

const pki = testPki();

async function serve(t: Test, handler: (req: IncomingMessage, res: ServerResponse) => void, certificate: ServerCertificate = pki.local): Promise<number> {
  const server: Server = createServer(certificate, handler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => {
    server.closeAllConnections();
    return new Promise((resolve) => server.close(resolve));
  });
  return (server.address() as AddressInfo).port;
}

const get = (port: number, extra: Partial<HttpsJsonRequest> = {}) =>
  httpsJson({ method: 'GET', url: `https://127.0.0.1:${port}/x?y=1`, headers: {}, ca: pki.ca, timeoutMs: 1000, ...extra });

t.test('a JSON answer, with the request as sent', async (t) => {
  let seen: { method?: string; url?: string; body?: string; host?: string } = {};
  const port = await serve(t, (req, res) => {
    let body = '';
    req.on('data', (chunk) => (body += chunk));
    req.on('end', () => {
      seen = { method: req.method, url: req.url, body, host: req.headers.host };
      res.writeHead(201, { 'content-type': 'application/json; charset=utf-8' }).end('{"ok":true}');
    });
  });
  const response = await get(port, { method: 'POST', body: 'a=b' });
  t.equal(response.status, 201);
  t.same(response.json, { ok: true });
  t.same(seen, { method: 'POST', url: '/x?y=1', body: 'a=b', host: `127.0.0.1:${port}` });
  const byName = await httpsJson({ method: 'GET', url: `https://localhost:${port}/`, headers: {}, ca: pki.ca, timeoutMs: 1000 });
  t.equal(byName.status, 201, 'a DNS name of the certificate');
});

t.test('protocol problems are communication errors', async (t) => {
  const cases: [string, (res: ServerResponse) => void, RegExp][] = [
    ['redirect', (res) => res.writeHead(302, { location: 'https://evil.example/' }).end(), /HTTP 302 redirect to https:\/\/evil\.example\/ not followed/],
    ['wrong type', (res) => res.writeHead(200, { 'content-type': 'text/html' }).end('<html>'), /content type "text\/html", not JSON/],
    ['no type', (res) => res.writeHead(200).end('{}'), /content type "", not JSON/],
    ['malformed', (res) => res.writeHead(200, { 'content-type': 'application/json' }).end('{"a":'), /malformed JSON/],
    ['declared too big', (res) => res.writeHead(200, { 'content-type': 'application/json', 'content-length': '2000' }).end('x'.repeat(2000)), /larger than 1000 bytes/],
    [
      'streamed too big',
      (res) => {
        res.writeHead(200, { 'content-type': 'application/json' });
        for (let i = 0; i < 5; i++) res.write('x'.repeat(300));
        res.end();
      },
      /larger than 1000 bytes/,
    ],
  ];
  for (const [name, answer, message] of cases) {
    const port = await serve(t, (_req, res) => answer(res));
    await t.rejects(get(port, { maxBytes: 1000 }), new MfaCommunicationError(), name);
    await t.rejects(get(port, { maxBytes: 1000 }), message, name);
  }
});

t.test('a trickling body is cut at the deadline: communication error', async (t) => {
  const port = await serve(t, (_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' }).write('{');
    const drip = setInterval(() => res.write(' '), 50);
    res.once('close', () => clearInterval(drip));
  });
  const started = performance.now();
  await t.rejects(get(port, { timeoutMs: 500 }), { name: 'MfaCommunicationError', message: /response not complete within 500 ms/ });
  t.ok(performance.now() - started < 800);
});

t.test('no answer is an outage: refused, dropped, silent, 5xx', async (t) => {
  const closed = await serve(t, () => undefined);
  const refusedPort = await new Promise<number>((resolve) => {
    const probe = createTcpServer().listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as AddressInfo;
      probe.close(() => resolve(port));
    });
  });
  await t.rejects(get(refusedPort), { name: 'MfaServiceUnreachable', message: /ECONNREFUSED/ });
  const dropping = await serve(t, (req) => req.socket.destroy());
  await t.rejects(get(dropping), new MfaServiceUnreachable());
  const started = performance.now();
  await t.rejects(get(closed, { timeoutMs: 300 }), { name: 'MfaServiceUnreachable', message: /no response within 300 ms/ });
  t.ok(performance.now() - started < 600);
  const unavailable = await serve(t, (_req, res) => res.writeHead(503, { 'content-type': 'text/html' }).end('<html>'));
  await t.rejects(get(unavailable), { name: 'MfaServiceUnreachable', message: /HTTP 503/ });
  const silentTcp = createTcpServer(() => undefined).listen(0, '127.0.0.1');
  await new Promise((resolve) => silentTcp.once('listening', resolve));
  t.teardown(() => silentTcp.close());
  await t.rejects(get((silentTcp.address() as AddressInfo).port, { timeoutMs: 300 }), { name: 'MfaServiceUnreachable', message: /no response/ }, 'no TLS handshake');
});

t.test('certificates: verified against the given CA, host name included; a failure is no outage', async (t) => {
  const mismatch = await serve(t, (_req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end('{}'), pki.other);
  await t.rejects(get(mismatch), { name: 'MfaCommunicationError', message: /certificate not trusted: .*127\.0\.0\.1/ });
  const port = await serve(t, (_req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end('{}'));
  await t.rejects(get(port, { ca: pki.foreignCa }), { name: 'MfaCommunicationError', message: /certificate not trusted/ });
  await t.rejects(get(port, { ca: undefined }), { name: 'MfaCommunicationError', message: /certificate not trusted/ }, 'the system store does not know the test CA');
});

t.test('the caller can abort', async (t) => {
  const port = await serve(t, () => undefined);
  const controller = new AbortController();
  setTimeout(() => controller.abort(new Error('gave up')), 100);
  await t.rejects(get(port, { signal: controller.signal, timeoutMs: 5000 }), /gave up/);
  await t.rejects(httpsJson({ method: 'GET', url: 'http://127.0.0.1/', headers: {}, timeoutMs: 100 }), TypeError);
});
