// The appliance's SSH host key: generated once in the data directory and kept.
import ssh2 from 'ssh2';
import { readOrCreateKeyFile, sshFingerprint } from '../../system/key-file.js';

export interface HostKey {
  privateKey: string;
  publicLine: string;
  fingerprint: string;
}

export function describeKey(privateKey: string): HostKey {
  const parsed = ssh2.utils.parseKey(privateKey);
  if (parsed instanceof Error) throw new Error(`unreadable host key: ${parsed.message}`);
  const blob = parsed.getPublicSSH();
  return { privateKey, publicLine: `${parsed.type} ${blob.toString('base64')}`, fingerprint: sshFingerprint(blob) };
}

type KeyOptions = { comment?: string } | { comment?: string; passphrase: string; cipher: string; rounds: number };

/**
 * A new ed25519 key pair in OpenSSH format. ssh2's generator writes the 32-byte public key like a
 * number and drops a leading zero byte (1 key in 256), which leaves the key unreadable; such a
 * key is generated again.
 */
export function generateEd25519Key(options: KeyOptions = {}): { private: string; public: string } {
  for (let attempt = 0; attempt < 16; attempt++) {
    const pair = ssh2.utils.generateKeyPairSync('ed25519', options);
    if (!(ssh2.utils.parseKey(pair.private, 'passphrase' in options ? options.passphrase : undefined) instanceof Error)) return pair;
  }
  throw new Error('could not generate a readable ed25519 key');
}

/** Loads the ed25519 key at `file`, generating it (mode 0600) the first time. */
export async function loadOrCreateKey(file: string, comment: string): Promise<HostKey & { created: boolean }> {
  const { text, created } = await readOrCreateKeyFile(file, () => generateEd25519Key({ comment }).private);
  return { ...describeKey(text), created };
}
