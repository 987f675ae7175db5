// The appliance's identity: a random id created once in the data directory. Stores made for one
// appliance (the credential store) refuse to be used by another.
import { randomUUID } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

export async function applianceId(dataDir: string): Promise<string> {
  const file = join(dataDir, 'appliance-id');
  try {
    return (await readFile(file, 'utf8')).trim();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  const id = randomUUID();
  try {
    // 'wx': when two processes race, the first id wins and both read it back.
    await writeFile(file, `${id}\n`, { mode: 0o644, flag: 'wx' });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  }
  return (await readFile(file, 'utf8')).trim();
}
