// Octet counting and UDP datagram fitting.
import assert from 'node:assert/strict';
import fc from 'fast-check';
import t from 'tap';
import { DEFAULT_MAX_DATAGRAM, fitDatagram, octetCount } from '../../../src/log/syslog/framing.js';
import { formatRfc5424, type Rfc5424Message } from '../../../src/log/syslog/rfc5424.js';

const base: Rfc5424Message = { facility: 1, severity: 6, timestamp: new Date('2024-05-06T07:08:09.010Z'), hostname: 'h', appName: 'a', structuredData: [] };
const msg = (m: Partial<Rfc5424Message>) => formatRfc5424({ ...base, ...m });
const HEAD = '<14>1 2024-05-06T07:08:09.010Z h a - - -'; // 40 bytes

t.test('octet counting counts bytes, not characters', async (t) => {
  t.same(octetCount(Buffer.from('<14>1 - - - - - -')), Buffer.from('17 <14>1 - - - - - -'));
  const m = msg({ message: '\u00e9\u{1F600}' }); // 40 + 1 + 2 + 4
  t.equal(m.length, 47);
  t.equal(octetCount(m).toString('utf8'), `47 ${HEAD} \u00e9\u{1F600}`);
  t.same(octetCount(Buffer.alloc(0)), Buffer.from('0 '));
});

t.test('fitDatagram leaves small messages alone', async (t) => {
  const m = msg({ message: 'x'.repeat(100) });
  t.equal(fitDatagram(m), m);
  t.equal(DEFAULT_MAX_DATAGRAM, 2048);
  t.equal(fitDatagram(msg({ message: 'x'.repeat(3000) })).length, 2048);
});

t.test('fitDatagram never cuts a UTF-8 sequence', async (t) => {
  const m = msg({ message: '\u{1F600}'.repeat(10) }); // MSG starts at byte 41
  t.equal(fitDatagram(m, 49).toString('utf8'), `${HEAD} \u{1F600}\u{1F600}`, '49 = 41 + 8 exactly');
  for (const max of [50, 51, 52]) t.equal(fitDatagram(m, max).length, 49, `max ${max} backs off to 49`);
  t.equal(fitDatagram(m, 44).toString('utf8'), HEAD, 'no whole character fits: MSG and its SP dropped');
  t.equal(fitDatagram(m, 40).toString('utf8'), HEAD);
  const bom = msg({ message: '\u00e9\u00e9', bom: true }); // 41 + 3 + 4
  t.same(fitDatagram(bom, 46), Buffer.concat([Buffer.from(HEAD + ' '), Buffer.from([0xef, 0xbb, 0xbf, 0xc3, 0xa9])]));
});

t.test('fitDatagram keeps structured data whole, escapes included', async (t) => {
  const m = msg({ structuredData: [{ id: 'x', params: [['v', 'a] "b" \\']] }], message: 'y'.repeat(100) });
  const sdEnd = m.indexOf('] ', m.lastIndexOf('"')) + 1;
  t.equal(fitDatagram(m, sdEnd + 5).toString('utf8'), m.subarray(0, sdEnd).toString('utf8') + ' yyyy');
  t.throws(() => fitDatagram(m, sdEnd - 1), /do not fit in/);
  t.throws(() => fitDatagram(msg({ structuredData: [{ id: 'x', params: [['v', 'z'.repeat(100)]] }] }), 80), /do not fit in/, 'no MSG to cut');
});

t.test('property: octet count = byte length; fitted datagrams stay valid UTF-8 within the limit', async (t) => {
  const text = fc.string({ unit: 'binary', maxLength: 300 });
  t.doesNotThrow(() => fc.assert(fc.property(text, fc.string({ unit: 'binary', maxLength: 30 }), fc.integer({ min: 60, max: 400 }), (message, v, max) => {
    const m = msg({ message, structuredData: [{ id: 'x', params: [['v', v]] }] });
    const framed = octetCount(m).toString('latin1');
    const sp = framed.indexOf(' ');
    assert.equal(Number(framed.slice(0, sp)), m.length);
    assert.match(framed.slice(0, sp), /^(0|[1-9]\d*)$/);
    let fitted: Buffer;
    try {
      fitted = fitDatagram(m, max);
    } catch {
      return; // header + SD alone exceed max: refusing is the contract
    }
    assert.ok(fitted.length <= max);
    assert.ok(Buffer.from(fitted.toString('utf8'), 'utf8').equals(fitted), 'valid UTF-8');
    assert.ok(m.subarray(0, fitted.length).equals(fitted), 'a prefix');
  }), { numRuns: 500 }), '500 random messages');
});
