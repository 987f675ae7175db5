// Machine-wide CPU time from /proc/stat, to see how much CPU a path costs in total and whether
// the machine's CPUs were saturated during a run.
import { readFileSync } from 'node:fs';

const clockTicks = 100; // USER_HZ

export interface CpuSnapshot {
  /** Busy CPU seconds summed over all CPUs (everything but idle and iowait). */
  busy: number;
  /** user + nice + system only: the part that cgroup cpuacct groups can account to processes (no irq/softirq/steal). */
  tasks: number;
  total: number;
}

export function machineCpu(): CpuSnapshot {
  const line = readFileSync('/proc/stat', 'utf8').split('\n')[0]!; // "cpu  user nice system idle iowait irq softirq steal ..."
  const f = line.trim().split(/\s+/).slice(1, 9).map(Number);
  const total = f.reduce((a, b) => a + b, 0);
  const idle = f[3]! + f[4]!;
  return { busy: (total - idle) / clockTicks, tasks: (f[0]! + f[1]! + f[2]!) / clockTicks, total: total / clockTicks };
}

/** Busy CPU seconds between two snapshots. */
export function busySince(before: CpuSnapshot): number {
  return machineCpu().busy - before.busy;
}

/** user + nice + system CPU seconds between two snapshots. */
export function taskTimeSince(before: CpuSnapshot): number {
  return machineCpu().tasks - before.tasks;
}

export function loadAverage(): string {
  return readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
}

