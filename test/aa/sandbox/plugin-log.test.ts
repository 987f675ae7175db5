import t from 'tap';
import { PluginLog } from '../../../src/aa/sandbox/plugin-log.js';
import { AuditLog } from '../../../src/log/events/audit-log.js';
import type { AuditEntry } from '../../../src/log/events/entry.js';
import { captureLog, levels } from './helpers/plain-sandbox.js';

t.test('lines go to the audit log tagged plugin:<name>, with their stream and level', async (t) => {
  const { log, lines } = captureLog();
  const entries: AuditEntry[] = [];
  const output = new PluginLog(new AuditLog(log, { append: (entry) => void entries.push(entry) }), 'totp', log.child({ plugin: 'totp' }), 20, 100);
  output.line('log', 'hello', 'warning');
  output.line('log', 'odd level', 'constructor');
  output.line('stdout', 'printed');
  output.line('stderr', 'complained');
  output.line('log', 'x'.repeat(30), 'ERROR');
  t.match(lines, [
    { event: 'plugin-log', plugin: 'totp', stream: 'log', level: levels.warn, msg: 'plugin:totp: hello' },
    { event: 'plugin-log', plugin: 'totp', stream: 'log', level: levels.info, msg: 'plugin:totp: odd level' },
    { event: 'plugin-log', plugin: 'totp', stream: 'stdout', level: levels.info, msg: 'plugin:totp: printed' },
    { event: 'plugin-log', plugin: 'totp', stream: 'stderr', level: levels.warn, msg: 'plugin:totp: complained' },
    { event: 'plugin-log', plugin: 'totp', stream: 'log', level: levels.error, msg: `plugin:totp: ${'x'.repeat(20)}…` },
  ]);
  t.match(entries, [
    { eventId: 'plugin-log', source: 'plugin:totp', severity: 'warning', name: 'plugin:totp: hello', fields: { plugin: 'totp', stream: 'log' } },
    { severity: 'info', name: 'plugin:totp: odd level' },
    { severity: 'info', fields: { stream: 'stdout' } },
    { severity: 'warning', fields: { stream: 'stderr' } },
    { severity: 'error' },
  ]);
});

t.test('lines over the rate are dropped and counted', async (t) => {
  const { log, lines } = captureLog();
  const output = new PluginLog(new AuditLog(log, undefined), 'totp', log, 100, 10);
  for (let i = 0; i < 25; i++) output.line('stdout', `line ${i}`);
  output.flush();
  t.equal(lines.length, 11);
  t.match(lines[10], { source: 'sandbox', suppressed: 15, level: levels.warn });
});
