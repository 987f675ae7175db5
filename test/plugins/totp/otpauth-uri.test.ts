// otpauth:// URIs and enrolment material (seed, URI, QR code).
import t from 'tap';
import { decodeBase32 } from '../../../src/plugins/totp/base32.js';
import { createEnrollment } from '../../../src/plugins/totp/enroll.js';
import { buildOtpauthUri } from '../../../src/plugins/totp/otpauth-uri.js';
import type { TotpSettings } from '../../../src/plugins/totp/settings.js';

t.test('the Key Uri Format example', async (t) => {
  t.equal(
    buildOtpauthUri({ issuer: 'ACME Co', account: 'john.doe@email.com', secret: 'HXDMVJECJJWSRB3HWIZR4IFUGFTMXBOZ', algorithm: 'SHA1', digits: 6, periodSeconds: 30 }),
    'otpauth://totp/ACME%20Co:john.doe@email.com?secret=HXDMVJECJJWSRB3HWIZR4IFUGFTMXBOZ&issuer=ACME%20Co&algorithm=SHA1&digits=6&period=30',
  );
  t.equal(
    buildOtpauthUri({ issuer: 'Gate&house', account: 'a/b?c', secret: 'MZXW6', algorithm: 'SHA512', digits: 8, periodSeconds: 60 }),
    'otpauth://totp/Gate%26house:a%2Fb%3Fc?secret=MZXW6&issuer=Gate%26house&algorithm=SHA512&digits=8&period=60',
  );
});

t.test('refused parameters', async (t) => {
  const base = { issuer: 'Gatehouse', account: 'alice', secret: 'MZXW6', algorithm: 'SHA1', digits: 6, periodSeconds: 30 } as const;
  t.throws(() => buildOtpauthUri({ ...base, issuer: 'a:b' }), /issuer must be non-empty and hold no ":"/);
  t.throws(() => buildOtpauthUri({ ...base, account: 'DOMAIN:alice' }), /account must/);
  t.throws(() => buildOtpauthUri({ ...base, account: '' }), /account must/);
  t.throws(() => buildOtpauthUri({ ...base, secret: 'mzxw6' }), /upper-case base32/);
  t.throws(() => buildOtpauthUri({ ...base, secret: 'MZXW6===' }), /upper-case base32/);
});

const settings: TotpSettings = { algorithm: 'SHA1', digits: 6, periodSeconds: 30, window: 1, issuer: 'Gatehouse' };

t.test('enrolment: seed, URI and a QR code of that URI', async (t) => {
  const seed = new TextEncoder().encode('12345678901234567890');
  const enrollment = createEnrollment('alice@example.com', settings, seed);
  t.equal(enrollment.seed, 'GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ');
  t.equal(enrollment.uri, 'otpauth://totp/Gatehouse:alice@example.com?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&issuer=Gatehouse&algorithm=SHA1&digits=6&period=30');
  t.equal(enrollment.qr.ecLevel, 'M');
  t.equal(enrollment.qr.size, 17 + 4 * enrollment.qr.version);
});

t.test('enrolment: fresh seeds as long as the hash; level L when M is too small', async (t) => {
  for (const [algorithm, bytes] of [['SHA1', 20], ['SHA256', 32], ['SHA512', 64]] as const) {
    const enrollment = createEnrollment('alice', { ...settings, algorithm });
    t.equal(decodeBase32(enrollment.seed).length, bytes, algorithm);
  }
  t.not(createEnrollment('alice', settings).seed, createEnrollment('alice', settings).seed, 'random');
  const long = createEnrollment('a-rather-long-account-name@corp.example.com', { ...settings, algorithm: 'SHA512' });
  t.equal(long.uri.length, 232);
  t.equal(long.qr.ecLevel, 'L');
  t.throws(
    () => createEnrollment('a-rather-long-account-name@corp.example.com', { ...settings, algorithm: 'SHA512', issuer: 'Gatehouse bastion, data centre 2' }),
    /298 bytes do not fit a version-10 QR code at level L/,
  );
});
