// Issue 7's reliability case: 100,000 events to a real rsyslog over TCP and TLS while the receiver is
// stopped for 60 s in the middle of the stream. Every event must arrive, in order; a repeat is allowed
// only as a resend, recognisable by its sequenceId.
import { readFileSync } from 'node:fs';
import t from 'tap';
import { startRsyslog } from '../../helpers/rsyslog.js';
import { deliveryReport, sequenceIds, startPipeline, waitUntil } from './helpers.js';

const TOTAL = 100_000;
const OUTAGE_MS = 60_000;

t.test('100,000 events, receiver down for 60 s mid-stream: all delivered, in order, repeats only as marked resends', async (t) => {
  const rx = await startRsyslog();
  t.teardown(() => rx.close());
  const pipeline = startPipeline(t, t.testdir(), [
    { name: 'tcp', format: 'rfc5424', endpoint: { host: '127.0.0.1', port: rx.tcpPort, transport: 'tcp' } },
    { name: 'tls', format: 'json', endpoint: { host: '127.0.0.1', port: rx.tlsPort, transport: 'tls', tls: { ca: readFileSync(rx.caFile) } } },
  ]);
  await waitUntil('both targets connected', () => pipeline.forwarder.status().every((s) => s.connected));

  let emitted = 0;
  const emit = async (count: number): Promise<void> => {
    for (let i = 0; i < count; i++) {
      emitted++;
      pipeline.audit.emit('session-ended', { sessionId: `s${emitted}`, clientIp: '192.0.2.10', gatewayUser: `user${emitted % 97}`, target: '10.0.0.5:22', result: 'ok', durationMs: emitted });
      if (emitted % 500 === 0) await new Promise((resolve) => setImmediate(resolve));
    }
  };

  await emit(40_000);
  // Stop the receiver while the stream is still flowing.
  await rx.stop();
  const stoppedAt = Date.now();
  // Events keep coming during the outage.
  while (Date.now() - stoppedAt < OUTAGE_MS) {
    if (emitted < 60_000) await emit(1_000);
    await new Promise((resolve) => setTimeout(resolve, 2_000));
  }
  const during = emitted - 40_000;
  await rx.start();
  await emit(TOTAL - emitted);

  const last = pipeline.journal.lastSeq;
  const isTcp = (m: string): boolean => m.includes('[gatehouse@32473');
  await waitUntil(
    'every event at both targets',
    () => {
      const messages = rx.messages();
      const tcp = new Set(sequenceIds(messages.filter(isTcp)));
      const tls = new Set(sequenceIds(messages.filter((m) => !isTcp(m))));
      return tcp.size >= last && tls.size >= last;
    },
    120_000,
  );
  const messages = rx.messages();
  const journal = pipeline.journal.reader(1).read(last + 10).entries;
  t.equal(journal.filter((e) => e.eventId === 'session-ended').length, TOTAL);
  t.ok(during >= 15_000, `${during} events were emitted while the receiver was down`);
  t.same(
    journal.filter((e) => e.eventId === 'syslog-target-down').map((e) => e.fields.target).sort(),
    ['tcp', 'tls'],
    'each target reported the outage once',
  );
  for (const [name, own] of [['tcp', messages.filter(isTcp)], ['tls', messages.filter((m) => !isTcp(m))]] as const) {
    const report = deliveryReport(sequenceIds(own), 1, last);
    t.same(report.missing, [], `${name}: nothing lost (${last} events)`);
    t.equal(report.outOfOrder, 0, `${name}: in order`);
    t.comment(`${name}: ${own.length} messages for ${last} events, ${report.duplicates} resent after the outage`);
  }
});
