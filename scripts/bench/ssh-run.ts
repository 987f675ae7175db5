// Runs the real OpenSSH client for the benchmark: a hermetic client config (so that ProxyJump's
// second ssh gets the same options through -F), timed runs with output to /dev/null, and cleanup
// of every client process tree.
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { killProcessTree, killProcessTreeSync, onExitSync, type TeardownHost } from '../../test/e2e/helpers/sshd.js';
import type { ClientKey } from './client-key.js';
import type { CpuGroup } from './cpu-group.js';

export const CIPHER = 'aes128-gcm@openssh.com';

/**
 * Writes an ssh_config for the benchmark clients (removed at teardown). `kex` pins
 * KexAlgorithms; otherwise OpenSSH's default order applies (sntrup761x25519 first in 9.x).
 */
export async function writeClientConfig(t: TeardownHost, key: ClientKey, options: { kex?: string } = {}): Promise<string> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'gatehouse-bench-ssh-'));
  t.teardown(() => fs.rm(dir, { recursive: true, force: true }));
  const file = path.join(dir, 'ssh_config');
  const lines = [
    'Host *',
    '  StrictHostKeyChecking no',
    '  UserKnownHostsFile /dev/null',
    '  GlobalKnownHostsFile /dev/null',
    '  CheckHostIP no',
    '  UpdateHostKeys no',
    '  LogLevel ERROR',
    '  BatchMode yes',
    `  IdentityFile ${key.privatePath}`,
    '  IdentitiesOnly yes',
    '  IdentityAgent none',
    '  PreferredAuthentications publickey',
    `  Ciphers ${CIPHER}`,
    ...(options.kex ? [`  KexAlgorithms ${options.kex}`] : []),
    '  Compression no',
    '  ControlMaster no',
    '  ControlPath none',
    '  ConnectTimeout 10',
    '  ConnectionAttempts 1',
    '  ForwardAgent no',
    '  ForwardX11 no',
    '  RequestTTY no',
    '',
  ];
  await fs.writeFile(file, lines.join('\n'), { mode: 0o644 });
  return file;
}

export interface SshPath {
  /** Short id: direct | gatehouse | proxyjump */
  id: string;
  label: string;
  /** ssh arguments up to and including "-- 127.0.0.1" (append the remote command). */
  args: string[];
}

/** ssh arguments for a login through a Gatehouse on 127.0.0.1:`gatewayPort` as `loginName` (`user@host:port`). */
export function viaGatehouse(clientConfig: string, gatewayPort: number, loginName: string): string[] {
  return ['-F', clientConfig, '-T', '-p', String(gatewayPort), '-l', loginName, '--', '127.0.0.1'];
}

export interface TimedRun {
  ms: number;
  code: number | null;
  signal: NodeJS.Signals | null;
  stderr: string;
  timedOut: boolean;
}

const live = new Set<ChildProcess>();
let exitHook = false;

/** Kills every client still running (teardown / Ctrl-C). */
export async function killAllClients(): Promise<void> {
  await Promise.all([...live].map((c) => (c.pid !== undefined ? killProcessTree(c.pid, 'SIGKILL') : undefined)));
}

/**
 * Spawns `file args` in its own process group with stdin from /dev/null and stdout to /dev/null,
 * and times it from spawn to exit (wall clock, high-resolution). With `group`, a shell first
 * moves itself into that CPU accounting group, then execs the command.
 */
export function timedRun(file: string, args: string[], timeoutMs: number, group?: CpuGroup): Promise<TimedRun> {
  if (group) {
    args = ['-c', 'echo $$ > "$0" && exec "$@"', group.procsFile, file, ...args];
    file = 'sh';
  }
  if (!exitHook) {
    exitHook = true;
    onExitSync(() => {
      for (const c of live) if (c.pid !== undefined) killProcessTreeSync(c.pid);
    });
  }
  const env: NodeJS.ProcessEnv = { ...process.env };
  delete env.SSH_AUTH_SOCK;
  return new Promise((resolve, reject) => {
    const started = process.hrtime.bigint();
    const child = spawn(file, args, { detached: true, env, stdio: ['ignore', 'ignore', 'pipe'] });
    live.add(child);
    let stderr = '';
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      if (child.pid !== undefined) void killProcessTree(child.pid, 'SIGKILL');
    }, timeoutMs);
    child.stderr!.setEncoding('utf8').on('data', (d: string) => {
      if (stderr.length < 64 * 1024) stderr += d;
    });
    child.once('error', (err) => {
      clearTimeout(timer);
      live.delete(child);
      reject(new Error(`failed to start ${file}: ${err.message}`));
    });
    child.once('close', (code, signal) => {
      const ms = Number(process.hrtime.bigint() - started) / 1e6;
      clearTimeout(timer);
      live.delete(child);
      resolve({ ms, code, signal, stderr, timedOut });
    });
  });
}

/** `ssh ARGS command` with stdout to /dev/null. */
export function timedSsh(p: SshPath, command: string, timeoutMs: number, extra: string[] = [], group?: CpuGroup): Promise<TimedRun> {
  return timedRun('ssh', [...extra, ...p.args, command], timeoutMs, group);
}

/** `head -c BYTES /dev/zero | ssh ARGS command`, timed as a whole. */
export function timedUpload(p: SshPath, bytes: number, command: string, timeoutMs: number, group?: CpuGroup): Promise<TimedRun> {
  const script = 'n=$1; shift; head -c "$n" /dev/zero | ssh "$@"';
  return timedRun('sh', ['-c', script, 'sh', String(bytes), ...p.args, command], timeoutMs, group);
}

/** Throws with the client's stderr unless the run exited 0. */
export function checkRun(p: SshPath, what: string, run: TimedRun): void {
  if (run.code === 0 && !run.timedOut) return;
  const why = run.timedOut ? 'timed out' : `exited ${run.code ?? run.signal}`;
  throw new Error(`${what} via ${p.label} ${why}: ${run.stderr.trim().slice(0, 2000)}`);
}
