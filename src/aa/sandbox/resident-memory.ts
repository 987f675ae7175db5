// The resident memory of a process, as Linux reports it. Node's heap limit does not cover Buffers
// and other memory outside the V8 heap, so the sandbox also watches this figure.
import { readFile } from 'node:fs/promises';

/** Resident set size in MiB, or undefined when the process is gone or /proc cannot tell. */
export async function residentMemoryMb(pid: number): Promise<number | undefined> {
  try {
    const status = await readFile(`/proc/${pid}/status`, 'utf8');
    const match = /^VmRSS:\s+(\d+) kB$/m.exec(status);
    return match ? Number(match[1]) / 1024 : undefined;
  } catch {
    return undefined;
  }
}
