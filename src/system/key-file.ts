// A key kept in the data directory: read when it exists, generated once (mode 0600) when it does not,
// and the OpenSSH-style fingerprint an admin compares. Shared by the SSH host keys and the recording key.
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { writeFileAtomic } from './atomic-file.js';

/** OpenSSH-style fingerprint ("SHA256:" + unpadded base64) of a public key blob in SSH wire format. */
export function sshFingerprint(publicBlob: Buffer): string {
  return `SHA256:${createHash('sha256').update(publicBlob).digest('base64').replace(/=+$/, '')}`;
}

/**
 * The text of the key file `file`; when there is none, `generate()` makes one, written atomically with
 * mode 0600. Any error other than a missing file (permissions, I/O) is thrown, never papered over with a new key.
 */
export async function readOrCreateKeyFile(file: string, generate: () => string): Promise<{ text: string; created: boolean }> {
  try {
    return { text: await readFile(file, 'utf8'), created: false };
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  const text = generate();
  await writeFileAtomic(file, text, 0o600);
  return { text, created: true };
}
