/**
 * Test helper: a throwaway certificate authority, made once per test process with the `openssl`
 * CLI (node:crypto cannot issue certificates). `local` is valid for 127.0.0.1 and localhost,
 * `other` for other.example only (a certificate mismatch); `foreignCa` trusts neither. `client` is a
 * TLS client certificate (CN and DNS name `gatehouse-client`) for servers that require one.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A PEM certificate the test CA issued, and its private key. */
export interface ServerCertificate {
  key: string;
  cert: string;
}

export type ClientCertificate = ServerCertificate;

export interface TestPki {
  ca: string;
  local: ServerCertificate;
  other: ServerCertificate;
  /** Signed by `ca` for client authentication: CN and subjectAltName DNS `gatehouse-client`. */
  client: ClientCertificate;
  /** Another CA's certificate: trusting it alone, nothing of the above verifies. */
  foreignCa: string;
}

let cached: TestPki | undefined;

export function testPki(): TestPki {
  cached ??= makePki();
  return cached;
}

function makePki(): TestPki {
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-pki-'));
  try {
    const file = (name: string) => join(dir, name);
    const openssl = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
    const newCa = (name: string) => {
      openssl('req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '2',
        '-subj', `/CN=${name}`, '-keyout', file(`${name}.key`), '-out', file(`${name}.pem`),
        '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign');
      return readFileSync(file(`${name}.pem`), 'utf8');
    };
    const issue = (name: string, altNames: string, usage = 'serverAuth'): ServerCertificate => {
      openssl('req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-subj', `/CN=${name}`,
        '-keyout', file(`${name}.key`), '-out', file(`${name}.csr`));
      writeFileSync(file(`${name}.ext`), `subjectAltName=${altNames}\nextendedKeyUsage=${usage}\n`);
      openssl('x509', '-req', '-in', file(`${name}.csr`), '-CA', file('test-ca.pem'), '-CAkey', file('test-ca.key'), '-CAcreateserial',
        '-days', '2', '-extfile', file(`${name}.ext`), '-out', file(`${name}.pem`));
      return { key: readFileSync(file(`${name}.key`), 'utf8'), cert: readFileSync(file(`${name}.pem`), 'utf8') };
    };
    const ca = newCa('test-ca');
    return {
      ca,
      local: issue('localhost', 'IP:127.0.0.1,DNS:localhost'),
      other: issue('other.example', 'DNS:other.example'),
      client: issue('gatehouse-client', 'DNS:gatehouse-client', 'clientAuth'),
      foreignCa: newCa('foreign-ca'),
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
