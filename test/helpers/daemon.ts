// Stopping a daemon a test started in its own process group (slapd, FreeRADIUS): ask it to go,
// and kill the whole group if it has not gone within 3 s.
import type { ChildProcess } from 'node:child_process';

export function signalGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    // already gone
  }
}

/** `ask` requests a clean exit (a signal, or closing the watchdog's stdin); resolves once it exited. */
export async function stopDaemon(child: ChildProcess | undefined, ask: (child: ChildProcess) => void): Promise<void> {
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  ask(child);
  const timer = setTimeout(() => signalGroup(child, 'SIGKILL'), 3000);
  await exited;
  clearTimeout(timer);
}
