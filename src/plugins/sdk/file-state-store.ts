// The embedded StateStore: a directory per key holding numbered versions of its value. link(2)
// is the compare-and-set (it fails when the next number already exists), so there is no lock a
// plugin process killed by the sandbox could leave behind.
import { createHash, randomBytes } from 'node:crypto';
import { link, mkdir, open, readdir, readFile, stat, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import type { JsonValue } from './contract.js';
import type { StateChange, StateStore } from './state-store.js';

const VERSION_FILE = /^(\d+)\.json$/;
const TEMP_PREFIX = '.tmp-';
/**
 * Superseded versions and abandoned temporary files are removed once older than this. A writer
 * that stalled longer between reading version N and linking N+1 could re-create a removed number
 * and have its update lost; hooks are killed long before that.
 */
const GRACE_MS = 10 * 60_000;
const MAX_ATTEMPTS = 200;

export class FileStateStore implements StateStore {
  constructor(private readonly root: string) {}

  async update<T>(key: string, change: (current: JsonValue | undefined) => StateChange<T>): Promise<T> {
    const dir = join(this.root, directoryName(key));
    await mkdir(dir, { recursive: true, mode: 0o700 });
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      const entries = await readdir(dir);
      const latest = Math.max(0, ...entries.map(versionOf).filter((version) => version !== undefined));
      const current = latest === 0 ? { value: undefined } : await readVersion(join(dir, `${latest}.json`));
      if (!current) continue; // swept under us: a newer version exists
      const answer = change(current.value);
      if (answer.action === 'keep') return answer.result;
      const record = answer.action === 'write' ? { value: answer.value } : {};
      if (await commit(dir, latest + 1, record)) {
        await sweep(dir, entries, latest + 1);
        return answer.result;
      }
      // Lost the race for latest + 1: back off a little, more after repeated conflicts.
      await new Promise((resolve) => setTimeout(resolve, Math.random() * Math.min(attempt, 20)));
    }
    throw new Error(`state store: gave up on key ${JSON.stringify(key)} after ${MAX_ATTEMPTS} conflicting writes`);
  }
}

/** Readable where possible; hashed when the key would make too long a file name. */
function directoryName(key: string): string {
  const readable = encodeURIComponent(key).replace(/\./g, '%2E');
  return readable.length <= 200 ? `k-${readable}` : `h-${createHash('sha256').update(key).digest('hex')}`;
}

function versionOf(name: string): number | undefined {
  const match = VERSION_FILE.exec(name);
  return match ? Number(match[1]) : undefined;
}

async function readVersion(file: string): Promise<{ value: JsonValue | undefined } | undefined> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  const record = JSON.parse(text) as { value?: JsonValue };
  return { value: record.value };
}

/** Writes the record completely, then links it in as `version`; false if that version exists. */
async function commit(dir: string, version: number, record: { value?: JsonValue }): Promise<boolean> {
  const temp = join(dir, `${TEMP_PREFIX}${randomBytes(8).toString('hex')}`);
  const handle = await open(temp, 'wx', 0o600);
  try {
    await handle.writeFile(JSON.stringify(record));
    await handle.sync();
  } finally {
    await handle.close();
  }
  try {
    await link(temp, join(dir, `${version}.json`));
    // The new name must survive a power cut too: a lost OTP replay record would let a code in twice.
    await syncDirectory(dir);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw err;
  } finally {
    await unlink(temp);
  }
}

async function syncDirectory(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

async function sweep(dir: string, entries: string[], newest: number): Promise<void> {
  const cutoff = Date.now() - GRACE_MS;
  for (const name of entries) {
    const version = versionOf(name);
    if (!(name.startsWith(TEMP_PREFIX) || (version !== undefined && version < newest))) continue;
    const file = join(dir, name);
    try {
      if ((await stat(file)).mtimeMs < cutoff) await unlink(file);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
  }
}
