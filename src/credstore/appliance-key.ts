// The appliance key: 32 random bytes in a 0600 file in the data directory. It is the KEK secret of a
// credential store in appliance-key mode, which therefore unlocks without anyone at the console.
// The file is created once and never overwritten: a store whose key is gone stays locked.
import { randomBytes } from 'node:crypto';
import { link, open, readFile, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { syncDirectory } from '../system/atomic-file.js';
import { newKey, wipe } from './store-crypto.js';
import { KEY_BYTES } from './store-format.js';
import { CredentialStoreError } from './store-errors.js';

function keyFileError(file: string, problem: string): CredentialStoreError {
  const message = `appliance key file ${file} ${problem}: the credential store cannot be unlocked`;
  return new CredentialStoreError('appliance-key', message);
}

/** The key in `file`; throws a clear error when it is missing, unreadable or not 32 bytes. */
export async function readApplianceKey(file: string): Promise<Buffer> {
  let key: Buffer;
  try {
    key = await readFile(file);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw keyFileError(file, code === 'ENOENT' ? 'is missing' : `cannot be read (${code ?? 'error'})`);
  }
  if (key.length !== KEY_BYTES) {
    wipe(key);
    throw keyFileError(file, `is corrupted (${key.length} bytes instead of ${KEY_BYTES})`);
  }
  return key;
}

/** The key in `file`, creating it first when there is none. An existing (even corrupted) file is never replaced. */
export async function readOrCreateApplianceKey(file: string): Promise<Buffer> {
  const key = newKey();
  try {
    if (await publishExclusively(file, key)) return key;
  } catch (err) {
    wipe(key);
    throw err;
  }
  wipe(key);
  return readApplianceKey(file);
}

/**
 * Writes `key` to a synced temporary file and hard-links it to `file`: a crash leaves either no key
 * file or a complete one, and link() fails instead of replacing a key that already exists.
 * Returns false when `file` already exists.
 */
async function publishExclusively(file: string, key: Buffer): Promise<boolean> {
  const temp = join(dirname(file), `.${basename(file)}.${randomBytes(6).toString('hex')}.tmp`);
  const handle = await open(temp, 'wx', 0o600);
  try {
    try {
      await handle.writeFile(key);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await link(temp, file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw err;
  } finally {
    await unlink(temp).catch(() => undefined);
  }
  await syncDirectory(dirname(file));
  return true;
}
