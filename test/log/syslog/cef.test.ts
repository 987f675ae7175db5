// CEF formatting and escaping.
import t from 'tap';
import { formatCef } from '../../../src/log/syslog/cef.js';
import type { AuditRecord } from '../../../src/log/syslog/record.js';

const device = { vendor: 'Gatehouse', product: 'Gateway', version: '0.1.0' };
const record: AuditRecord = {
  eventId: 'login-failed', name: 'Login failed', severity: 'warning', time: new Date(1700000000123),
  fields: { suser: 'bob', attempts: 3, mfa: false, target: null }, sequence: 7,
};

t.test('a plain record', async (t) => {
  t.equal(formatCef(record, device), 'CEF:0|Gatehouse|Gateway|0.1.0|login-failed|Login failed|5|rt=1700000000123 seq=7 suser=bob attempts=3 mfa=false target=');
});

t.test('header escaping: pipe and backslash, controls made visible', async (t) => {
  const out = formatCef({ ...record, name: 'a|b\\c=d\ne', fields: {} }, { ...device, vendor: 'X|Y' });
  t.equal(out, 'CEF:0|X\\|Y|Gateway|0.1.0|login-failed|a\\|b\\\\c=d\\ne|5|rt=1700000000123 seq=7');
});

t.test('extension escaping: equals, backslash, newlines; pipes left alone', async (t) => {
  const out = formatCef({ ...record, fields: { suser: 'a=b\\c|d\r\ne\0f\uD800 \u{1F600}' } }, device);
  t.equal(out.split('seq=7 ')[1], 'suser=a\\=b\\\\c|d\\r\\ne\\u0000f\uFFFD \u{1F600}');
  t.notMatch(out, /[\n\r\0]/);
});

t.test('severity mapping and key validation', async (t) => {
  const sev = (severity: AuditRecord['severity']) => formatCef({ ...record, severity, fields: {} }, device).split('|')[6];
  t.same(['emergency', 'error', 'info', 'debug'].map((s) => sev(s as AuditRecord['severity'])), ['10', '7', '1', '0']);
  for (const key of ['a b', 'a=b', '', 'rt', 'seq']) t.throws(() => formatCef({ ...record, fields: { [key]: 1 } }, device), /invalid CEF extension key/);
});
