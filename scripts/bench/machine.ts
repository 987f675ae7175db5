// What the benchmark ran on, and which algorithms each leg of each path negotiated.
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import { promisify } from 'node:util';
import type { TestSshd } from '../../test/e2e/helpers/sshd.js';
import { timedSsh, type SshPath } from './ssh-run.js';

const execFileP = promisify(execFile);
const require = createRequire(import.meta.url);

export interface Machine {
  cpus: number;
  cpuModel: string;
  memoryGiB: number;
  kernel: string;
  os: string;
  node: string;
  openssh: string;
  ssh2: string;
  /** require('ssh2/lib/protocol/crypto.js').bindingAvailable in the bench process. */
  ssh2Binding: boolean;
}

export async function describeMachine(): Promise<Machine> {
  const cpuinfo = readFileSync('/proc/cpuinfo', 'utf8');
  const cpuModel = /^model name\s*:\s*(.+)$/m.exec(cpuinfo)?.[1]?.trim() ?? os.cpus()[0]?.model ?? 'unknown';
  let osName = 'unknown';
  try {
    osName = /^PRETTY_NAME="?([^"\n]+)"?$/m.exec(readFileSync('/etc/os-release', 'utf8'))?.[1] ?? osName;
  } catch {
    /* keep unknown */
  }
  const ssh = await execFileP('ssh', ['-V']).catch((e: { stderr?: string }) => ({ stderr: e.stderr ?? '' }));
  const ssh2Package = JSON.parse(readFileSync(require.resolve('ssh2/package.json'), 'utf8')) as { version: string };
  return {
    cpus: os.availableParallelism(),
    cpuModel,
    memoryGiB: os.totalmem() / 2 ** 30,
    kernel: os.release(),
    os: osName,
    node: process.version,
    openssh: ssh.stderr.trim(),
    ssh2: ssh2Package.version,
    ssh2Binding: Boolean((require('ssh2/lib/protocol/crypto.js') as { bindingAvailable?: boolean }).bindingAvailable),
  };
}

export interface Leg {
  path: string;
  leg: string;
  kex: string;
  cipher: string;
}

/** kex/cipher of each handshake in `ssh -v` (or sshd DEBUG1) output, in order. */
export function parseKex(text: string): { kex: string; cipher: string }[] {
  const out: { kex: string; cipher: string }[] = [];
  let kex = '?';
  for (const line of text.split('\n')) {
    const k = /kex: algorithm: (\S+)/.exec(line);
    if (k) kex = k[1]!;
    const c = /kex: client->server cipher: (\S+)/.exec(line);
    if (c) out.push({ kex, cipher: c[1]! });
  }
  return out;
}

/**
 * One verbose login per path (client-side legs from `ssh -v`), plus one login through the
 * gateway to `debugSshd` (LogLevel DEBUG1) for the gateway's own upstream leg.
 */
export async function negotiatedLegs(paths: SshPath[], viaGatewayToDebug: SshPath, debugSshd: TestSshd): Promise<Leg[]> {
  const legs: Leg[] = [];
  for (const p of paths) {
    const run = await timedSsh(p, 'true', 30_000, ['-v']);
    const found = parseKex(run.stderr);
    const names =
      p.id.startsWith('direct') ? ['client → sshd'] : p.id.startsWith('gatehouse') ? ['client → Gatehouse'] : ['client → bastion sshd', 'client → sshd (inside the bastion tunnel)'];
    found.forEach((f, i) => legs.push({ path: p.id, leg: names[i] ?? `leg ${i + 1}`, ...f }));
    if (p.id === 'gatehouse') {
      const before = debugSshd.logs().length;
      await timedSsh(viaGatewayToDebug, 'true', 30_000);
      const up = parseKex(debugSshd.logs().slice(before));
      for (const f of up) legs.push({ path: p.id, leg: 'Gatehouse (ssh2 client) → sshd', ...f });
      if (up.length === 0) legs.push({ path: p.id, leg: 'Gatehouse (ssh2 client) → sshd', kex: '?', cipher: '? (not seen in sshd debug log)' });
    }
  }
  return legs;
}
