// The event catalogue's names fit every wire format, and no field is named for a secret; AuditLog
// writes each event to the log and to its sink with exactly the catalogue's fields.
import t from 'tap';
import { AuditLog } from '../../../src/log/events/audit-log.js';
import { AUDIT_EVENTS, isAuditEventId } from '../../../src/log/events/catalogue.js';
import type { AuditEntry } from '../../../src/log/events/entry.js';
import { captureLog, levels } from '../../aa/sandbox/helpers/plain-sandbox.js';

// RFC 5424 §6.3.3: SD-NAME = 1*32PRINTUSASCII except '=', SP, ']', '"'. CEF extension keys: letters, digits, '_'.
const paramName = /^[\x21-\x7e]{1,32}$/;
const sdForbidden = /[= \]"]/;
const cefKey = /^[A-Za-z0-9_]+$/;
// "fingerprint" names a public key's hash, which is what an admin compares: allowed, as every name holding "key" would not be.
const secretLike = /password|passphrase|passwd|otp|seed|secret|token|key|credential(?!Store)|cookie|answer/i;
const allowedNames = new Set(['fingerprint', 'expectedFingerprints']);

t.test('every event id and field name fits RFC 5424 and CEF, and none looks like a secret', async (t) => {
  const ids = Object.keys(AUDIT_EVENTS);
  t.ok(ids.length >= 30, 'the catalogue covers the appliance');
  for (const [id, definition] of Object.entries(AUDIT_EVENTS)) {
    t.match(id, /^[a-z]+(-[a-z0-9]+)*$/, `${id}: kebab-case`);
    t.ok(paramName.test(id) && !sdForbidden.test(id), `${id}: a valid MSGID / SD-NAME`);
    t.ok(isAuditEventId(id));
    t.equal(new Set(definition.fields).size, definition.fields.length, `${id}: no field twice`);
    t.ok(definition.name.length > 0 && !/[\r\n]/.test(definition.name), `${id}: a one-line name`);
    for (const field of definition.fields as readonly string[]) {
      t.ok(paramName.test(field) && !sdForbidden.test(field), `${id}.${field}: a valid PARAM-NAME`);
      t.match(field, cefKey, `${id}.${field}: a valid CEF key`);
      t.notOk(['event', 'msg', 'level', 'time'].includes(field), `${id}.${field}: not a name the log line uses itself`);
      if (!allowedNames.has(field)) t.notMatch(field, secretLike, `${id}.${field}: not named like a secret`);
    }
  }
  t.notOk(isAuditEventId('toString'), 'inherited names are not ids');
});

function capture(): { audit: AuditLog; entries: AuditEntry[]; lines: ReturnType<typeof captureLog>['lines'] } {
  const { log, lines } = captureLog();
  const entries: AuditEntry[] = [];
  return { audit: new AuditLog(log, { append: (entry) => void entries.push(entry) }), entries, lines };
}

t.test('emit: the catalogue fields, absent ones null, context filled in, at the severity level', async (t) => {
  const { audit, entries, lines } = capture();
  const connection = audit.child(captureLog().log, { sessionId: 'abc123', clientIp: '192.0.2.1' });
  audit.emit('rate-limit-refused', { clientIp: '198.51.100.9', retryAfterMs: 5000 });
  connection.emit('login-failed', { gatewayUser: 'alice', reason: 'wrong-password', failures: 2 });
  connection.emit('connection-refused', { reason: 'busy' });

  t.match(lines[0], { level: levels.warn, event: 'rate-limit-refused', clientIp: '198.51.100.9', retryAfterMs: 5000, msg: AUDIT_EVENTS['rate-limit-refused'].name });
  t.equal(lines.length, 1, 'the child writes to its own logger');
  t.same(entries[0]?.fields, { clientIp: '198.51.100.9', retryAfterMs: 5000 });
  t.match(entries[0], { eventId: 'rate-limit-refused', severity: 'warning', source: 'gateway', name: 'connection from a locked-out client IP refused' });
  t.ok(entries[0]?.time instanceof Date);

  t.same(Object.keys(entries[1]!.fields), AUDIT_EVENTS['login-failed'].fields, 'exactly the catalogue fields, in order');
  t.same(entries[1]!.fields, { sessionId: 'abc123', clientIp: '192.0.2.1', gatewayUser: 'alice', method: null, backend: null, reason: 'wrong-password', detail: null, failures: 2 });
  t.same(entries[2]!.fields, { clientIp: '192.0.2.1', reason: 'busy' }, 'context only where the catalogue lists the field');
  t.notOk('sessionId' in entries[2]!.fields);

  const explicit = audit.child(captureLog().log, { clientIp: '192.0.2.1' });
  explicit.emit('connection-refused', { clientIp: '203.0.113.5' });
  t.equal(entries[3]!.fields.clientIp, '203.0.113.5', 'a given field wins over the context');
});

t.test('emit: each severity at its pino level; a CLI source; no sink is fine', async (t) => {
  const { log, lines } = captureLog();
  const entries: AuditEntry[] = [];
  const cli = new AuditLog(log, { append: (entry) => void entries.push(entry) }, 'cli');
  cli.emit('config-committed', { version: 3, author: 'root', origin: 'console', change: 'apply', message: 'hello' });
  cli.emit('credential-store-failure', { operation: 'unlock', reason: 'wrong passphrase' });
  cli.emit('login-succeeded', { gatewayUser: 'bob' });
  t.same(lines.map((l) => l.level), [levels.info, levels.error, levels.info], 'notice and info are info, error is error');
  t.same(entries.map((e) => [e.source, e.severity]), [['cli', 'notice'], ['cli', 'error'], ['cli', 'info']]);

  const { log: quiet, lines: quietLines } = captureLog();
  new AuditLog(quiet, undefined).emit('gateway-stopping', { signal: 'SIGTERM' });
  t.match(quietLines, [{ event: 'gateway-stopping', signal: 'SIGTERM', msg: 'gateway stopping' }]);
});

t.test('pluginLine: tagged plugin:<name>, its level mapped, its text after the tag', async (t) => {
  const { audit, entries, lines } = capture();
  audit.pluginLine('totp', 'log', 'WARNING', 'seed file missing for alice');
  audit.pluginLine('duo', 'stderr', 'nonsense', 'x');
  audit.pluginLine('duo', 'stdout', 'critical', 'y');
  t.match(entries, [
    { eventId: 'plugin-log', source: 'plugin:totp', severity: 'warning', name: 'plugin:totp: seed file missing for alice', fields: { plugin: 'totp', stream: 'log' } },
    { source: 'plugin:duo', severity: 'info', name: 'plugin:duo: x', fields: { plugin: 'duo', stream: 'stderr' } },
    { source: 'plugin:duo', severity: 'critical' },
  ]);
  t.match(lines, [{ level: levels.warn, event: 'plugin-log', plugin: 'totp', msg: 'plugin:totp: seed file missing for alice' }, { level: levels.info }, { level: 60 }]);
  t.ok(entries.every((e) => e.name.startsWith(`${e.source}: `)));
  for (const level of ['constructor', '__proto__', 'toString', 'hasOwnProperty']) audit.pluginLine('odd', 'log', level, level);
  t.same(entries.slice(3).map((e) => e.severity), ['info', 'info', 'info', 'info'], 'level names of Object.prototype are unknown levels');
});
