// The appliance's recording signing key: an Ed25519 private key (PKCS#8 PEM) at
// `<dataDir>/recording_ed25519_key`, mode 0600, created once and kept. A closed recording's .sig is
// signed with it; anyone holding the public key (or comparing the fingerprint) can verify.
import { createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { join } from 'node:path';
import { readOrCreateKeyFile, sshFingerprint } from '../../system/key-file.js';

export const RECORDING_KEY_FILE = 'recording_ed25519_key';

export interface RecordingKey {
  privateKey: KeyObject;
  publicKey: KeyObject;
  /** SPKI PEM of the public key, what `gatehouse` hands to a verifier elsewhere. */
  publicPem: string;
  /** OpenSSH-style ("SHA256:…") fingerprint of the public key, as `ssh-keygen -l` shows it. */
  fingerprint: string;
}

/** The OpenSSH-style fingerprint of an Ed25519 public key (SHA-256 of its `ssh-ed25519` wire blob). */
export function recordingKeyFingerprint(publicKey: KeyObject): string {
  if (publicKey.asymmetricKeyType !== 'ed25519') throw new Error(`recording key is ${publicKey.asymmetricKeyType ?? 'not asymmetric'}, not ed25519`);
  const raw = Buffer.from(publicKey.export({ format: 'jwk' }).x as string, 'base64url');
  return sshFingerprint(Buffer.concat([sshString(Buffer.from('ssh-ed25519')), sshString(raw)]));
}

function sshString(data: Buffer): Buffer {
  const length = Buffer.alloc(4);
  length.writeUInt32BE(data.length);
  return Buffer.concat([length, data]);
}

/** The key pair held in a PKCS#8 PEM; throws when it is unreadable or not Ed25519. */
export function describeRecordingKey(privatePem: string): RecordingKey {
  let privateKey: KeyObject;
  try {
    privateKey = createPrivateKey(privatePem);
  } catch (err) {
    throw new Error(`unreadable recording signing key: ${(err as Error).message}`);
  }
  const publicKey = createPublicKey(privateKey);
  const fingerprint = recordingKeyFingerprint(publicKey);
  return { privateKey, publicKey, publicPem: publicKey.export({ type: 'spki', format: 'pem' }) as string, fingerprint };
}

/** Loads the recording signing key of the appliance, generating it the first time. */
export async function loadOrCreateRecordingKey(dataDir: string): Promise<RecordingKey & { created: boolean }> {
  const { text, created } = await readOrCreateKeyFile(join(dataDir, RECORDING_KEY_FILE), () =>
    generateKeyPairSync('ed25519').privateKey.export({ type: 'pkcs8', format: 'pem' }) as string,
  );
  return { ...describeRecordingKey(text), created };
}
