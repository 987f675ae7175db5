/**
 * e2e helper: the real local account that OpenSSH sessions log in as.
 *
 * Password login to a real sshd (`UsePAM no` → checked against /etc/shadow)
 * needs a real, unlocked account with a known password. `ensureTestAccount()`
 * creates the system user `gh-e2e` (home /run/gatehouse-e2e/home, shell
 * /bin/sh) once per machine, sets a random password with `chpasswd` (fed on
 * stdin, never argv) and stores it in /run/gatehouse-e2e/password (0600) so
 * that parallel test processes share it. Setup is serialised across
 * processes with a `mkdir` lock in /run/gatehouse-e2e/. Requires root.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';

export const TEST_USER = 'gh-e2e';
export const STATE_DIR = '/run/gatehouse-e2e';
export const TEST_HOME = `${STATE_DIR}/home`;
const PASSWORD_FILE = `${STATE_DIR}/password`;
const LOCK_DIR = `${STATE_DIR}/setup.lock`;
const LOCK_STALE_MS = 60_000;
const LOCK_WAIT_MS = 90_000;

export interface TestAccount {
  user: string;
  password: string;
  uid: number;
  gid: number;
  home: string;
}

let cached: Promise<TestAccount> | undefined;

/** Idempotent, parallel-safe; memoised per process. */
export function ensureTestAccount(): Promise<TestAccount> {
  cached ??= setup().catch((err: unknown) => {
    cached = undefined;
    throw err;
  });
  return cached;
}

async function setup(): Promise<TestAccount> {
  if (typeof process.getuid !== 'function' || process.getuid() !== 0) {
    throw new Error(
      `e2e tests need root to create the ${TEST_USER} account (running as uid ${process.getuid?.() ?? '?'})`,
    );
  }
  await fs.mkdir(STATE_DIR, { recursive: true, mode: 0o755 });
  // The account's sessions must be able to traverse into the home below it.
  await fs.chmod(STATE_DIR, 0o755);

  const ready = await readyAccount();
  if (ready) return ready;

  await acquireLock();
  try {
    return (await readyAccount()) ?? (await createAccount());
  } finally {
    await fs.rm(LOCK_DIR, { recursive: true, force: true });
  }
}

/** The account if it is fully usable (user, unlocked hash, home, password file), else undefined. */
async function readyAccount(): Promise<TestAccount | undefined> {
  const pw = await passwdEntry();
  if (!pw || pw.home !== TEST_HOME || pw.shell !== '/bin/sh') return undefined;
  const hash = await shadowHash();
  if (!hash?.startsWith('$')) return undefined; // missing, locked ('!') or no password ('*')
  let password: string;
  try {
    password = (await fs.readFile(PASSWORD_FILE, 'utf8')).trim();
  } catch {
    return undefined;
  }
  if (!password) return undefined;
  try {
    const st = await fs.stat(TEST_HOME);
    if (!st.isDirectory() || st.uid !== pw.uid) return undefined;
  } catch {
    return undefined;
  }
  return { user: TEST_USER, password, uid: pw.uid, gid: pw.gid, home: TEST_HOME };
}

async function createAccount(): Promise<TestAccount> {
  let pw = await passwdEntry();
  if (!pw) {
    await run('useradd', [
      '--system', '--user-group', '--no-create-home',
      '--home-dir', TEST_HOME, '--shell', '/bin/sh',
      '--comment', 'Gatehouse e2e tests', TEST_USER,
    ]);
  } else if (pw.home !== TEST_HOME || pw.shell !== '/bin/sh') {
    await run('usermod', ['--home', TEST_HOME, '--shell', '/bin/sh', TEST_USER]);
  }
  pw = await passwdEntry();
  if (!pw) throw new Error(`useradd reported success but ${TEST_USER} is not in /etc/passwd`);

  await fs.mkdir(TEST_HOME, { recursive: true, mode: 0o755 });
  await fs.chown(TEST_HOME, pw.uid, pw.gid);
  await fs.chmod(TEST_HOME, 0o755);

  const password = randomBytes(18).toString('base64url');
  await run('chpasswd', [], `${TEST_USER}:${password}\n`);
  // Never expire / never force a change (sshd would refuse or prompt).
  await run('chage', ['--inactive', '-1', '--expiredate', '-1', '--maxdays', '-1', TEST_USER]);

  const tmp = `${PASSWORD_FILE}.${process.pid}.tmp`;
  await fs.writeFile(tmp, password + '\n', { mode: 0o600 });
  await fs.rename(tmp, PASSWORD_FILE);

  const ready = await readyAccount();
  if (!ready) throw new Error(`${TEST_USER} account setup finished but the account is not usable (check /etc/shadow)`);
  return ready;
}

async function acquireLock(): Promise<void> {
  const deadline = Date.now() + LOCK_WAIT_MS;
  for (;;) {
    try {
      await fs.mkdir(LOCK_DIR, { mode: 0o700 });
      await fs.writeFile(`${LOCK_DIR}/owner`, `${process.pid}\n`);
      return;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    try {
      const st = await fs.stat(LOCK_DIR);
      if (Date.now() - st.mtimeMs > LOCK_STALE_MS) {
        // Holder died mid-setup; setup is idempotent so it is safe to take over.
        await fs.rm(LOCK_DIR, { recursive: true, force: true });
        continue;
      }
    } catch {
      continue; // released between mkdir and stat
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for lock ${LOCK_DIR} (remove it if stale)`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

interface PasswdEntry { uid: number; gid: number; home: string; shell: string }

async function passwdEntry(): Promise<PasswdEntry | undefined> {
  const text = await fs.readFile('/etc/passwd', 'utf8');
  for (const line of text.split('\n')) {
    const f = line.split(':');
    if (f[0] === TEST_USER && f.length >= 7) {
      return { uid: Number(f[2]), gid: Number(f[3]), home: f[5]!, shell: f[6]! };
    }
  }
  return undefined;
}

async function shadowHash(): Promise<string | undefined> {
  const text = await fs.readFile('/etc/shadow', 'utf8');
  for (const line of text.split('\n')) {
    const f = line.split(':');
    if (f[0] === TEST_USER) return f[1];
  }
  return undefined;
}

function run(cmd: string, args: string[], stdin?: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['pipe', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.once('error', (err) => reject(new Error(`${cmd} failed to start: ${err.message}`)));
    child.once('close', (code, signal) => {
      if (code === 0) resolve();
      // argv never contains secrets here, so it is safe to include it.
      else reject(new Error(`${cmd} ${args.join(' ')} exited ${code ?? signal}: ${stderr.trim()}`));
    });
    child.stdin.end(stdin ?? '');
  });
}
