// (e) Password logins per second with the first factor in a directory: `sshpass ssh … true` run by
// several clients at once for a fixed time, on three paths side by side, each round in turn:
//   direct       — OpenSSH sshd, password checked by PAM against the local account;
//   local        — Gatehouse, password checked against its local users (scrypt);
//   ldap         — Gatehouse, password checked by an LDAP bind against a real slapd (pool warm).
// Gatehouse logs in to the target with its gateway key; the clients type passwords (sshpass -e).
import { startSshd, type TeardownHost } from '../../test/e2e/helpers/sshd.js';
import { startSlapd } from '../../test/helpers/slapd.js';
import { PASSWORDS, SERVICE_PASSWORD, ldapSettings, testTree } from '../../test/auth/ldap/tree.js';
import { hashPassword } from '../../src/auth/local-users.js';
import { directorySecret } from '../../src/config/schema.js';
import { storePluginSecrets } from '../../test/e2e/helpers/aa.js';
import { startGatehouse } from './gatehouse-process.js';
import { timedRun } from './ssh-run.js';
import { median, rotate } from './stats.js';

export interface DirectoryPath {
  id: 'direct' | 'local' | 'ldap';
  label: string;
  /** ssh arguments up to and including the host. */
  args: string[];
  password: string;
}

export interface DirectoryLoginResult {
  concurrency: number;
  seconds: number;
  /** Successful logins per second, one value per round, by path. */
  rates: Record<DirectoryPath['id'], number[]>;
  failures: Record<DirectoryPath['id'], number>;
}

export interface DirectoryLoginOptions {
  concurrency: number;
  seconds: number;
  rounds: number;
  progress(line: string): void;
}

const clientOptions = ['-F', '/dev/null', '-T', '-o', 'StrictHostKeyChecking=no', '-o', 'UserKnownHostsFile=/dev/null', '-o', 'LogLevel=ERROR',
  '-o', 'PreferredAuthentications=password', '-o', 'PubkeyAuthentication=no', '-o', 'NumberOfPasswordPrompts=1'];

export async function measureDirectoryLogins(t: TeardownHost, o: DirectoryLoginOptions): Promise<DirectoryLoginResult> {
  const target = await startSshd(t);
  const slapd = await startSlapd(t);
  await slapd.add(testTree(slapd));
  const localPassword = 'bench-local-password';
  const common = { user: target.user, authorizedKey: 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGF4QKlNB0+9uFZE1vlFD0JkeHcCUHQHLUp5NhXh0Ydn bench-unused' };
  const local = await startGatehouse(t, {
    ...common,
    config: { users: [{ name: target.user, passwordHash: await hashPassword(localPassword) }] },
  });
  const ldap = await startGatehouse(t, {
    ...common,
    config: { ldapServers: [ldapSettings(slapd)], usermappingPolicies: [{ name: 'admins', rules: [{ gatewayGroups: ['admins'], serverUsers: [target.user] }] }] },
    policy: { gatewayAuthentication: { type: 'ldap', server: 'corp' }, usermappingPolicy: 'admins' },
    prepare: (dataDir) => storePluginSecrets(dataDir, [{ ...directorySecret.ldapBindPassword('corp'), value: SERVICE_PASSWORD }]),
  });
  for (const gw of [local, ldap]) await target.authorizeKey(gw.upstreamPublicLine);
  const via = (port: number, login: string): string[] => [...clientOptions, '-p', String(port), '-l', login, '--', '127.0.0.1'];
  const paths: DirectoryPath[] = [
    { id: 'direct', label: 'direct (sshd, PAM)', args: via(target.port, target.user), password: target.password },
    { id: 'local', label: 'Gatehouse, local users', args: via(local.port, `${target.user}@127.0.0.1:${target.port}`), password: localPassword },
    { id: 'ldap', label: 'Gatehouse, LDAP bind', args: via(ldap.port, `gu=alice@${target.user}@127.0.0.1:${target.port}`), password: PASSWORDS.alice },
  ];
  // Warm up: host keys learnt, the LDAP pool connected.
  for (const p of paths) await checkedLogin(p);

  const result: DirectoryLoginResult = { concurrency: o.concurrency, seconds: o.seconds, rates: { direct: [], local: [], ldap: [] }, failures: { direct: 0, local: 0, ldap: 0 } };
  for (let round = 0; round < o.rounds; round++) {
    for (const p of rotate(paths, round)) {
      const { ok, failed } = await loginsFor(p, o.concurrency, o.seconds * 1000);
      result.rates[p.id].push(ok / o.seconds);
      result.failures[p.id] += failed;
      o.progress(`directory logins round ${round + 1}/${o.rounds} ${p.id}: ${(ok / o.seconds).toFixed(1)}/s${failed ? `, ${failed} failed` : ''}`);
    }
  }
  await Promise.all([local.stop(), ldap.stop(), slapd.stop(), target.stop()]);
  return result;
}

export function directoryMedians(r: DirectoryLoginResult): Record<DirectoryPath['id'], number> {
  return { direct: median(r.rates.direct), local: median(r.rates.local), ldap: median(r.rates.ldap) };
}

/** `concurrency` clients logging in one after another until `ms` have passed. */
async function loginsFor(p: DirectoryPath, concurrency: number, ms: number): Promise<{ ok: number; failed: number }> {
  const deadline = Date.now() + ms;
  let ok = 0;
  let failed = 0;
  const client = async (): Promise<void> => {
    while (Date.now() < deadline) {
      const run = await login(p);
      if (Date.now() > deadline) return;
      if (run.code === 0) ok++;
      else failed++;
    }
  };
  await Promise.all(Array.from({ length: concurrency }, client));
  return { ok, failed };
}

function login(p: DirectoryPath) {
  // sshpass reads SSHPASS from the environment: the password is never on a command line.
  process.env.SSHPASS = p.password;
  return timedRun('sshpass', ['-e', 'ssh', ...p.args, 'true'], 30_000);
}

async function checkedLogin(p: DirectoryPath): Promise<void> {
  const run = await login(p);
  if (run.code !== 0) throw new Error(`login via ${p.label} failed (${run.code}): ${run.stderr.trim().slice(0, 500)}`);
}
