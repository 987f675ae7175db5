// CPU accounting per group of processes with a cgroup-v1 `cpuacct` group: every process forked
// inside the group is counted, also after it exits. This matters because sshd's session processes
// are not all reaped by their parents (their CPU time never reaches the listener's cutime) and
// ProxyJump's jump ssh is not waited for by ssh. Without a writable cpuacct hierarchy the
// groups are unavailable and the report says n/a.
import { existsSync, mkdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { onExitSync, type TeardownHost } from '../../test/e2e/helpers/sshd.js';

const ROOT = '/sys/fs/cgroup/cpuacct';

export class CpuGroup {
  private constructor(readonly dir: string) {}

  /**
   * A fresh cpuacct group (inside `parent` if given; usage is hierarchical, so a parent counts
   * its subgroups) removed at teardown, or undefined if cgroups cannot be used here.
   */
  static create(t: TeardownHost, name: string, parent?: CpuGroup): CpuGroup | undefined {
    if (!existsSync(path.join(ROOT, 'cpuacct.usage'))) return undefined;
    const dir = parent ? path.join(parent.dir, name) : path.join(ROOT, `gatehouse-bench-${process.pid}-${name}`);
    try {
      mkdirSync(dir);
    } catch {
      return undefined;
    }
    const group = new CpuGroup(dir);
    const offExit = onExitSync(() => group.remove());
    t.teardown(() => {
      group.remove();
      offExit();
    });
    return group;
  }

  /** The file a process writes its pid to in order to join (`echo $$ > FILE`). */
  get procsFile(): string {
    return path.join(this.dir, 'cgroup.procs');
  }

  /** Moves a running process into the group; its later children are counted too. */
  add(pid: number): boolean {
    try {
      writeFileSync(this.procsFile, `${pid}\n`);
      return true;
    } catch {
      return false;
    }
  }

  /** CPU seconds (user + system) used by everything that ran in the group so far. */
  seconds(): number {
    try {
      return Number(readFileSync(path.join(this.dir, 'cpuacct.usage'), 'utf8').trim()) / 1e9;
    } catch {
      return Number.NaN;
    }
  }

  /** Moves any remaining processes back to the root group and removes the group. */
  remove(): void {
    try {
      for (const pid of readFileSync(this.procsFile, 'utf8').split('\n').filter(Boolean)) {
        try {
          writeFileSync(path.join(ROOT, 'cgroup.procs'), `${pid}\n`);
        } catch {
          /* exited */
        }
      }
      rmdirSync(this.dir);
    } catch {
      /* best effort */
    }
  }
}
