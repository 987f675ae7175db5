// The cryptography of the credential store: key derivation (scrypt for passphrases, HKDF for
// sub-keys), AES-256-GCM sealing of the data key and of entries, and the document MAC.
// Every function that handles key material wipes the intermediate Buffers it created.
import {
  createCipheriv,
  createDecipheriv,
  createHmac,
  hkdfSync,
  randomBytes,
  randomFillSync,
  scrypt,
  timingSafeEqual,
  type ScryptOptions,
} from 'node:crypto';
import { promisify } from 'node:util';
import { IV_BYTES, KEY_BYTES, SALT_BYTES, TAG_BYTES, type SealedBox, type ScryptParams } from './store-format.js';

type ScryptAsync = (password: Buffer, salt: Buffer, keylen: number, options: ScryptOptions) => Promise<Buffer>;
const scryptAsync = promisify(scrypt) as ScryptAsync;

/** The two keys derived from a KEK secret (the appliance key, or the scrypt output of the passphrase). */
export interface KeyEncryptionKey {
  /** Wraps the data key (AES-256-GCM). */
  wrapKey: Buffer;
  /** Stored in the file; equal only when the secret is right (see local-store.ts on why it exists). */
  keyCheck: Buffer;
}

export function wipe(...buffers: Array<Buffer | undefined>): void {
  for (const buffer of buffers) buffer?.fill(0);
}

/** A fresh random key in its own (unpooled) Buffer, so wiping it wipes the only copy. */
export function newKey(): Buffer {
  return randomFillSync(Buffer.alloc(KEY_BYTES));
}

export function newScryptParams(N: number): ScryptParams {
  return { name: 'scrypt', N, r: 8, p: 1, salt: randomBytes(SALT_BYTES).toString('base64') };
}

function hkdf(secret: Buffer, label: string): Buffer {
  return Buffer.from(hkdfSync('sha256', secret, Buffer.alloc(0), `gatehouse credential store v1 ${label}`, KEY_BYTES));
}

export function deriveKek(secret: Buffer): KeyEncryptionKey {
  return { wrapKey: hkdf(secret, 'key-wrap'), keyCheck: hkdf(secret, 'key-check') };
}

export function wipeKek(kek: KeyEncryptionKey): void {
  wipe(kek.wrapKey, kek.keyCheck);
}

/**
 * The scrypt input for a (compound) passphrase: each NFC-normalised part as UTF-8, prefixed with
 * its byte length, in order. The prefixes make the split count: "ab"+"c" and "a"+"bc" differ.
 */
function passphraseInput(parts: string[]): Buffer {
  const chunks = parts.flatMap((part) => {
    const bytes = Buffer.from(part.normalize('NFC'), 'utf8');
    const length = Buffer.alloc(4);
    length.writeUInt32BE(bytes.length);
    return [length, bytes];
  });
  const input = Buffer.concat(chunks);
  wipe(...chunks);
  return input;
}

/** The KEK secret of a passphrase: scrypt over its parts with the parameters stored in the file. */
export async function passphraseSecret(parts: string[], params: ScryptParams): Promise<Buffer> {
  const input = passphraseInput(parts);
  try {
    const { N, r, p } = params;
    const salt = Buffer.from(params.salt, 'base64');
    return await scryptAsync(input, salt, KEY_BYTES, { N, r, p, maxmem: 256 * N * r + 2 ** 20 });
  } finally {
    wipe(input);
  }
}

export function seal(key: Buffer, plaintext: Buffer, aad: Buffer): SealedBox {
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv('aes-256-gcm', key, iv, { authTagLength: TAG_BYTES }).setAAD(aad);
  const ciphertext = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  const tag = cipher.getAuthTag();
  return { iv: iv.toString('base64'), ciphertext: ciphertext.toString('base64'), tag: tag.toString('base64') };
}

/** The plaintext (the caller wipes it), or undefined when authentication fails. Never a partial result. */
export function unseal(key: Buffer, box: SealedBox, aad: Buffer): Buffer | undefined {
  const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(box.iv, 'base64'), { authTagLength: TAG_BYTES })
    .setAAD(aad)
    .setAuthTag(Buffer.from(box.tag, 'base64'));
  // GCM hands out plaintext before the tag is checked: keep it until final() has accepted the tag.
  const unverified = decipher.update(Buffer.from(box.ciphertext, 'base64'));
  try {
    decipher.final();
  } catch {
    wipe(unverified);
    return undefined;
  }
  return unverified;
}

/** HMAC-SHA256 of the document with a key derived from the data key. */
export function documentMac(dataKey: Buffer, input: Buffer): Buffer {
  const macKey = hkdf(dataKey, 'document-mac');
  try {
    return createHmac('sha256', macKey).update(input).digest();
  } finally {
    wipe(macKey);
  }
}

export function sameBytes(a: Buffer, b: Buffer): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}
