/**
 * Test helper: a real tinyproxy (Debian package `tinyproxy`) on 127.0.0.1 for one test, as the
 * HTTP CONNECT proxy of `[https_proxy]`.
 *
 * `startTinyproxy(t, { connectPorts, basicAuth? })` writes its own configuration into a temp dir
 * (loopback clients only, CONNECT allowed to `connectPorts` only, Basic authentication when
 * given), runs `tinyproxy -d -c <file>` on a free port as its own process group and resolves once
 * the port accepts connections. `t.teardown` (or process exit) kills it and removes the dir.
 */
import { spawn } from 'node:child_process';
import { rmSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { connect, createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

export const TINYPROXY_BIN = '/usr/bin/tinyproxy';
const START_TIMEOUT_MS = 10_000;

export interface TestTinyproxy {
  host: '127.0.0.1';
  port: number;
  /** What tinyproxy logged so far. */
  logs(): string;
}

export async function freeTcpPort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const { port } = probe.address() as AddressInfo;
  await new Promise((resolve) => probe.close(resolve));
  return port;
}

export async function startTinyproxy(
  t: { teardown(fn: () => unknown): unknown },
  options: { connectPorts: number[]; basicAuth?: { username: string; password: string } },
): Promise<TestTinyproxy> {
  const dir = await mkdtemp(join(tmpdir(), 'gatehouse-tinyproxy-'));
  const port = await freeTcpPort();
  const lines = [
    `Port ${port}`,
    'Listen 127.0.0.1',
    'Timeout 30',
    'MaxClients 20',
    'LogLevel Info',
    'Allow 127.0.0.1',
    ...(process.getuid?.() === 0 ? ['User nobody', 'Group nogroup'] : []),
    ...options.connectPorts.map((allowed) => `ConnectPort ${allowed}`),
    ...(options.basicAuth ? [`BasicAuth ${options.basicAuth.username} ${options.basicAuth.password}`] : []),
  ];
  await writeFile(join(dir, 'tinyproxy.conf'), `${lines.join('\n')}\n`);
  const child = spawn(TINYPROXY_BIN, ['-d', '-c', join(dir, 'tinyproxy.conf')], { detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  child.stdout.on('data', (chunk) => (log += chunk));
  child.stderr.on('data', (chunk) => (log += chunk));
  const kill = () => {
    if (child.exitCode === null && child.signalCode === null && child.pid !== undefined) process.kill(-child.pid, 'SIGKILL');
  };
  const onExit = () => {
    kill();
    rmSync(dir, { recursive: true, force: true });
  };
  process.once('exit', onExit);
  t.teardown(async () => {
    const exited = child.exitCode === null && child.signalCode === null ? new Promise((resolve) => child.once('exit', resolve)) : undefined;
    kill();
    await exited;
    await rm(dir, { recursive: true, force: true });
    process.off('exit', onExit);
  });
  const deadline = Date.now() + START_TIMEOUT_MS;
  while (!(await accepts(port))) {
    if (child.exitCode !== null || Date.now() > deadline) throw new Error(`tinyproxy did not start: ${log}`);
    await sleep(50);
  }
  return { host: '127.0.0.1', port, logs: () => log };
}

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}
