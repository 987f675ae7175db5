// (a) Bulk throughput through one session: `ssh … 'head -c N /dev/zero' > /dev/null` (download)
// and `head -c N /dev/zero | ssh … 'cat > /dev/null'` (upload), every path once per round, the
// order rotated each round.
import { cpuSeconds } from './gatehouse-process.js';
import { checkRun, timedSsh, timedUpload, type SshPath } from './ssh-run.js';
import { rotate, sleep } from './stats.js';

export type Direction = 'download' | 'upload';

export interface ThroughputSample {
  path: string;
  direction: Direction;
  round: number;
  ms: number;
  /** MB/s with MB = 10^6 bytes, over the whole wall-clock time including the login. */
  mbps: number;
  /** CPU seconds the gateway process used during this run (gatehouse path only). */
  gatewayCpuSeconds?: number;
}

export interface ThroughputOptions {
  bytes: number;
  rounds: number;
  directions: Direction[];
  gatewayPid: number;
  progress: (line: string) => void;
}

export async function measureThroughput(paths: SshPath[], o: ThroughputOptions): Promise<ThroughputSample[]> {
  const samples: ThroughputSample[] = [];
  const timeoutMs = Math.max(120_000, (o.bytes / 5e6) * 1000); // nothing here should be slower than 5 MB/s
  for (const direction of o.directions) {
    for (let round = 0; round < o.rounds; round++) {
      for (const p of rotate(paths, round)) {
        const cpuBefore = p.id === 'gatehouse' ? cpuSeconds(o.gatewayPid) : 0;
        const run =
          direction === 'download'
            ? await timedSsh(p, `head -c ${o.bytes} /dev/zero`, timeoutMs)
            : await timedUpload(p, o.bytes, 'cat > /dev/null', timeoutMs);
        checkRun(p, `${direction} of ${o.bytes} bytes`, run);
        const sample: ThroughputSample = { path: p.id, direction, round, ms: run.ms, mbps: o.bytes / 1e6 / (run.ms / 1000) };
        if (p.id === 'gatehouse') sample.gatewayCpuSeconds = cpuSeconds(o.gatewayPid) - cpuBefore;
        samples.push(sample);
        o.progress(`${direction} round ${round + 1}/${o.rounds} ${p.id}: ${(run.ms / 1000).toFixed(2)} s, ${sample.mbps.toFixed(0)} MB/s`);
        await sleep(300); // let the previous session's processes exit before the next one starts
      }
    }
  }
  return samples;
}
