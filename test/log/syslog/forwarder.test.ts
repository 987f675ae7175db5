// The syslog forwarder against real receivers (rsyslog, syslog-ng) on loopback: three targets with three
// formats at once, mutual TLS, and the bad cases: certificate mismatch, unresolvable host, a receiver that
// never reads, hostile bytes in a username.
import { readFileSync } from 'node:fs';
import t from 'tap';
import { startRsyslog } from '../../helpers/rsyslog.js';
import { startSyslogNg } from '../../helpers/syslog-ng.js';
import { parseRfc5424 } from './parse.js';
import { deliveryReport, sequenceIds, startPipeline, startStalledReceiver, waitUntil } from './helpers.js';

// A username as a client can send it: a newline (a forged second line), NUL, a quote and bracket that
// would end an SD value, and bytes that are not UTF-8 (decoded by ssh2 to U+FFFD or lone surrogates).
const hostile = 'eve\n<13>1 2026-01-01T00:00:00Z forged - - - -\0"]\\\u0085\uFFFD\uD800';
const hostileReadBack = hostile.replace('\uD800', '\uFFFD');

t.test('three targets at once, each with its own format and transport, one line per event', async (t) => {
  const rx = await startRsyslog();
  t.teardown(() => rx.close());
  const ca = readFileSync(rx.caFile);
  const pipeline = startPipeline(t, t.testdir(), [
    { name: 'udp', format: 'rfc5424', endpoint: { host: '127.0.0.1', port: rx.udpPort, transport: 'udp' } },
    { name: 'tcp', format: 'json', endpoint: { host: '127.0.0.1', port: rx.tcpPort, transport: 'tcp' } },
    { name: 'tls', format: 'cef', endpoint: { host: '127.0.0.1', port: rx.tlsPort, transport: 'tls', tls: { ca } } },
  ]);
  await waitUntil('three connections', () => pipeline.forwarder.status().every((s) => s.connected));
  pipeline.audit.emit('login-failed', { gatewayUser: hostile, clientIp: '127.0.0.1', reason: 'unknown user', method: 'password', backend: 'local', failures: 1 });
  pipeline.audit.emit('config-committed', { version: 7, author: 'root', origin: 'console', change: 'apply', message: 'a message with = and | and \\' });
  pipeline.audit.pluginLine('totp', 'log', 'warning', 'no TOTP seed for alice');
  const messages = await rx.waitFor(9);
  t.equal(messages.length, 9, 'three events × three targets, no extra line from the newline');

  const rfc = messages.filter((m) => m.includes('[gatehouse@32473'));
  const json = messages.filter((m) => m.includes('{"time"'));
  const cef = messages.filter((m) => m.includes('CEF:0|'));
  t.equal(rfc.length, 3);
  t.equal(json.length, 3);
  t.equal(cef.length, 3);

  const login = parseRfc5424(rfc.find((m) => m.includes(' login-failed '))!);
  t.equal(login.header[0], '<84>1', 'authpriv.warning');
  t.equal(login.header[5], 'login-failed', 'MSGID is the event id');
  const fields = Object.fromEntries(login.sd.find((e) => e.id === 'gatehouse@32473')!.params);
  t.equal(fields.gatewayUser, hostileReadBack, 'the username reads back exactly, a lone surrogate made U+FFFD');
  t.equal(fields.source, 'gateway');
  t.equal(login.msg, '\uFEFFgateway login failed');
  t.notMatch(rfc.join(''), /\0/);

  const jsonLogin = JSON.parse(json.find((m) => m.includes('"login-failed"'))!.split('\uFEFF')[1]!) as { fields: { gatewayUser: string }; sequence: number };
  t.equal(jsonLogin.fields.gatewayUser, hostileReadBack, 'JSON body parses and keeps the username');

  const plugin = cef.find((m) => m.includes('plugin-log'))!;
  t.match(plugin, /\|plugin-log\|plugin:totp: no TOTP seed for alice\|5\|/, 'plugin lines are tagged plugin:<name>');
  t.match(plugin, /source=plugin:totp/);

  for (const format of [rfc, json, cef]) t.same(sequenceIds(format).sort(), [1, 2, 3], 'sequenceId in every format');
});

t.test('mutual TLS: with the client certificate events arrive; without it the target is down and nothing is sent', async (t) => {
  const rx = await startRsyslog({ clientCertificates: true });
  t.teardown(() => rx.close());
  const ca = readFileSync(rx.caFile);
  const withCert = startPipeline(t, t.testdir(), [
    { name: 'mtls', endpoint: { host: '127.0.0.1', port: rx.tlsPort, transport: 'tls', tls: { ca, cert: readFileSync(rx.clientCert), key: readFileSync(rx.clientKey) } } },
  ]);
  await waitUntil('connection', () => withCert.forwarder.status()[0]!.connected);
  withCert.audit.emit('appliance-sealed', { author: 'root', origin: 'console' });
  await rx.waitFor(1);
  await withCert.close();

  const dir = t.testdir();
  const without = startPipeline(t, `${dir}/b`, [{ name: 'mtls', endpoint: { host: '127.0.0.1', port: rx.tlsPort, transport: 'tls', tls: { ca } } }]);
  without.audit.emit('appliance-unsealed', { author: 'root', origin: 'console' });
  await waitUntil('the target reported down', () => without.journal.lastSeq >= 2);
  await new Promise((resolve) => setTimeout(resolve, 1000));
  t.equal(rx.messages().length, 1, 'nothing reached the receiver without a client certificate');
  t.ok(without.forwarder.status()[0]!.backlog >= 1, 'the event waits in the journal');
});

t.test('bad targets: certificate for another name, unresolvable host, closed port; events wait, each failure is an event', async (t) => {
  const rx = await startRsyslog();
  t.teardown(() => rx.close());
  const ca = readFileSync(rx.caFile);
  const pipeline = startPipeline(t, t.testdir(), [
    { name: 'mismatch', endpoint: { host: '127.0.0.1', port: rx.tlsPort, transport: 'tls', tls: { ca, servername: 'siem.example' } } },
    { name: 'nowhere', endpoint: { host: 'no-such-host.invalid', port: 6514, transport: 'tcp' } },
    { name: 'nowhere-udp', endpoint: { host: 'no-such-host.invalid', port: 514, transport: 'udp' } },
  ]);
  pipeline.audit.emit('gateway-started', { version: 'test', configVersion: 1, listeners: 1, syslogTargets: 3 });
  const downs = (): { target: string; reason: string }[] =>
    pipeline.journal
      .reader(1)
      .read(100)
      .entries.filter((e) => e.eventId === 'syslog-target-down')
      .map((e) => ({ target: String(e.fields.target), reason: String(e.fields.reason) }));
  await waitUntil('three targets reported down', () => downs().length === 3);
  const reasons = Object.fromEntries(downs().map((d) => [d.target, d.reason]));
  t.match(reasons.mismatch, /siem\.example|altname|certificate/i, 'TLS: the certificate does not name the target');
  t.match(reasons.nowhere, /ENOTFOUND|EAI_AGAIN/);
  t.match(reasons['nowhere-udp'], /ENOTFOUND|EAI_AGAIN/);
  await new Promise((resolve) => setTimeout(resolve, 1500));
  t.equal(downs().length, 3, 'a target that stays down is reported once, not at every retry');
  t.equal(rx.messages().length, 0, 'no plaintext fallback, nothing sent to an unverified receiver');
  for (const status of pipeline.forwarder.status()) t.ok(status.backlog >= 1, `${status.target}: events kept`);
});

t.test('a receiver that accepts and never reads: appends never wait, the backlog stays on disk, close still returns', async (t) => {
  const { port } = await startStalledReceiver(t);
  const pipeline = startPipeline(t, t.testdir(), [{ name: 'stalled', endpoint: { host: '127.0.0.1', port, transport: 'tcp' } }]);
  await waitUntil('connection', () => pipeline.forwarder.status()[0]!.connected);
  for (let i = 0; i < 200_000; i++) {
    pipeline.audit.emit('login-failed', { gatewayUser: `user${i}`, clientIp: '192.0.2.1', reason: 'wrong password', method: 'password', backend: 'local', failures: 1 });
    if (i % 10_000 === 0) await new Promise((resolve) => setImmediate(resolve));
  }
  await new Promise((resolve) => setTimeout(resolve, 500));
  const status = pipeline.forwarder.status()[0]!;
  t.equal(pipeline.journal.lastSeq, 200_000, 'every event went to the journal');
  t.ok(status.backlog > 100_000, `the stalled target holds back ${status.backlog} events, in the journal not in memory`);
  await pipeline.close();
  t.equal(pipeline.forwarder.status()[0]!.connected, false, 'close returned although the receiver never read');
});

t.test('syslog-ng: octet-counted TCP, events in order', async (t) => {
  const rx = await startSyslogNg();
  t.teardown(() => rx.close());
  const pipeline = startPipeline(t, t.testdir(), [{ name: 'ng', endpoint: { host: '127.0.0.1', port: rx.tcpPort, transport: 'tcp' } }]);
  await waitUntil('connection', () => pipeline.forwarder.status()[0]!.connected);
  for (let i = 0; i < 2000; i++) pipeline.audit.emit('session-started', { sessionId: `s${i}`, clientIp: '192.0.2.7', gatewayUser: hostile, target: '10.0.0.1:22', policy: 'default' });
  const messages = await rx.waitFor(2000, 20_000);
  const report = deliveryReport(sequenceIds(messages), 1, 2000);
  t.same(report, { missing: [], duplicates: 0, outOfOrder: 0 });
  t.equal(Object.fromEntries(parseRfc5424(messages[0]!).sd[0]!.params).gatewayUser, hostileReadBack);
});
