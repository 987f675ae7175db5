// The SDK's HTTPS client through a real tinyproxy: CONNECT with and without Basic authentication,
// a proxy that refuses the port or the credentials, and no proxy at all — all outages.
import { createServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import t from 'tap';
import { httpsJson, type HttpsProxy } from '../../../src/plugins/sdk/https/index.js';
import { MfaServiceUnreachable } from '../../../src/plugins/sdk/index.js';
import { testPki } from '../../fakes/tls.js';
import { freeTcpPort, startTinyproxy } from '../../helpers/tinyproxy.js';

const pki = testPki();

t.test('through tinyproxy', async (t) => {
  const server = createServer(pki.local, (_req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end('{"via":"proxy"}'));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => new Promise((resolve) => server.close(resolve)));
  const port = (server.address() as AddressInfo).port;
  const get = (proxy: HttpsProxy, target = port) =>
    httpsJson({ method: 'GET', url: `https://127.0.0.1:${target}/`, headers: {}, ca: pki.ca, proxy, timeoutMs: 3000 });

  const open = await startTinyproxy(t, { connectPorts: [port] });
  t.same((await get({ host: open.host, port: open.port })).json, { via: 'proxy' });
  t.match(open.logs(), new RegExp(`CONNECT 127\\.0\\.0\\.1:${port}`), 'tinyproxy logged the tunnel');
  await t.rejects(get({ host: open.host, port: open.port }, port + 1), { name: 'MfaServiceUnreachable', message: /refused CONNECT 127\.0\.0\.1:\d+: 403/ }, 'a port ConnectPort does not allow');

  const guarded = await startTinyproxy(t, { connectPorts: [port], basicAuth: { username: 'gate', password: 'pw' } });
  t.same((await get({ host: guarded.host, port: guarded.port, username: 'gate', password: 'pw' })).json, { via: 'proxy' });
  await t.rejects(get({ host: guarded.host, port: guarded.port, username: 'gate', password: 'wrong' }), { name: 'MfaServiceUnreachable', message: /refused CONNECT .*: 401/ });
  await t.rejects(get({ host: guarded.host, port: guarded.port }), { name: 'MfaServiceUnreachable', message: /: 407/ });

  await t.rejects(get({ host: '127.0.0.1', port: await freeTcpPort() }), new MfaServiceUnreachable(), 'no proxy listening');
});
