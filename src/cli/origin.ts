// Who is making a change from the CLI, and from where: the local console or a remote session.
import { readlinkSync } from 'node:fs';
import { userInfo } from 'node:os';
import type { ChangeOrigin } from '../config/sealed.js';

/** Terminals that are the appliance's own console: serial lines, virtual consoles, /dev/console. */
const consoleTerminal = /^\/dev\/(ttyS\d+|ttyAMA\d+|ttyUSB\d+|tty\d+|console)$/;

/**
 * The origin of a CLI change: GATEHOUSE_ORIGIN when set, else the terminal standard input is
 * attached to, where anything but the local console (an SSH session, a pipe) counts as remote.
 * Trusting the variable is sound because the CLI needs a root shell on the appliance, which can
 * rewrite the data directory anyway; sealed mode guards the remote surfaces (management API, SSH
 * admin access), which call the stores with origin 'remote' in-process and never read it.
 */
export function changeOrigin(): ChangeOrigin {
  const declared = process.env.GATEHOUSE_ORIGIN;
  if (declared === 'console' || declared === 'remote') return declared;
  try {
    return consoleTerminal.test(readlinkSync('/proc/self/fd/0')) ? 'console' : 'remote';
  } catch {
    return 'remote';
  }
}

export function changeAuthor(): string {
  return process.env.SUDO_USER ?? userInfo().username;
}
