/**
 * e2e helper: drive the real OpenSSH client binaries (ssh, scp, sftp).
 *
 * - Options are hermetic: `-F /dev/null`, no known_hosts, no agent, no
 *   ControlMaster. Caller `extra` args come FIRST because ssh keeps the first
 *   value it sees for an option, so `extra` can override any default here.
 * - Passwords go through `sshpass -e` with SSHPASS in the environment, never
 *   on argv.
 * - Every client runs detached in its own process group (no controlling
 *   tty, so it can never prompt on the developer's terminal) and is killed
 *   with its whole process tree on timeout (default 60 s), on the teardown of
 *   `opts.t` if given, at the end of the root tap test, and on process exit.
 * - A timed-out run resolves with `timedOut: true` (and a note in stderr)
 *   rather than rejecting; spawn failures reject.
 */
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import tap from 'tap';
import { killProcessTree, killProcessTreeSync, onExitSync, readHostKey, type TeardownHost } from './sshd.js';

const execFileP = promisify(execFile);
const DEFAULT_TIMEOUT_MS = 60_000;

export interface ClientKey {
  privatePath: string;
  publicLine: string; // "ssh-ed25519 AAAA... comment"
  fingerprint: string; // "SHA256:..."
}

export interface SshRun {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: Buffer;
  stderr: string;
  timedOut: boolean;
  /** The prompts OpenSSH asked through SSH_ASKPASS, in order (when `answers` was given). */
  prompts: string[];
}

export interface SshTarget {
  port: number;
  /** The full login name; may contain '@' (e.g. "alice@target" through the gateway). */
  user: string;
  host?: string; // default 127.0.0.1
}

export interface AuthOpts {
  key?: ClientKey;
  /** Password for sshpass (runX) / `true` for sshArgs to select password auth. */
  password?: string;
  /**
   * Answers to interactive prompts (password and keyboard-interactive), given through SSH_ASKPASS:
   * `[pattern, answer]`, the first pattern the prompt contains wins. Turns on keyboard-interactive.
   */
  answers?: [pattern: string, answer: string][];
}

export interface RunOpts extends AuthOpts {
  /** Default 'devnull'. A Buffer is written then stdin is closed; a stream is piped. */
  stdin?: Buffer | 'devnull' | NodeJS.ReadableStream;
  /** Extra client args, placed before all defaults (so `-o X=y` overrides them). */
  extra?: string[];
  timeoutMs?: number;
  /** Extra environment for the client (e.g. LANG / GH_* for SendEnv). SSH_AUTH_SOCK is removed unless set here. */
  env?: Record<string, string>;
  /** Also kill the client when this (sub)test tears down. */
  t?: TeardownHost;
}

export interface SshRunOpts extends RunOpts {
  /** true: `-tt` (force a pty); otherwise `-T`. */
  tty?: boolean;
}

/** Generates a passphrase-less key (ssh-keygen -N '') in a temp dir removed at teardown. */
export async function makeClientKey(t: TeardownHost, type: 'ed25519' | 'rsa' = 'ed25519'): Promise<ClientKey> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'gatehouse-key-'));
  const offExit = onExitSync(() => rmSync(dir, { recursive: true, force: true }));
  t.teardown(async () => {
    await fs.rm(dir, { recursive: true, force: true });
    offExit();
  });
  const privatePath = path.join(dir, `id_${type}`);
  const args = ['-q', '-t', type, ...(type === 'rsa' ? ['-b', '3072'] : []), '-N', '', '-C', `gatehouse-e2e-${type}`, '-f', privatePath];
  try {
    await execFileP('ssh-keygen', args);
  } catch (err) {
    throw new Error(`ssh-keygen ${args.join(' ')} failed: ${(err as { stderr?: string }).stderr ?? String(err)}`);
  }
  await fs.chmod(privatePath, 0o600);
  const publicLine = (await fs.readFile(privatePath + '.pub', 'utf8')).trim();
  const { fingerprint } = await readHostKey(privatePath);
  return { privatePath, publicLine, fingerprint };
}

/** -o options shared by ssh, scp and sftp (no port/user/host). */
export function clientOptions(opts: { key?: ClientKey; password?: boolean | string; answers?: unknown }): string[] {
  const o = (kv: string): string[] => ['-o', kv];
  const args = [
    '-F', '/dev/null',
    ...o('StrictHostKeyChecking=no'),
    ...o('UserKnownHostsFile=/dev/null'),
    ...o('GlobalKnownHostsFile=/dev/null'),
    ...o('CheckHostIP=no'),
    ...o('UpdateHostKeys=no'),
    ...o('LogLevel=ERROR'),
    ...o('ConnectTimeout=10'),
    ...o('ConnectionAttempts=1'),
    ...o('ServerAliveInterval=10'),
    ...o('ServerAliveCountMax=6'),
    ...o('ControlMaster=no'),
    ...o('ControlPath=none'),
  ];
  if (opts.key) {
    args.push('-i', opts.key.privatePath, ...o('IdentitiesOnly=yes'));
    if (!opts.answers) args.push(...o('PreferredAuthentications=publickey'));
  }
  if (opts.answers) {
    const first = opts.key ? 'publickey' : 'password';
    args.push(...o('BatchMode=no'), ...o(`PreferredAuthentications=${first},keyboard-interactive`), ...o('NumberOfPasswordPrompts=1'));
    if (!opts.key) args.push(...o('PubkeyAuthentication=no'));
  } else if (opts.password) {
    // BatchMode must be off or ssh never asks sshpass for the password.
    args.push(...o('BatchMode=no'), ...o('PreferredAuthentications=password,keyboard-interactive'),
      ...o('PubkeyAuthentication=no'), ...o('NumberOfPasswordPrompts=1'));
  } else {
    args.push(...o('BatchMode=yes'));
  }
  return args;
}

/**
 * Full `ssh` argv up to and including `-- <host>`; append the remote command
 * after it. `extra` comes first so it can override defaults.
 */
export function sshArgs(target: SshTarget, opts: { key?: ClientKey; password?: boolean; answers?: unknown; extra?: string[] }): string[] {
  return [
    ...(opts.extra ?? []),
    ...clientOptions(opts),
    '-p', String(target.port),
    '-l', target.user,
    // ssh re-parses options *after* the destination unless it saw "--"
    // (so a command like "-V" would otherwise run locally).
    '--',
    target.host ?? '127.0.0.1',
  ];
}

/** Runs `ssh … host [command]` to completion. `string[]` commands are joined by ssh with spaces. */
export function runSsh(target: SshTarget, command: string | string[] | undefined, opts: SshRunOpts = {}): Promise<SshRun> {
  return spawnSsh(target, command, opts).done;
}

export interface SpawnedClient {
  child: ChildProcess;
  done: Promise<SshRun>;
  /** SIGKILL the client's whole process tree; resolves once it has exited. */
  kill(): Promise<void>;
}

/** Starts `ssh` without waiting (for -N -L forwards, interactive stdin, killing mid-transfer…). */
export function spawnSsh(target: SshTarget, command: string | string[] | undefined, opts: SshRunOpts = {}): SpawnedClient {
  const args = [
    ...(opts.extra ?? []),
    opts.tty ? '-tt' : '-T',
    ...sshArgs(target, { key: opts.key, password: opts.password !== undefined, answers: opts.answers }),
  ];
  if (command !== undefined) args.push(...(Array.isArray(command) ? command : [command]));
  return spawnClient('ssh', args, opts);
}

export interface ScpOpts extends RunOpts {
  /** Add -O: the legacy scp protocol (`scp -t/-f` exec'd via the remote shell) instead of SFTP. */
  legacy?: boolean;
  recursive?: boolean;
}

/**
 * `scp` between a local path and a remote path (relative to the account's
 * home, or absolute). The login name is passed as `-o User=` so it may
 * contain '@'.
 */
export function runScp(
  target: SshTarget,
  direction: 'upload' | 'download',
  localPath: string,
  remotePath: string,
  opts: ScpOpts = {},
): Promise<SshRun> {
  const remote = `${target.host ?? '127.0.0.1'}:${remotePath}`;
  const args = [
    ...(opts.extra ?? []),
    ...clientOptions(opts),
    '-P', String(target.port),
    '-o', `User=${target.user}`,
    ...(opts.legacy ? ['-O'] : []),
    ...(opts.recursive ? ['-r'] : []),
    '-q',
    '--',
    ...(direction === 'upload' ? [localPath, remote] : [remote, localPath]),
  ];
  return spawnClient('scp', args, opts).done;
}

/**
 * `sftp -b <batchfile>` with the given batch commands (one per line; a
 * leading '-' makes a failing command non-fatal, as in sftp(1)).
 * Exit code is non-zero if any (non '-') command failed.
 */
export async function runSftp(target: SshTarget, batchCommands: string, opts: RunOpts = {}): Promise<SshRun> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'gatehouse-sftp-'));
  try {
    const batch = path.join(dir, 'batch');
    await fs.writeFile(batch, batchCommands.endsWith('\n') ? batchCommands : batchCommands + '\n');
    const args = [
      ...(opts.extra ?? []),
      ...clientOptions(opts),
      '-P', String(target.port),
      '-o', `User=${target.user}`,
      // -b must come after our -o BatchMode=no: sftp appends its own "-oBatchMode yes" at this point.
      '-b', batch,
      target.host ?? '127.0.0.1',
    ];
    return await spawnClient('sftp', args, opts).done;
  } finally {
    await fs.rm(dir, { recursive: true, force: true });
  }
}

// ---------------------------------------------------------------------------

const live = new Set<ChildProcess>();
let globalCleanupRegistered = false;

/** Kills a client's process tree; resolves once it has closed. No-op after 'close' (the pid may be reused). */
async function killChild(c: ChildProcess): Promise<void> {
  if (c.pid === undefined || !live.has(c)) return;
  const closed = new Promise((resolve) => {
    c.once('close', resolve);
    setTimeout(resolve, 5000).unref(); // a stray grandchild could hold the pipes open
  });
  await killProcessTree(c.pid, 'SIGKILL');
  await closed;
}

function registerGlobalCleanup(): void {
  if (globalCleanupRegistered) return;
  globalCleanupRegistered = true;
  try {
    tap.teardown(() => Promise.all([...live].map(killChild)));
  } catch {
    /* root test already ending: the exit hook still covers us */
  }
  onExitSync(() => {
    for (const c of live) if (c.pid !== undefined) killProcessTreeSync(c.pid);
  });
}

function spawnClient(bin: string, args: string[], opts: RunOpts): SpawnedClient {
  registerGlobalCleanup();
  const env: NodeJS.ProcessEnv = { ...process.env };
  delete env.SSH_AUTH_SOCK;
  delete env.SSHPASS;
  Object.assign(env, opts.env);
  let file = bin;
  let argv = args;
  const askpass = opts.answers && prepareAskpass(opts.answers, env);
  if (opts.password !== undefined) {
    env.SSHPASS = opts.password;
    file = 'sshpass';
    argv = ['-e', bin, ...args];
  }

  const stdinMode = opts.stdin === undefined || opts.stdin === 'devnull' ? 'ignore' : 'pipe';
  const child = spawn(file, argv, { detached: true, env, stdio: [stdinMode, 'pipe', 'pipe'] });
  live.add(child);
  const kill = (): Promise<void> => killChild(child);
  opts.t?.teardown(kill);

  const done = new Promise<SshRun>((resolve, reject) => {
    const out: Buffer[] = [];
    let stderr = '';
    let timedOut = false;
    const timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    const timer = setTimeout(() => {
      timedOut = true;
      stderr += `\n[harness] ${bin} killed after ${timeoutMs} ms timeout\n`;
      void kill();
    }, timeoutMs);
    child.stdout!.on('data', (d: Buffer) => out.push(d));
    child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.once('error', (err) => {
      clearTimeout(timer);
      live.delete(child);
      reject(new Error(`failed to start ${file}: ${err.message}`));
    });
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      live.delete(child);
      const prompts = askpass?.finish() ?? [];
      // sshpass: 5 = wrong password (a second prompt appeared), 6 = host key unknown, 3 = general runtime error
      if (file === 'sshpass' && code !== null && code >= 2 && code <= 6) {
        stderr += `[harness] sshpass exited ${code} (${SSHPASS_CODES[code]})\n`;
      }
      resolve({ code, signal, stdout: Buffer.concat(out), stderr, timedOut, prompts });
    });
  });

  if (child.stdin) {
    child.stdin.on('error', () => {}); // EPIPE if the remote side stops reading
    const input = opts.stdin;
    if (Buffer.isBuffer(input)) child.stdin.end(input);
    else if (input && input !== 'devnull') input.pipe(child.stdin);
  }
  return { child, done, kill };
}

const ASKPASS_SCRIPT = path.join(path.dirname(new URL(import.meta.url).pathname), 'askpass.mjs');

/** Points ssh at askpass.mjs with `answers`; `finish` returns the prompts asked and removes the files. */
function prepareAskpass(answers: [string, string][], env: NodeJS.ProcessEnv): { finish(): string[] } {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'gatehouse-askpass-'));
  const offExit = onExitSync(() => rmSync(dir, { recursive: true, force: true }));
  const wrapper = path.join(dir, 'askpass');
  writeFileSync(path.join(dir, 'answers.json'), JSON.stringify(answers), { mode: 0o600 });
  writeFileSync(wrapper, `#!/bin/sh\nexec '${process.execPath}' '${ASKPASS_SCRIPT}' "$@"\n`, { mode: 0o700 });
  Object.assign(env, {
    SSH_ASKPASS: wrapper,
    SSH_ASKPASS_REQUIRE: 'force',
    GATEHOUSE_ASKPASS_ANSWERS: path.join(dir, 'answers.json'),
    GATEHOUSE_ASKPASS_LOG: path.join(dir, 'prompts'),
  });
  return {
    finish() {
      let asked: string[] = [];
      try {
        asked = readFileSync(path.join(dir, 'prompts'), 'utf8').split('\n').filter(Boolean).map((line) => JSON.parse(line) as string);
      } catch {
        // no prompt was asked
      }
      rmSync(dir, { recursive: true, force: true });
      offExit();
      return asked;
    },
  };
}

const SSHPASS_CODES: Record<number, string> = {
  2: 'conflicting arguments',
  3: 'general runtime error',
  4: 'unrecognized response from ssh (parse error)',
  5: 'invalid/incorrect password',
  6: 'host public key is unknown',
};
