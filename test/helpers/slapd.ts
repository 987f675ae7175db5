/**
 * Test helper: a real OpenLDAP slapd (Debian packages `slapd`, `ldap-utils`) on loopback, one per
 * test file.
 *
 * `startSlapd(t)` generates a test CA and a server certificate for 127.0.0.1 and localhost with
 * `openssl`, writes a slapd.conf (back_mdb in the temp dir, the memberof overlay, TLS, and two
 * habits of Active Directory: a paged-results size limit, unauthenticated binds accepted) and runs
 * `slapd -d none` in the foreground as its own process group on free ports: plain LDAP (StartTLS
 * offered) and ldaps on 127.0.0.1, and the same ldaps listener on 127.0.0.2, a loopback address
 * the certificate does not name (`mismatchLdapsUrl`). The directory holds only the suffix entry;
 * `add(ldif)` loads the rest as the root DN. `t.teardown`, or the end of the test process however
 * it ends, stops slapd and removes every file it used.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { canConnect, freePort } from '../e2e/helpers/ports.js';
import { stopDaemon } from './daemon.js';

const execFileP = promisify(execFile);

export const SLAPD_BIN = '/usr/sbin/slapd';
const START_TIMEOUT_MS = 10_000;

// Runs slapd ("$@") in the background and waits for it, so the shell's exit status is slapd's. A
// watchdog job reads the shell's standard input, a pipe from the test process; when it ends (stop(),
// or the test process gone however it ended: a signal or SIGKILL skips 'exit' hooks) the watchdog
// stops slapd and removes its directory. Background jobs read /dev/null unless redirected: fd 3.
const WATCHDOG = 'exec 3<&0; "$@" & slapd=$!; { read -r _ <&3; kill $slapd 2>/dev/null; rm -rf "$SLAPD_DIR"; } & wait $slapd';

export interface TestSlapd {
  /** `ldap://127.0.0.1:PORT` (StartTLS available). */
  url: string;
  /** `ldaps://127.0.0.1:PORT` */
  ldapsUrl: string;
  /** The ldaps listener under a name its certificate does not carry: `ldaps://127.0.0.2:PORT`. */
  mismatchLdapsUrl: string;
  /** PEM of the test CA that signed the server certificate. */
  caFile: string;
  baseDn: string;
  adminDn: string;
  adminPassword: string;
  /** Adds the entries of `ldif` as the root DN (ldapadd); rejects with its error output. */
  add(ldif: string): Promise<void>;
  /** Stops slapd and removes its files (idempotent). */
  stop(): Promise<void>;
}

export async function startSlapd(t: { teardown(fn: () => unknown): unknown }): Promise<TestSlapd> {
  const baseDn = 'dc=gatehouse,dc=test';
  const adminDn = `cn=admin,${baseDn}`;
  const adminPassword = randomBytes(12).toString('hex');
  let child: ChildProcess | undefined;
  let dir: string | undefined;
  const stop = async (): Promise<void> => {
    const running = child;
    child = undefined;
    // Closing its stdin makes the watchdog stop slapd, which the shell then reaps.
    await stopDaemon(running, (daemon) => daemon.stdin?.end());
  };
  t.teardown(async () => {
    await stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  for (let attempt = 1; ; attempt++) {
    // A directory per attempt: the watchdog of a slapd that failed to start removes its own.
    const files = await mkdtemp(join(tmpdir(), 'gatehouse-slapd-'));
    dir = files;
    await writeFile(join(files, 'admin.pw'), adminPassword, { mode: 0o600 });
    await mkdir(join(files, 'db'));
    await makeCertificates(files);
    await writeFile(join(files, 'slapd.conf'), slapdConf(files, baseDn, adminDn, adminPassword), { mode: 0o600 });

    const [port, tlsPort] = [await freePort(), await freePort()];
    const listeners = [`ldap://127.0.0.1:${port}`, `ldaps://127.0.0.1:${tlsPort}`, `ldaps://127.0.0.2:${tlsPort}`];
    let log = '';
    child = spawn('sh', ['-c', WATCHDOG, 'sh', SLAPD_BIN, '-d', 'none', '-f', join(files, 'slapd.conf'), '-h', listeners.join(' ')], {
      detached: true,
      env: { ...process.env, SLAPD_DIR: files },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    child.stdout?.setEncoding('utf8').on('data', (chunk: string) => (log += chunk));
    child.stderr?.setEncoding('utf8').on('data', (chunk: string) => (log += chunk));
    try {
      await waitListening(child, [port, tlsPort], () => log);
    } catch (err) {
      await stop();
      await rm(files, { recursive: true, force: true });
      // Lost the race for a port to another process: try others.
      if (attempt < 5 && log.includes('Address already in use')) continue;
      throw err;
    }
    const url = `ldap://127.0.0.1:${port}`;
    const add = (ldif: string): Promise<void> => ldapadd(url, adminDn, join(files, 'admin.pw'), ldif);
    await add(`dn: ${baseDn}\nobjectClass: dcObject\nobjectClass: organization\ndc: gatehouse\no: Gatehouse tests\n`);
    return {
      url,
      ldapsUrl: `ldaps://127.0.0.1:${tlsPort}`,
      mismatchLdapsUrl: `ldaps://127.0.0.2:${tlsPort}`,
      caFile: join(files, 'ca.pem'),
      baseDn,
      adminDn,
      adminPassword,
      add,
      stop,
    };
  }
}

async function ldapadd(url: string, adminDn: string, passwordFile: string, ldif: string): Promise<void> {
  const child = spawn('ldapadd', ['-x', '-H', url, '-D', adminDn, '-y', passwordFile], {
    env: { ...process.env, LDAPNOINIT: '1' }, // ignore /etc/ldap/ldap.conf and ~/.ldaprc
    stdio: ['pipe', 'ignore', 'pipe'],
  });
  let errors = '';
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (errors += chunk));
  child.stdin.end(ldif);
  const code = await new Promise((resolve, reject) => child.once('error', reject).once('close', resolve));
  if (code !== 0) throw new Error(`ldapadd exited with ${String(code)}: ${errors.trim()}`);
}

/** A CA, and a server certificate it signed for IP 127.0.0.1 and DNS localhost. */
async function makeCertificates(dir: string): Promise<void> {
  const file = (name: string): string => join(dir, name);
  const key = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '2'];
  await openssl(['req', '-x509', ...key, '-keyout', file('ca.key'), '-out', file('ca.pem'), '-subj', '/CN=Gatehouse test CA']);
  await openssl([
    'req', '-x509', ...key, '-keyout', file('server.key'), '-out', file('server.pem'), '-subj', '/CN=127.0.0.1',
    '-CA', file('ca.pem'), '-CAkey', file('ca.key'),
    '-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost', '-addext', 'basicConstraints=critical,CA:FALSE', '-addext', 'extendedKeyUsage=serverAuth',
  ]);
}

async function openssl(args: string[]): Promise<void> {
  try {
    await execFileP('openssl', args);
  } catch (err) {
    throw new Error(`openssl ${args[0]} failed: ${(err as { stderr?: string }).stderr ?? String(err)}`);
  }
}

function slapdConf(dir: string, baseDn: string, adminDn: string, adminPassword: string): string {
  return `# generated by test/helpers/slapd.ts
include /etc/ldap/schema/core.schema
include /etc/ldap/schema/cosine.schema
include /etc/ldap/schema/nis.schema
include /etc/ldap/schema/inetorgperson.schema
modulepath /usr/lib/ldap
moduleload back_mdb
moduleload memberof
pidfile ${dir}/slapd.pid
argsfile ${dir}/slapd.args
TLSCACertificateFile ${dir}/ca.pem
TLSCertificateFile ${dir}/server.pem
TLSCertificateKeyFile ${dir}/server.key
# As Active Directory does, and as RFC 4513 warns of: a DN with an empty password binds as anonymous.
allow bind_anon_dn

database mdb
suffix "${baseDn}"
rootdn "${adminDn}"
rootpw ${adminPassword}
directory ${dir}/db
maxsize 268435456
# A test directory need not survive a crash; without fsync, loading thousands of entries takes a second.
dbnosync
# As Active Directory: a few hundred entries per search unless the client pages (then no total limit).
sizelimit size.soft=500 size.hard=unlimited size.pr=500 size.prtotal=unlimited
index objectClass eq
index uid,cn,mail eq
index member,uniqueMember,memberUid eq
overlay memberof
access to attrs=userPassword by anonymous auth by * none
access to * by * read
`;
}

/** Resolves once slapd accepts TCP connections on every port. */
async function waitListening(child: ChildProcess, ports: number[], log: () => string): Promise<void> {
  let spawnError: Error | undefined;
  child.once('error', (err) => (spawnError = err));
  const deadline = Date.now() + START_TIMEOUT_MS;
  for (;;) {
    if (spawnError) throw new Error(`${SLAPD_BIN} did not start (apt-get install slapd ldap-utils): ${spawnError.message}`);
    if (child.exitCode !== null || child.signalCode !== null) throw new Error(`slapd exited (${child.exitCode ?? child.signalCode}): ${log().trim()}`);
    if ((await Promise.all(ports.map((port) => canConnect(port, '127.0.0.1', 500)))).every(Boolean)) return;
    if (Date.now() > deadline) throw new Error(`slapd did not listen within ${START_TIMEOUT_MS} ms: ${log().trim()}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

