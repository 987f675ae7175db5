// The real syslog receivers of the forwarder tests, fed hand-made frames: each transport delivers a
// message byte for byte (BOM and SD escapes included), rsyslog stops and starts on the same ports,
// and its mutual TLS mode refuses a client without a certificate.
import { createSocket } from 'node:dgram';
import { readFileSync } from 'node:fs';
import net from 'node:net';
import tls from 'node:tls';
import t from 'tap';
import { canConnect } from '../e2e/helpers/ports.js';
import { startRsyslog, type SyslogReceiver } from './rsyslog.js';
import { startSyslogNg } from './syslog-ng.js';

const message = (msgid: string): string =>
  `<86>1 2026-11-22T10:00:00.000Z gatehouse gatehouse - ${msgid} [gatehouse@32473 gatewayUser="a\\"b\\]c"][meta sequenceId="7"] \uFEFFgateway login failed`;

/** RFC 6587 octet counting: `MSG-LEN SP SYSLOG-MSG`. */
const octetCounted = (text: string): Buffer => {
  const bytes = Buffer.from(text, 'utf8');
  return Buffer.concat([Buffer.from(`${bytes.length} `), bytes]);
};

function sendUdp(port: number, text: string): Promise<void> {
  const socket = createSocket('udp4');
  return new Promise((resolve, reject) => socket.send(Buffer.from(text, 'utf8'), port, '127.0.0.1', (err) => {
    socket.close();
    if (err) reject(err);
    else resolve();
  }));
}

function sendTcp(port: number, text: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: '127.0.0.1', port }, () => socket.end(octetCounted(text)));
    socket.once('error', reject).once('close', () => resolve());
  });
}

/** Sends one frame over TLS (verifying the server against `caFile`); resolves with whether the server closed cleanly. */
function sendTls(receiver: SyslogReceiver, text: string, withClientCertificate = false): Promise<{ error?: Error }> {
  return new Promise((resolve) => {
    const socket = tls.connect({
      host: '127.0.0.1',
      port: receiver.tlsPort,
      ca: readFileSync(receiver.caFile),
      ...(withClientCertificate ? { cert: readFileSync(receiver.clientCert), key: readFileSync(receiver.clientKey) } : {}),
    });
    let error: Error | undefined;
    // With TLS 1.3 the client finishes its handshake before the server checked the client's
    // certificate: a refusal shows as a reset or alert after the first write.
    socket.once('secureConnect', () => socket.write(octetCounted(text), () => setTimeout(() => socket.end(), 100)));
    socket.on('error', (err) => (error = err));
    socket.once('close', () => resolve(error ? { error } : {}));
  });
}

t.test('rsyslog receives each transport byte for byte, and stops and starts on the same ports', async (t) => {
  const rsyslog = await startRsyslog();
  t.teardown(() => rsyslog.close());

  await sendUdp(rsyslog.udpPort, message('udp'));
  await rsyslog.waitFor(1);
  await sendTcp(rsyslog.tcpPort, message('tcp'));
  await rsyslog.waitFor(2);
  t.same(await sendTls(rsyslog, message('tls')), {});
  const received = await rsyslog.waitFor(3);
  t.same(received.map((line) => Buffer.from(line, 'utf8')), ['udp', 'tcp', 'tls'].map((id) => Buffer.from(message(id), 'utf8')));

  await rsyslog.stop();
  t.equal(await canConnect(rsyslog.tcpPort), false, 'TCP listener down after stop()');
  t.equal(await canConnect(rsyslog.tlsPort), false, 'TLS listener down after stop()');
  await rsyslog.start();
  await sendTcp(rsyslog.tcpPort, message('after-restart'));
  t.same((await rsyslog.waitFor(4)).slice(3), [message('after-restart')], 'appended after the earlier messages');
});

t.test('rsyslog with client certificates refuses a client without one', async (t) => {
  const rsyslog = await startRsyslog({ clientCertificates: true });
  t.teardown(() => rsyslog.close());

  const refused = await sendTls(rsyslog, message('no-certificate'));
  t.ok(refused.error, `refused: ${refused.error?.message ?? 'no error'}`);
  t.same(await sendTls(rsyslog, message('client-certificate'), true), {});
  t.same(await rsyslog.waitFor(1), [message('client-certificate')]);
  t.match(rsyslog.logs(), /did not provide a certificate/);
});

t.test('syslog-ng receives octet-counted TCP and TLS byte for byte', async (t) => {
  const syslogNg = await startSyslogNg();
  t.teardown(() => syslogNg.close());

  await sendTcp(syslogNg.tcpPort, message('tcp'));
  await syslogNg.waitFor(1);
  t.same(await sendTls(syslogNg, message('tls')), {});
  await syslogNg.waitFor(2);
  await sendUdp(syslogNg.udpPort, message('udp'));
  const received = await syslogNg.waitFor(3);
  t.same(received.map((line) => Buffer.from(line, 'utf8')), ['tcp', 'tls', 'udp'].map((id) => Buffer.from(message(id), 'utf8')));

  await syslogNg.stop();
  t.equal(await canConnect(syslogNg.tcpPort), false, 'TCP listener down after stop()');
  await syslogNg.start();
  await sendTcp(syslogNg.tcpPort, message('after-restart'));
  t.same((await syslogNg.waitFor(4)).slice(3), [message('after-restart')]);
});
