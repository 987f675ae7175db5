// Who the console acts as. It starts as root on the appliance, but everything it does in-process (config
// commits, host keys, the credential store, the audit journal) must belong to the gateway's user, which
// owns the data directory: so it continues as that user, keeping root as its real uid. The system commands
// it needs (systemctl, networkctl, hostnamectl, mkfs.ext4) then run as root through `runSystemCommand`.
import { execFile } from 'node:child_process';
import { statSync } from 'node:fs';

export interface Identity {
  uid: number;
  gid: number;
}

/** A system command failed; `stderr` is its trimmed error output (possibly empty). */
export class SystemCommandError extends Error {
  constructor(
    readonly command: string,
    readonly stderr: string,
    reason: string,
  ) {
    super(`${command}: ${stderr || reason}`);
    this.name = 'SystemCommandError';
  }
}

export interface SystemCommandOptions {
  /** Default 60 s; the command is killed after it. */
  timeoutMs?: number;
}

/**
 * Runs `command` with `args` as argv (never through a shell) and resolves with its standard output; rejects
 * with a SystemCommandError. When this process acts as the data owner (real uid root, effective uid not),
 * the command runs as root: the child's setuid(0) is allowed because the real uid is 0.
 */
export function runSystemCommand(command: string, args: string[], options: SystemCommandOptions = {}): Promise<string> {
  const asRoot = process.getuid?.() === 0 && process.geteuid?.() !== 0 ? { uid: 0, gid: 0 } : {};
  return new Promise((resolve, reject) => {
    execFile(command, args, { timeout: options.timeoutMs ?? 60_000, ...asRoot }, (err, stdout, stderr) => {
      if (err) reject(new SystemCommandError([command, ...args].join(' '), String(stderr).trim(), err.message));
      else resolve(String(stdout));
    });
  });
}

/** The identity to continue as: the data directory's owner when this process is root and the owner is not. */
export function dataOwnerToActAs(uid: number, dataDirOwner: Identity | undefined): Identity | undefined {
  if (uid !== 0 || dataDirOwner === undefined || dataDirOwner.uid === 0) return undefined;
  return dataDirOwner;
}

/**
 * Continues as the owner of `dataDir` when `dataOwnerToActAs` says so; returns who that is. The supplementary
 * groups are the owner's group and `disk` (firmware upgrades write the A/B root slot block devices) when
 * the system has that group. Effective ids only: the real uid stays root for `runSystemCommand`.
 */
export function actAsDataOwner(dataDir: string): Identity | undefined {
  const stats = statSync(dataDir, { throwIfNoEntry: false });
  const owner = dataOwnerToActAs(process.getuid?.() ?? -1, stats ? { uid: stats.uid, gid: stats.gid } : undefined);
  if (!owner) return undefined;
  try {
    process.setgroups!([owner.gid, 'disk']);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ERR_UNKNOWN_CREDENTIAL') throw err;
    process.setgroups!([owner.gid]);
  }
  process.setegid!(owner.gid);
  process.seteuid!(owner.uid);
  return owner;
}
