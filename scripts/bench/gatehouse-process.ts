// Runs `gatehouse serve` as its own process (as in production), with a data directory holding a
// generated config.json, and reads its memory and CPU from /proc.
import { spawn, type ChildProcess } from 'node:child_process';
import { openSync, closeSync, readFileSync } from 'node:fs';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { killProcessTree, killProcessTreeSync, onExitSync, type TeardownHost } from '../../test/e2e/helpers/sshd.js';

/** dist/scripts/bench/ → dist/src/cli/main.js */
export const GATEHOUSE_MAIN = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));
const GC_HOOK = new URL('./gc-on-signal.js', import.meta.url).href;

export interface GatehouseProcess {
  pid: number;
  port: number;
  dataDir: string;
  logFile: string;
  /** The exact command line the gateway runs with. */
  commandLine: string;
  /** "ssh-ed25519 AAAA..." the gateway logs in to targets with (authorize it at the target). */
  upstreamPublicLine: string;
  /**
   * Only with `gcHook`: SIGUSR2 → the gateway runs a full GC and reports process.memoryUsage()
   * (bytes) on stderr; resolves with it (undefined after 5 s without an answer).
   */
  collectGarbage(): Promise<NodeJS.MemoryUsage | undefined>;
  /** SIGTERM, then SIGKILL after 5 s. Resolves with how it ended. Idempotent. */
  stop(): Promise<{ graceful: boolean; ms: number }>;
}

export interface GatehouseConfigInput {
  user: string;
  authorizedKey: string;
  logLevel?: 'info' | 'warn' | 'debug';
  /** Run node with --expose-gc and a SIGUSR2 → gc() hook (see gc-on-signal.ts). */
  gcHook?: boolean;
  /** Further node options (e.g. --cpu-prof when investigating). */
  nodeArgs?: string[];
  /** More gateway users with the same key. */
  extraUsers?: string[];
  /** Merged into the configuration, and into its one connection policy. */
  config?: Record<string, unknown>;
  policy?: Record<string, unknown>;
  /** Runs on the data directory before the gateway starts (install plugins, fill the credential store). */
  prepare?(dataDir: string): Promise<void>;
}

export async function startGatehouse(t: TeardownHost, input: GatehouseConfigInput): Promise<GatehouseProcess> {
  const dataDir = await fs.mkdtemp(path.join(os.tmpdir(), 'gatehouse-bench-'));
  const config = {
    users: [input.user, ...(input.extraUsers ?? [])].map((name) => ({ name, authorizedKeys: [input.authorizedKey] })),
    connectionPolicies: [
      {
        name: 'bench',
        listen: { address: '127.0.0.1', port: 0 },
        targets: [{ host: '127.0.0.1', ports: '*' }],
        hostKeyPolicy: 'trust-on-first-use',
        credentials: { type: 'gateway-key' },
        ...input.policy,
      },
    ],
    logging: { level: input.logLevel ?? 'info' },
    ...input.config,
  };
  await input.prepare?.(dataDir);
  await fs.writeFile(path.join(dataDir, 'config.json'), JSON.stringify(config, null, 2) + '\n', { mode: 0o600 });
  const logFile = path.join(dataDir, 'gateway.log');
  const logFd = openSync(logFile, 'a', 0o600);

  const nodeArgs = [
    ...(input.gcHook ? ['--expose-gc', '--import', GC_HOOK] : []),
    ...(input.nodeArgs ?? []),
  ];
  let child: ChildProcess | undefined = spawn(process.execPath, [...nodeArgs, GATEHOUSE_MAIN, 'serve'], {
    detached: true,
    env: { ...process.env, GATEHOUSE_DATA: dataDir },
    stdio: ['ignore', logFd, 'pipe'],
  });
  closeSync(logFd);
  const pid = child.pid!;
  const offExit = onExitSync(() => {
    if (child && child.exitCode === null && child.signalCode === null) killProcessTreeSync(pid);
  });
  let stopped: Promise<{ graceful: boolean; ms: number }> | undefined;
  const stop = (): Promise<{ graceful: boolean; ms: number }> => {
    stopped ??= (async () => {
      const c = child;
      const started = Date.now();
      if (!c || c.exitCode !== null || c.signalCode !== null) return { graceful: true, ms: 0 };
      const exited = new Promise<void>((resolve) => c.once('exit', () => resolve()));
      try {
        process.kill(pid, 'SIGTERM');
      } catch {
        /* gone */
      }
      const graceful = await Promise.race([exited.then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), 5000))]);
      if (!graceful) {
        await killProcessTree(pid, 'SIGKILL');
        await exited;
      }
      child = undefined;
      return { graceful, ms: Date.now() - started };
    })();
    return stopped;
  };
  t.teardown(async () => {
    await stop();
    offExit();
    await fs.rm(dataDir, { recursive: true, force: true });
  });

  let stderr = '';
  const memoryWaiters: ((m: NodeJS.MemoryUsage) => void)[] = [];
  let partial = '';
  child.stderr!.setEncoding('utf8').on('data', (d: string) => {
    partial += d;
    const lines = partial.split('\n');
    partial = lines.pop() ?? '';
    for (const line of lines) {
      const m = /^gatehouse-bench-memory (.+)$/.exec(line);
      if (m) memoryWaiters.shift()?.(JSON.parse(m[1]!) as NodeJS.MemoryUsage);
    }
  });
  const collectGarbage = (): Promise<NodeJS.MemoryUsage | undefined> =>
    new Promise((resolve) => {
      const timer = setTimeout(() => {
        const i = memoryWaiters.indexOf(done);
        if (i >= 0) memoryWaiters.splice(i, 1);
        resolve(undefined);
      }, 5000);
      const done = (m: NodeJS.MemoryUsage): void => {
        clearTimeout(timer);
        resolve(m);
      };
      memoryWaiters.push(done);
      try {
        process.kill(pid, 'SIGUSR2');
      } catch {
        /* gone: the timer answers */
      }
    });
  const ready = await new Promise<{ port: number; upstream: string }>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`gatehouse did not start within 15 s; stderr: ${stderr}`)), 15_000);
    child!.stderr!.on('data', (d: string) => {
      if (stderr.length < 64 * 1024) stderr += d;
      const port = /listens on 127\.0\.0\.1:(\d+)/.exec(stderr);
      const upstream = /Upstream login key[^\n]*\n\s*(ssh-ed25519 \S+)/.exec(stderr);
      if (port && upstream) {
        clearTimeout(timer);
        resolve({ port: Number(port[1]), upstream: upstream[1]! });
      }
    });
    child!.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`gatehouse exited (${code ?? signal}) before listening; stderr: ${stderr}`));
    });
  });
  const shown = (a: string): string => (a === GC_HOOK ? 'dist/scripts/bench/gc-on-signal.js' : a);
  const commandLine = ['node', ...nodeArgs.map(shown), 'dist/src/cli/main.js', 'serve'].join(' ');
  return { pid, port: ready.port, dataDir, logFile, commandLine, upstreamPublicLine: ready.upstream, collectGarbage, stop };
}

/** A /proc/PID/status field in KiB (VmRSS, VmHWM, ...). */
export function statusKiB(pid: number, field: 'VmRSS' | 'VmHWM' | 'RssAnon' | 'RssFile'): number {
  const text = readFileSync(`/proc/${pid}/status`, 'utf8');
  const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(text);
  if (!m) throw new Error(`no ${field} in /proc/${pid}/status`);
  return Number(m[1]);
}

const clockTicks = 100; // USER_HZ on Linux

/** utime + stime of a process, in seconds. */
export function cpuSeconds(pid: number): number {
  const s = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
  // After the comm field: state(0) ppid(1) ... utime is field 14 → index 11, stime index 12.
  return (Number(f[11]) + Number(f[12])) / clockTicks;
}

/** Parsed JSON log lines of the gateway. */
export async function gatewayLogLines(logFile: string): Promise<Record<string, unknown>[]> {
  const text = await fs.readFile(logFile, 'utf8');
  const lines: Record<string, unknown>[] = [];
  for (const line of text.split('\n')) {
    if (!line.trim()) continue;
    try {
      lines.push(JSON.parse(line) as Record<string, unknown>);
    } catch {
      /* not JSON */
    }
  }
  return lines;
}

/** Current size of the gateway log (a cursor for sessionEndSince). */
export async function logOffset(logFile: string): Promise<number> {
  return (await fs.stat(logFile)).size;
}

/** The first `session-ended` record written after `offset`, waiting up to `timeoutMs` for it. */
export async function sessionEndSince(logFile: string, offset: number, timeoutMs = 2000): Promise<Record<string, unknown> | undefined> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const handle = await fs.open(logFile, 'r');
    try {
      const { size } = await handle.stat();
      if (size > offset) {
        const buffer = Buffer.alloc(size - offset);
        await handle.read(buffer, 0, buffer.length, offset);
        for (const line of buffer.toString('utf8').split('\n')) {
          if (!line.includes('"session-ended"')) continue;
          try {
            return JSON.parse(line) as Record<string, unknown>;
          } catch {
            /* partial line */
          }
        }
      }
    } finally {
      await handle.close();
    }
    if (Date.now() > deadline) return undefined;
    await new Promise((r) => setTimeout(r, 25));
  }
}
