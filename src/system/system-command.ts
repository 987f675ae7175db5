// The system commands the console needs (systemctl, networkctl, hostnamectl, mkfs.ext4) run as root. On
// the appliance the console itself runs as the gateway's user, which owns the data directory, so that
// everything it writes there stays readable by the gateway; the image's sudoers file lets that user run
// exactly these commands (and nothing else) as root, and the gateway's own NoNewPrivileges keeps it from
// using them. A process that already is root runs them directly.
import { execFile } from 'node:child_process';

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

/** The program and argv that run `command` as root for a process whose effective uid is `euid`. */
export function asRoot(command: string, args: string[], euid: number): [string, string[]] {
  return euid === 0 ? [command, args] : ['sudo', ['-n', '--', command, ...args]];
}

/**
 * Runs `command` with `args` as argv (never through a shell), as root, and resolves with its standard
 * output; rejects with a SystemCommandError naming the command (not the sudo wrapper).
 */
export function runSystemCommand(command: string, args: string[], options: SystemCommandOptions = {}): Promise<string> {
  const [file, argv] = asRoot(command, args, process.geteuid?.() ?? 0);
  return new Promise((resolve, reject) => {
    execFile(file, argv, { timeout: options.timeoutMs ?? 60_000 }, (err, stdout, stderr) => {
      if (err) reject(new SystemCommandError([command, ...args].join(' '), String(stderr).trim(), err.message));
      else resolve(String(stdout));
    });
  });
}
