// RFC 5424 formatting: exact bytes for hand-checked messages, escaping, limits, and properties.
import assert from 'node:assert/strict';
import fc from 'fast-check';
import t from 'tap';
import type { AuditRecord } from '../../../src/log/syslog/record.js';
import { SEVERITIES } from '../../../src/log/syslog/record.js';
import { formatRfc5424, toRfc5424, type Rfc5424Message } from '../../../src/log/syslog/rfc5424.js';
import { wellFormed } from '../../../src/log/syslog/text.js';
import { parseRfc5424 } from './parse.js';

const when = new Date('2003-10-11T22:14:15.003Z');
const base: Rfc5424Message = { facility: 4, severity: 2, timestamp: when, hostname: 'host', appName: 'app', structuredData: [] };
const text = (m: Partial<Rfc5424Message>) => formatRfc5424({ ...base, ...m }).toString('utf8');
const value = (v: string) => text({ structuredData: [{ id: 'x', params: [['v', v]] }] }).split(' - - ')[1];

t.test('RFC 5424 §6.5 example 1, with BOM', async (t) => {
  const out = formatRfc5424({ ...base, hostname: 'mymachine.example.com', appName: 'su', msgId: 'ID47', message: "'su root' failed for lonvick on /dev/pts/8", bom: true });
  t.same(out, Buffer.concat([
    Buffer.from('<34>1 2003-10-11T22:14:15.003Z mymachine.example.com su - ID47 - '),
    Buffer.from([0xef, 0xbb, 0xbf]),
    Buffer.from("'su root' failed for lonvick on /dev/pts/8"),
  ]));
});

t.test('RFC 5424 §6.5 example 3: structured data, no MSG', async (t) => {
  const out = text({
    facility: 20, severity: 5, hostname: 'mymachine.example.com', appName: 'evntslog', msgId: 'ID47',
    structuredData: [
      { id: 'exampleSDID@32473', params: [['iut', '3'], ['eventSource', 'Application'], ['eventID', '1011']] },
      { id: 'examplePriority@32473', params: [['class', 'high']] },
    ],
  });
  t.equal(out, '<165>1 2003-10-11T22:14:15.003Z mymachine.example.com evntslog - ID47 [exampleSDID@32473 iut="3" eventSource="Application" eventID="1011"][examplePriority@32473 class="high"]');
});

t.test('PRI, timestamp and nil values', async (t) => {
  t.equal(text({ facility: 0, severity: 0, hostname: '', appName: undefined }), '<0>1 2003-10-11T22:14:15.003Z - - - - -');
  t.equal(text({ facility: 23, severity: 7, timestamp: new Date(Date.UTC(2024, 0, 2, 3, 4, 5, 0)) }).slice(0, 35), '<191>1 2024-01-02T03:04:05.000Z hos');
  t.equal(text({ structuredData: [{ id: 'empty', params: [] }] }), '<34>1 2003-10-11T22:14:15.003Z host app - - [empty]');
  t.throws(() => text({ facility: 24 }), RangeError);
  t.throws(() => text({ severity: -1 }), RangeError);
  t.throws(() => text({ severity: 1.5 }), RangeError);
  t.throws(() => text({ timestamp: new Date(NaN) }), RangeError);
  t.throws(() => text({ timestamp: new Date(Date.UTC(10000, 0, 1)) }), /outside years/);
});

t.test('header fields: PRINTUSASCII and maximum lengths', async (t) => {
  t.equal(text({ hostname: 'a b\nc\u00e9' }).split(' ')[2], 'a_b_c_');
  const long = text({ hostname: 'h'.repeat(300), appName: 'a'.repeat(60), procId: 'p'.repeat(200), msgId: 'm'.repeat(40) }).split(' ');
  t.same(long.slice(2, 6).map((f) => f.length), [255, 48, 128, 32]);
});

t.test('SD-ID and PARAM-NAME are validated', async (t) => {
  for (const bad of ['', 'a=b', 'a b', 'a]', 'a"', 'x'.repeat(33), 'caf\u00e9', 'a\n']) {
    t.throws(() => text({ structuredData: [{ id: bad, params: [] }] }), /invalid RFC 5424 SD-ID/, JSON.stringify(bad));
    t.throws(() => text({ structuredData: [{ id: 'ok', params: [[bad, 'v']] }] }), /invalid RFC 5424 PARAM-NAME/);
  }
  t.equal(text({ structuredData: [{ id: 'x'.repeat(32), params: [['a\\b', 'v']] }] }).endsWith(`[${'x'.repeat(32)} a\\b="v"]`), true);
});

t.test('PARAM-VALUE escaping', async (t) => {
  t.equal(value('say "hi"'), '[x v="say \\"hi\\""]');
  t.equal(value('C:\\temp'), '[x v="C:\\\\temp"]');
  t.equal(value('a]b'), '[x v="a\\]b"]');
  t.equal(value('line1\nline2\r\tend'), '[x v="line1\\nline2\\r\\tend"]');
  t.equal(value('nul\0here\x1b[31m\x7f\u0085\u2028'), '[x v="nul\\u0000here\\u001b[31m\\u007f\\u0085\\u2028"]');
  t.equal(value('bad\uD800byte\uDFFF'), '[x v="bad\uFFFDbyte\uFFFD"]', 'lone surrogates become U+FFFD');
  t.equal(value('root\u{1F600}ok'), '[x v="root\u{1F600}ok"]', 'emoji pass through as UTF-8');
  t.same(formatRfc5424({ ...base, structuredData: [{ id: 'x', params: [['v', '\u{1F600}']] }] }).subarray(-6), Buffer.from([0xf0, 0x9f, 0x98, 0x80, 0x22, 0x5d]));
});

t.test('MSG escaping keeps one event on one line', async (t) => {
  t.equal(text({ message: 'user "bob\nroot" \\ ] \0' }).split(' - - ')[1], '- user "bob\\nroot" \\\\ ] \\u0000');
  t.equal(text({ message: '' }), '<34>1 2003-10-11T22:14:15.003Z host app - - -', 'empty MSG is omitted');
});

const record: AuditRecord = {
  eventId: 'login-failed', name: 'Login failed', severity: 'warning', time: when,
  fields: { user: 'bob"]\n', attempts: 3, mfa: false, target: null }, sequence: 42,
};

t.test('toRfc5424: fields in gatehouse@32473, sequence in meta', async (t) => {
  const out = toRfc5424(record, { facility: 10, hostname: 'gw1', appName: 'gatehouse', procId: '1234' }).toString('utf8');
  t.equal(out, '<84>1 2003-10-11T22:14:15.003Z gw1 gatehouse 1234 login-failed [gatehouse@32473 user="bob\\"\\]\\n" attempts="3" mfa="false"][meta sequenceId="42"] \uFEFFLogin failed');
  const noFields = toRfc5424({ ...record, fields: {} }, { facility: 10, hostname: 'gw1', appName: 'gatehouse' }).toString('utf8');
  t.match(noFields, / login-failed \[meta sequenceId="42"\] /);
  for (const sequence of [0, 2147483648, 1.5]) t.throws(() => toRfc5424({ ...record, sequence }, { facility: 10, hostname: 'h', appName: 'a' }), RangeError);
});

// Any code unit, lone surrogates included.
const anyText = fc.string({ unit: fc.integer({ min: 0, max: 0xffff }).map((c) => String.fromCharCode(c)), maxLength: 40 });
const anyName = fc.stringMatching(/^[A-Za-z0-9_.\-]{1,32}$/);
const anyRecord = fc.record({
  eventId: fc.string({ maxLength: 40 }),
  name: anyText,
  severity: fc.constantFrom(...SEVERITIES),
  time: fc.date({ min: new Date(0), max: new Date('9999-12-31T23:59:59.999Z'), noInvalidDate: true }),
  fields: fc.dictionary(anyName, fc.oneof(anyText, fc.integer(), fc.boolean(), fc.constant(null))),
  sequence: fc.integer({ min: 1, max: 2147483647 }),
});

t.test('property: any record is one line and reads back to the same params', async (t) => {
  t.doesNotThrow(() => fc.assert(fc.property(anyRecord, (r) => {
    const buf = toRfc5424(r, { facility: 13, hostname: 'gw', appName: 'gatehouse' });
    const line = buf.toString('utf8');
    assert.ok(Buffer.from(line, 'utf8').equals(buf), 'valid UTF-8');
    assert.doesNotMatch(line, /[\x00-\x1f\x7f-\x9f\u2028\u2029]/, 'one line, no controls');
    const parsed = parseRfc5424(line);
    const expected = Object.entries(r.fields).filter(([, v]) => v !== null).map(([k, v]) => [k, wellFormed(String(v))]);
    assert.deepEqual(parsed.sd, [...(expected.length ? [{ id: 'gatehouse@32473', params: expected }] : []), { id: 'meta', params: [['sequenceId', String(r.sequence)]] }]);
    assert.equal(parsed.msg, r.name ? '\uFEFF' + wellFormed(r.name) : undefined);
  }), { numRuns: 300 }), '300 random records');
});
