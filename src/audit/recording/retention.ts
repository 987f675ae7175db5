// Retention of the recordings directory (issue 8): a recording older than its connection policy's
// `retentionDays` is deleted ('expired'); then, while the directory holds more than the size cap, the oldest
// recordings go ('size-cap'), signed ones first. A recording still being written (no `.sig`, a file changed
// in the last ten minutes) is never deleted. Says what it deleted; the caller reports it (`recording-deleted`).
//
// A recording is its `<id>.chain` and the files named after it (format.ts): the chain is what makes it one,
// since ids may contain dots and `<id>.1.cast` alone cannot say whose part it is. The chain header names the
// policy; a recording without one (made before policies were written there) keeps the default retention.
import { open, readdir, stat, statfs, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { castPath, chainPath, signaturePath, type ChainHeader } from './format.js';

const DAY_MS = 86_400_000;
/** A recording without a `.sig` whose files changed this recently may still be written to. */
export const OPEN_RECORDING_GRACE_MS = 10 * 60_000;
export const DEFAULT_RETENTION_DAYS = 365;

export interface RetentionRules {
  /** Days a policy keeps its recordings; undefined for a policy that is not (or no longer) configured. */
  retentionDays: (policy: string) => number | undefined;
  /** Bytes all recordings together may take. */
  maxTotalBytes: number;
  /** Used for policies `retentionDays` does not know. Default 365. */
  defaultRetentionDays?: number;
  now?: () => number;
}

/** The share of the file system recordings may take, whatever the configured cap: the rest keeps the configuration, keys and events writable. */
export const RECORDINGS_FILE_SYSTEM_SHARE = 0.75;

/**
 * The size cap that applies: the configured one, or less on a file system too small for it (an appliance's
 * data partition), so that recordings alone never fill the disk.
 */
export function effectiveSizeCap(configuredBytes: number, fileSystemBytes: number): number {
  return Math.min(configuredBytes, Math.floor(fileSystemBytes * RECORDINGS_FILE_SYSTEM_SHARE));
}

/** The size of the file system holding `directory`; Infinity when it cannot be told. */
export async function fileSystemBytes(directory: string): Promise<number> {
  return statfs(directory).then(
    (s) => s.blocks * s.bsize,
    () => Infinity,
  );
}

export interface StoredRecording {
  id: string;
  /** From the chain header; undefined when it names none. */
  policy: string | undefined;
  /** Full paths of every file of the recording. */
  files: string[];
  bytes: number;
  /** The newest modification time of its files, ms since the epoch. */
  lastWrite: number;
  signed: boolean;
}

export interface DeletedRecording {
  id: string;
  policy: string | undefined;
  reason: 'expired' | 'size-cap';
  bytes: number;
  /** Days since the recording was last written, one decimal. */
  ageDays: number;
}

export interface RetentionResult {
  deleted: DeletedRecording[];
  /** Recordings that could not be (fully) deleted, and why; they are tried again next time. */
  failed: { id: string; reason: string }[];
}

/** The recordings in `directory`, in no particular order. */
export async function listRecordings(directory: string): Promise<StoredRecording[]> {
  const names = new Set(await readdir(directory));
  const recordings: StoredRecording[] = [];
  for (const name of names) {
    if (!name.endsWith('.chain')) continue;
    const id = name.slice(0, -'.chain'.length);
    const base = join(directory, id);
    const candidates = [chainPath(base), castPath(base, 0), signaturePath(base), `${signaturePath(base)}.tmp`];
    for (let part = 1; names.has(`${id}.${part}.cast`); part++) candidates.push(castPath(base, part));
    let bytes = 0;
    let lastWrite = 0;
    const files: string[] = [];
    let signed = false;
    for (const file of candidates) {
      const info = await stat(file).catch((err: NodeJS.ErrnoException) => {
        if (err.code === 'ENOENT') return undefined;
        throw err;
      });
      if (!info) continue;
      files.push(file);
      bytes += info.size;
      lastWrite = Math.max(lastWrite, info.mtimeMs);
      if (file === signaturePath(base)) signed = true;
    }
    recordings.push({ id, policy: await chainPolicy(chainPath(base)), files, bytes, lastWrite, signed });
  }
  return recordings;
}

/** Deletes what the rules say must go; see the header comment for the order. */
export async function applyRetention(directory: string, rules: RetentionRules): Promise<RetentionResult> {
  const now = (rules.now ?? Date.now)();
  const defaultDays = rules.defaultRetentionDays ?? DEFAULT_RETENTION_DAYS;
  const result: RetentionResult = { deleted: [], failed: [] };
  const remove = async (recording: StoredRecording, reason: DeletedRecording['reason']): Promise<boolean> => {
    try {
      for (const file of recording.files) {
        await unlink(file).catch((err: NodeJS.ErrnoException) => {
          if (err.code !== 'ENOENT') throw err;
        });
      }
    } catch (err) {
      result.failed.push({ id: recording.id, reason: err instanceof Error ? err.message : String(err) });
      return false;
    }
    const ageDays = Math.round(((now - recording.lastWrite) / DAY_MS) * 10) / 10;
    result.deleted.push({ id: recording.id, policy: recording.policy, reason, bytes: recording.bytes, ageDays });
    return true;
  };

  const kept: StoredRecording[] = [];
  for (const recording of await listRecordings(directory)) {
    const days = (recording.policy !== undefined ? rules.retentionDays(recording.policy) : undefined) ?? defaultDays;
    if (now - recording.lastWrite > days * DAY_MS && (await remove(recording, 'expired'))) continue;
    kept.push(recording);
  }

  let total = kept.reduce((sum, r) => sum + r.bytes, 0);
  if (total <= rules.maxTotalBytes) return result;
  const deletable = kept
    .filter((r) => r.signed || now - r.lastWrite > OPEN_RECORDING_GRACE_MS)
    .sort((a, b) => Number(b.signed) - Number(a.signed) || a.lastWrite - b.lastWrite);
  for (const recording of deletable) {
    if (total <= rules.maxTotalBytes) break;
    if (await remove(recording, 'size-cap')) total -= recording.bytes;
  }
  return result;
}

/** The policy named by the chain's first line, read without loading the whole chain. */
async function chainPolicy(file: string): Promise<string | undefined> {
  let handle;
  try {
    handle = await open(file, 'r');
    const buffer = Buffer.alloc(4096);
    const { bytesRead } = await handle.read(buffer, 0, buffer.length, 0);
    const line = buffer.subarray(0, bytesRead).toString('utf8').split('\n', 1)[0] ?? '';
    const header = JSON.parse(line) as Partial<ChainHeader> | null;
    return typeof header?.policy === 'string' ? header.policy : undefined;
  } catch {
    return undefined;
  } finally {
    await handle?.close();
  }
}
