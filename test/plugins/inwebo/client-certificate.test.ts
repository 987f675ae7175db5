// The client_cert PEM: certificate and key split (indentation of a paste ignored, the
// certificate first), and each way it can be unusable named without quoting the key.
import t from 'tap';
import { parseClientCertificate } from '../../../src/plugins/inwebo/client-certificate.js';
import { inweboApiPki } from '../../fakes/inwebo.js';
import { testPki } from '../../fakes/tls.js';

const pem = inweboApiPki().clientCert;
const [certBlock] = pem.match(/-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/) as [string];
const [keyBlock] = pem.match(/-----BEGIN RSA PRIVATE KEY-----[\s\S]*?-----END RSA PRIVATE KEY-----/) as [string];

t.test('certificate and key, in either order, indented or not', async (t) => {
  t.same(parseClientCertificate(pem), { cert: certBlock, key: keyBlock });
  t.same(parseClientCertificate(`${keyBlock}\n  ${certBlock.split('\n').join('\n  ')}\n`), { cert: certBlock, key: keyBlock });
  t.same(parseClientCertificate(`${certBlock}\n${testPki().ca}${keyBlock}`).cert, `${certBlock}\n${testPki().ca.trim()}`, 'intermediates kept after it');
});

t.test('unusable: named, the key never quoted', async (t) => {
  const keyText = keyBlock.split('\n')[1] as string;
  const cases: [string, RegExp][] = [
    [keyBlock, /no "BEGIN CERTIFICATE" block/],
    [certBlock, /expected one private key block, found 0/],
    [`${certBlock}\n${keyBlock}\n${keyBlock}`, /found 2/],
    [`${certBlock}\n-----BEGIN ENCRYPTED PRIVATE KEY-----\nAAAA\n-----END ENCRYPTED PRIVATE KEY-----`, /encrypted: decrypt it first/],
    [`${certBlock}\n${testPki().local.key}`, /does not belong to the certificate/],
    [`-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n${keyBlock}`, /not a usable certificate and key/],
  ];
  for (const [text, message] of cases) {
    const error = t.throws(() => parseClientCertificate(text), { message }) as Error;
    t.notMatch(error.message, keyText);
  }
});

t.test('outside its validity period', async (t) => {
  t.throws(() => parseClientCertificate(pem, new Date(Date.now() + 10 * 86_400_000)), { message: /the certificate expired on / });
  t.throws(() => parseClientCertificate(pem, new Date(Date.now() - 10 * 86_400_000)), { message: /not valid before / });
});
