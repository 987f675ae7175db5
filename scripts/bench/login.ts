// (b) Login-to-command wall time: `ssh … true` from spawn to exit, every path once per round,
// the order rotated each round, after discarded warm-up runs.
import { checkRun, timedSsh, type SshPath } from './ssh-run.js';
import { rotate, sleep } from './stats.js';

export interface LoginSample {
  path: string;
  round: number;
  ms: number;
}

export interface LoginOptions {
  runs: number;
  warmup: number;
  progress: (line: string) => void;
}

export async function measureLogin(paths: SshPath[], o: LoginOptions): Promise<LoginSample[]> {
  for (let i = 0; i < o.warmup; i++) {
    for (const p of paths) checkRun(p, 'warm-up login', await timedSsh(p, 'true', 30_000));
  }
  const samples: LoginSample[] = [];
  for (let round = 0; round < o.runs; round++) {
    for (const p of rotate(paths, round)) {
      const run = await timedSsh(p, 'true', 30_000);
      checkRun(p, 'login', run);
      samples.push({ path: p.id, round, ms: run.ms });
      await sleep(50);
    }
    if ((round + 1) % 10 === 0 || round + 1 === o.runs) o.progress(`login round ${round + 1}/${o.runs}`);
  }
  return samples;
}
