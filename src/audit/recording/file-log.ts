// An sftp channel's file operations as terminal lines: the file-operation log is recorded as an asciicast like
// any other channel (one `o` line per operation), so verify, export, replay, the asciinema player and the
// text index all work on it unchanged. A line reads like a shell transcript of what the session did:
//   sftp open /etc/hosts (read)
//   sftp close /etc/hosts: read 1.2 KiB (1234 bytes), wrote 0 bytes
//   sftp rename /tmp/a -> /tmp/b: FAILED no-such-file
import type { FileOperation } from './sftp-observer.js';

export function fileLogLine(op: FileOperation): string {
  switch (op.op) {
    case 'open':
      return `sftp open ${op.path} (${op.flags})${outcome(op)}`;
    case 'close':
      return `sftp close ${op.path}: read ${bytes(op.bytesRead)}, wrote ${bytes(op.bytesWritten)}`;
    case 'rename':
    case 'symlink':
    case 'hardlink':
      return `sftp ${op.op} ${op.path} -> ${op.target}${outcome(op)}`;
    case 'protocol-error':
      return `sftp protocol error: ${op.detail}; no further operations are logged`;
    default:
      return `sftp ${op.op} ${op.path}${outcome(op)}`;
  }
}

function outcome(op: { ok: boolean; error?: string }): string {
  return op.ok ? '' : `: FAILED ${op.error ?? 'failure'}`;
}

/** Exact count, with a readable size in front once it is large. */
function bytes(n: number): string {
  if (n < 1024) return `${n} bytes`;
  const [value, unit] = n < 1024 ** 2 ? [n / 1024, 'KiB'] : n < 1024 ** 3 ? [n / 1024 ** 2, 'MiB'] : [n / 1024 ** 3, 'GiB'];
  return `${value.toFixed(1)} ${unit} (${n} bytes)`;
}
