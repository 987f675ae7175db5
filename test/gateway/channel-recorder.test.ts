// The channel recorder's failure path: a recording that cannot be written is abandoned with a
// recording-failed event, never throws into the relay, and stops the channel only when the policy says so.
import { generateKeyPairSync } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { describeRecordingKey } from '../../src/audit/recording/signing-key.js';
import { verifyRecording } from '../../src/audit/recording/verify.js';
import { ConnectionRecord } from '../../src/gateway/connection-record.js';
import { SessionRecordings, type RecordingSettings, type RecordingStore } from '../../src/gateway/ssh/channel-recorder.js';
import { AuditLog } from '../../src/log/events/audit-log.js';
import type { AuditEntry } from '../../src/log/events/entry.js';
import { createLogger } from '../../src/log/logger.js';

const key = describeRecordingKey(generateKeyPairSync('ed25519').privateKey.export({ type: 'pkcs8', format: 'pem' }) as string);

function setup(directory: string, settings: Partial<RecordingSettings> = {}, signer: RecordingStore['signer'] = key) {
  const events: AuditEntry[] = [];
  const log = createLogger('silent');
  const audit = new AuditLog(log, { append: (entry) => events.push(entry) }).child(log, { sessionId: 'abc123', clientIp: '127.0.0.1' });
  const record = new ConnectionRecord(audit, '127.0.0.1', 40000, 'test', 'abc123');
  record.gatewayUser = 'alice';
  const recordings = new SessionRecordings({ directory, signer }, { enabled: true, terminalOnly: true, recordInput: false, onFailure: 'continue', ...settings }, 'abc123', record, audit, log);
  return { events, record, recordings };
}

t.test('channels are numbered and signed when they close', async (t) => {
  const dir = t.testdir();
  const { recordings, events, record } = setup(dir);
  for (const n of [1, 2]) {
    const recorder = recordings.open({ cols: 0, rows: 0, interactive: true }, () => t.fail('not stopped'));
    t.ok(recorder);
    recorder?.output(Buffer.from(`out ${n}\n`));
    recorder?.resize(100, 30);
    recorder?.close();
    recorder?.output(Buffer.from('after close: ignored'));
    t.match(await verifyRecording(join(dir, `abc123-${n}`), key.publicKey), { status: 'intact', chunks: 1 });
  }
  const header = JSON.parse(readFileSync(join(dir, 'abc123-1.cast'), 'utf8').split('\n')[0]!);
  t.match(header, { width: 80, height: 24, title: 'abc123-1' });
  t.notOk(readFileSync(join(dir, 'abc123-1.cast'), 'utf8').includes('ignored'));
  record.close();
  t.match(events.find((e) => e.eventId === 'session-ended')?.fields, { recording: 'abc123-1,abc123-2' });
});

t.test('disabled: nothing is recorded; terminalOnly (the default) skips commands without a terminal', async (t) => {
  const { recordings } = setup(t.testdir(), { enabled: false });
  t.equal(recordings.open({ cols: 80, rows: 24, interactive: true }, () => undefined), undefined);
  const dir = t.testdir({ a: {}, b: {} });
  const terminalOnly = setup(join(dir, 'a')).recordings;
  t.equal(terminalOnly.open({ cols: 0, rows: 0, interactive: false }, () => undefined), undefined, 'a plain exec is not recorded');
  t.ok(terminalOnly.open({ cols: 0, rows: 0, interactive: true }, () => undefined), 'a terminal is');
  const everything = setup(join(dir, 'b'), { terminalOnly: false }).recordings;
  t.ok(everything.open({ cols: 0, rows: 0, interactive: false }, () => undefined), 'terminalOnly false records a plain exec too');
});

t.test('a recording that cannot be created is reported; continue keeps the channel', async (t) => {
  const { recordings, events } = setup(join(t.testdir(), 'missing'));
  let stopped = 0;
  t.equal(recordings.open({ cols: 80, rows: 24, interactive: true }, () => stopped++), undefined);
  t.equal(stopped, 0);
  t.match(events.find((e) => e.eventId === 'recording-failed'), { severity: 'error', fields: { sessionId: 'abc123', clientIp: '127.0.0.1', gatewayUser: 'alice', recording: 'abc123-1', reason: /ENOENT/ } });
});

t.test('a write that fails is caught, the file abandoned, and close-session stops the channel', async (t) => {
  const dir = t.testdir();
  // A signer that cannot sign: close() throws inside the recorder, as a full disk would.
  const broken = { privateKey: generateKeyPairSync('x25519').privateKey, fingerprint: key.fingerprint };
  const { recordings, events } = setup(dir, { onFailure: 'close-session' }, broken);
  let stopped = 0;
  const recorder = recordings.open({ cols: 80, rows: 24, term: 'xterm', interactive: true }, () => stopped++);
  recorder?.output(Buffer.from('hello\n'));
  t.doesNotThrow(() => recorder?.close());
  t.doesNotThrow(() => recorder?.output(Buffer.from('more')));
  t.equal(stopped, 1, 'the channel is stopped once');
  t.equal(events.filter((e) => e.eventId === 'recording-failed').length, 1);
  t.notOk(existsSync(join(dir, 'abc123-1.sig')));
  t.match(await verifyRecording(join(dir, 'abc123-1'), key.publicKey), { status: 'unfinished', chunks: 1 });
});
