// The appliance's SSH host key: generated once in the data directory and kept.
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import ssh2 from 'ssh2';
import { writeFileAtomic } from '../../system/atomic-file.js';

export interface HostKey {
  privateKey: string;
  publicLine: string;
  fingerprint: string;
}

/** OpenSSH-style fingerprint ("SHA256:" + unpadded base64) of a public key blob. */
export function fingerprintOf(publicBlob: Buffer): string {
  return `SHA256:${createHash('sha256').update(publicBlob).digest('base64').replace(/=+$/, '')}`;
}

export function describeKey(privateKey: string): HostKey {
  const parsed = ssh2.utils.parseKey(privateKey);
  if (parsed instanceof Error) throw new Error(`unreadable host key: ${parsed.message}`);
  const blob = parsed.getPublicSSH();
  return { privateKey, publicLine: `${parsed.type} ${blob.toString('base64')}`, fingerprint: fingerprintOf(blob) };
}

/** Loads the ed25519 key at `file`, generating it (mode 0600) the first time. */
export async function loadOrCreateKey(file: string, comment: string): Promise<HostKey & { created: boolean }> {
  try {
    return { ...describeKey(await readFile(file, 'utf8')), created: false };
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  const pair = ssh2.utils.generateKeyPairSync('ed25519', { comment });
  await writeFileAtomic(file, pair.private, 0o600);
  return { ...describeKey(pair.private), created: true };
}
