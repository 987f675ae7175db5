// HOTP/TOTP against RFC 4226 Appendix D and RFC 6238 Appendix B; base32 against RFC 4648.
import fc from 'fast-check';
import t from 'tap';
import { decodeBase32, encodeBase32 } from '../../../src/plugins/totp/base32.js';
import { hotp, totp, type HashAlgorithm } from '../../../src/plugins/totp/hotp.js';

const ascii = (text: string) => new TextEncoder().encode(text);

t.test('RFC 4226 Appendix D (SHA-1, 6 digits)', async (t) => {
  const expected = ['755224', '287082', '359152', '969429', '338314', '254676', '287922', '162583', '399871', '520489'];
  const key = ascii('12345678901234567890');
  expected.forEach((code, counter) => t.equal(hotp(key, counter, 6), code, `count ${counter}`));
});

t.test('RFC 6238 Appendix B (8 digits, 30 s, T0 = 0; seeds as long as the hash)', async (t) => {
  const seeds: Record<HashAlgorithm, string> = {
    SHA1: 'GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ',
    SHA256: 'GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQGEZA',
    SHA512: 'GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQGEZDGNA',
  };
  t.same(decodeBase32(seeds.SHA256), ascii('12345678901234567890123456789012'));
  const table: [number, Record<HashAlgorithm, string>][] = [
    [59, { SHA1: '94287082', SHA256: '46119246', SHA512: '90693936' }],
    [1111111109, { SHA1: '07081804', SHA256: '68084774', SHA512: '25091201' }],
    [1111111111, { SHA1: '14050471', SHA256: '67062674', SHA512: '99943326' }],
    [1234567890, { SHA1: '89005924', SHA256: '91819424', SHA512: '93441116' }],
    [2000000000, { SHA1: '69279037', SHA256: '90698825', SHA512: '38618901' }],
    [20000000000, { SHA1: '65353130', SHA256: '77737706', SHA512: '47863826' }],
  ];
  for (const [time, codes] of table) {
    for (const algorithm of ['SHA1', 'SHA256', 'SHA512'] as const) {
      t.equal(totp(decodeBase32(seeds[algorithm]), time, { digits: 8, periodSeconds: 30, algorithm }), codes[algorithm], `${algorithm} at ${time}`);
    }
  }
  const sixDigits = [287082, 81804, 50471, 5924, 279037, 353130].map((code) => String(code).padStart(6, '0'));
  t.same(
    table.map(([time]) => totp(decodeBase32(seeds.SHA1), time, { digits: 6, periodSeconds: 30, algorithm: 'SHA1' })),
    sixDigits,
    '6 digits keep their leading zeros',
  );
  t.equal(totp(decodeBase32(seeds.SHA1), 59, { digits: 7, periodSeconds: 30, algorithm: 'SHA1' }), '4287082', '7 digits');
});

t.test('the classic bug: the 20-byte seed with SHA-256/512 gives other codes', async (t) => {
  const short = ascii('12345678901234567890');
  t.equal(totp(short, 59, { digits: 8, periodSeconds: 30, algorithm: 'SHA256' }), '32247374');
  t.equal(totp(short, 59, { digits: 8, periodSeconds: 30, algorithm: 'SHA512' }), '69342147');
});

t.test('counters past 32 bits, and refused arguments', async (t) => {
  const key = ascii('12345678901234567890');
  t.equal(hotp(key, 2 ** 32 + 1, 6), hotp(key, 2 ** 32 + 1, 6));
  t.not(hotp(key, 2 ** 32 + 1, 6), hotp(key, 1, 6), 'the high word is not dropped');
  t.throws(() => hotp(key, -1, 6), RangeError);
  t.throws(() => hotp(key, 1.5, 6), RangeError);
  t.throws(() => hotp(key, 0, 5), RangeError);
  t.throws(() => hotp(key, 0, 9), RangeError);
});

t.test('base32: RFC 4648 vectors; decoding forgives case, spaces and padding', async (t) => {
  const vectors: [string, string][] = [['', ''], ['f', 'MY'], ['fo', 'MZXQ'], ['foo', 'MZXW6'], ['foob', 'MZXW6YQ'], ['fooba', 'MZXW6YTB'], ['foobar', 'MZXW6YTBOI']];
  for (const [plain, encoded] of vectors) {
    t.equal(encodeBase32(ascii(plain)), encoded);
    t.same(decodeBase32(encoded), ascii(plain));
  }
  t.same(decodeBase32('mzxw 6ytb-oi======'), ascii('foobar'));
  t.throws(() => decodeBase32('MZXW1'), /not base32: "1"/);
  fc.assert(fc.property(fc.uint8Array({ maxLength: 80 }), (bytes) => Buffer.from(decodeBase32(encodeBase32(bytes))).equals(Buffer.from(bytes))));
});
