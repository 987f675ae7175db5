// The `[inwebo] client_cert` value: the API certificate the inWebo console issues, as the SPS
// tutorial has it prepared, the certificate(s) and the decrypted private key in one PEM text
// (indented continuation lines in the configuration, or a credential-store entry). Split here
// into what TLS wants, and checked now so a wrong paste is a configuration error naming the
// option rather than a TLS failure at the first login. inWebo refuses a bad client certificate by
// closing the connection, which looks like an outage (and ignore_conn_err=yes would then let
// users in without MFA), so a certificate outside its validity period is refused here.
import { X509Certificate, createPrivateKey } from 'node:crypto';

export interface ClientCertificate {
  /** The certificate first, then any intermediates. */
  cert: string;
  key: string;
}

const PEM_BLOCK = /-----BEGIN ([A-Z0-9 ]+)-----[\s\S]*?-----END \1-----/g;

/** Throws an Error saying what is wrong (never quoting the key). */
export function parseClientCertificate(text: string, now = new Date()): ClientCertificate {
  // Each line trimmed: the ini continuation and a credential-store paste may indent them.
  const pem = text.split(/\r\n|\n|\r/).map((line) => line.trim()).join('\n');
  const blocks = [...pem.matchAll(PEM_BLOCK)].map(([block, label]) => ({ block: block ?? '', label: label ?? '' }));
  const certs = blocks.filter(({ label }) => label === 'CERTIFICATE').map(({ block }) => block);
  const keys = blocks.filter(({ label }) => label.endsWith('PRIVATE KEY'));
  if (certs.length === 0) throw new Error('no "BEGIN CERTIFICATE" block');
  if (keys.length !== 1) throw new Error(`expected one private key block, found ${keys.length}`);
  const [{ block: key, label }] = keys as [{ block: string; label: string }];
  if (label === 'ENCRYPTED PRIVATE KEY') throw new Error('the private key is encrypted: decrypt it first (openssl rsa -in <file>.crt)');
  let certificate: X509Certificate;
  try {
    certificate = new X509Certificate(certs[0] as string);
    if (!certificate.checkPrivateKey(createPrivateKey(key))) throw new Error('the private key does not belong to the certificate');
  } catch (err) {
    throw new Error(`not a usable certificate and key: ${(err as Error).message}`);
  }
  if (now < new Date(certificate.validFrom)) throw new Error(`the certificate is not valid before ${certificate.validFrom}`);
  if (now > new Date(certificate.validTo)) throw new Error(`the certificate expired on ${certificate.validTo}`);
  return { cert: certs.join('\n'), key };
}
