// (a) Bulk throughput through one session: `ssh … 'head -c N /dev/zero' > /dev/null` (download),
// `head -c N /dev/zero | ssh … 'cat > /dev/null'` (upload) and `ssh -tt … 'head -c N /dev/urandom |
// base64 -w 76'` (terminal: text through a pty, what a recorded shell carries), every path once per round, the
// order rotated each round. CPU time is attributed to the client side (ssh, the jump ssh, head),
// the relay (the gateway, or the bastion sshd with its session processes) and the target sshd
// (with its session processes and head/cat), each a cpuacct group (cpu-group.ts).
import type { CpuGroup } from './cpu-group.js';
import { busySince, machineCpu } from './cpu.js';
import { cpuSeconds } from './gatehouse-process.js';
import { checkRun, timedSsh, timedUpload, type SshPath } from './ssh-run.js';
import { rotate, sleep } from './stats.js';

export type Direction = 'download' | 'upload' | 'terminal';

export interface CpuBreakdown {
  /** ssh (and the jump ssh, head, sh). NaN without CPU groups. */
  client: number;
  /** The relay: the gateway process, or the bastion sshd and its session processes; ~0 for direct. */
  relay: number;
  /** Target sshd and its session processes (head/cat included). */
  target: number;
  /** Busy time of the whole machine (all processes, kernel threads, all CPUs). */
  machine: number;
  /** The gateway process alone (from /proc/PID/stat), Gatehouse runs only. */
  gateway?: number;
}

export interface ThroughputSample {
  path: string;
  direction: Direction;
  round: number;
  ms: number;
  /** MB/s with MB = 10^6 bytes, over the whole wall-clock time including the login. */
  mbps: number;
  /** CPU seconds used from the start of the run until 300 ms after the client exited. */
  cpu: CpuBreakdown;
}

export interface CpuGroups {
  client: CpuGroup;
  relay: CpuGroup;
  target: CpuGroup;
}

export interface ThroughputOptions {
  bytes: number;
  /** Random bytes the terminal direction base64-encodes through the pty (its output is 4/3 of them and more). */
  terminalBytes: number;
  rounds: number;
  directions: Direction[];
  /** The gateway process serving each Gatehouse path, by path id. */
  gatewayPids: Record<string, number>;
  groups?: CpuGroups;
  /** Runs after each transfer (the bench removes what a recording gateway wrote, so the disk does not fill). */
  afterRun?: (path: string) => Promise<void>;
  progress: (line: string) => void;
}

/** The command's output in bytes as the client receives it: base64 lines of 76 characters, `\n` turned into `\r\n` by the pty. */
export function terminalOutputBytes(randomBytes: number): number {
  const text = Math.ceil(randomBytes / 3) * 4;
  return text + 2 * Math.ceil(text / 76);
}

export async function measureThroughput(paths: SshPath[], o: ThroughputOptions): Promise<ThroughputSample[]> {
  const samples: ThroughputSample[] = [];
  const timeoutMs = Math.max(120_000, (o.bytes / 5e6) * 1000); // nothing here should be slower than 5 MB/s
  const g = o.groups;
  const groupSeconds = (group: CpuGroup | undefined): number => (group ? group.seconds() : Number.NaN);
  for (const direction of o.directions) {
    for (let round = 0; round < o.rounds; round++) {
      for (const p of rotate(paths, round)) {
        const gwPid = o.gatewayPids[p.id];
        const before = {
          client: groupSeconds(g?.client),
          relay: groupSeconds(g?.relay),
          target: groupSeconds(g?.target),
          machine: machineCpu(),
          gateway: gwPid === undefined ? 0 : cpuSeconds(gwPid),
        };
        const run =
          direction === 'download'
            ? await timedSsh(p, `head -c ${o.bytes} /dev/zero`, timeoutMs, [], g?.client)
            : direction === 'upload'
              ? await timedUpload(p, o.bytes, 'cat > /dev/null', timeoutMs, g?.client)
              : await timedSsh({ ...p, args: p.args.map((a) => (a === '-T' ? '-tt' : a)) }, `head -c ${o.terminalBytes} /dev/urandom | base64 -w 76`, timeoutMs, [], g?.client);
        await o.afterRun?.(p.id);
        await sleep(300); // the session's processes exit on both sides before the next run
        const cpu: CpuBreakdown = {
          client: groupSeconds(g?.client) - before.client,
          relay: groupSeconds(g?.relay) - before.relay,
          target: groupSeconds(g?.target) - before.target,
          machine: busySince(before.machine),
          ...(gwPid !== undefined ? { gateway: cpuSeconds(gwPid) - before.gateway } : {}),
        };
        const moved = direction === 'terminal' ? terminalOutputBytes(o.terminalBytes) : o.bytes;
        checkRun(p, `${direction} of ${moved} bytes`, run);
        const sample: ThroughputSample = { path: p.id, direction, round, ms: run.ms, mbps: moved / 1e6 / (run.ms / 1000), cpu };
        samples.push(sample);
        o.progress(
          `${direction} round ${round + 1}/${o.rounds} ${p.id}: ${(run.ms / 1000).toFixed(2)} s, ${sample.mbps.toFixed(0)} MB/s; ` +
            `CPU s client ${cpu.client.toFixed(2)} relay ${cpu.relay.toFixed(2)} target ${cpu.target.toFixed(2)} machine ${cpu.machine.toFixed(2)}`,
        );
      }
    }
  }
  return samples;
}
