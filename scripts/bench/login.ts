// (b) Login-to-command wall time: `ssh … true` from spawn to exit, every path once per round,
// the order rotated each round, after discarded warm-up runs.
import { checkRun, timedSsh, type SshPath, type TimedRun } from './ssh-run.js';
import { rotate, sleep } from './stats.js';

export interface LoginSample {
  path: string;
  round: number;
  ms: number;
  /**
   * The client exited 255 without any error message while the gateway recorded the session as
   * completed normally: the command's exit status was lost on the way back (a gateway bug). The
   * login and command did happen, so the time still counts.
   */
  exitStatusLost?: boolean;
}

export interface LoginOptions {
  runs: number;
  warmup: number;
  progress: (line: string) => void;
  /**
   * Wraps one run of a path; for the gateway it says whether a failed run is the gateway losing
   * the exit status of a session it completed.
   */
  observe?: (p: SshPath, run: () => Promise<TimedRun>) => Promise<{ run: TimedRun; exitStatusLost: boolean }>;
  /** Counts lost exit statuses in warm-up runs too. */
  onLost?: () => void;
}

export async function measureLogin(paths: SshPath[], o: LoginOptions): Promise<LoginSample[]> {
  const once = async (p: SshPath): Promise<{ run: TimedRun; exitStatusLost: boolean }> => {
    const go = (): Promise<TimedRun> => timedSsh(p, 'true', 30_000);
    const result = o.observe ? await o.observe(p, go) : { run: await go(), exitStatusLost: false };
    if (result.exitStatusLost) o.onLost?.();
    else checkRun(p, 'login', result.run);
    return result;
  };
  for (let i = 0; i < o.warmup; i++) for (const p of paths) await once(p);
  const samples: LoginSample[] = [];
  for (let round = 0; round < o.runs; round++) {
    for (const p of rotate(paths, round)) {
      const { run, exitStatusLost } = await once(p);
      samples.push({ path: p.id, round, ms: run.ms, ...(exitStatusLost ? { exitStatusLost } : {}) });
      await sleep(50);
    }
    if ((round + 1) % 10 === 0 || round + 1 === o.runs) o.progress(`login round ${round + 1}/${o.runs}`);
  }
  return samples;
}
