// Unpacks an untrusted zip into an empty directory: regular files and directories only, every
// path inside that directory, within an entry count and a size limit counted while unpacking.
import { createWriteStream } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { Transform, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { crc32 } from 'node:zlib';
import yauzl, { type Entry, type ZipFile } from 'yauzl';
import { syncDirectory } from '../system/atomic-file.js';
import { PluginPackageError, quote } from './errors.js';

export interface ZipLimits {
  /** Bytes all entries may unpack to together. */
  maxUnpackedBytes: number;
  maxEntries: number;
}

export interface UnpackedEntry {
  /** "/"-separated, relative to the destination, without a trailing "/". */
  path: string;
  kind: 'file' | 'directory';
}

interface CatalogEntry extends UnpackedEntry {
  entry: Entry;
}

// File types in the upper 16 bits of the external attributes (the Unix st_mode).
const S_IFMT = 0o170000;
const S_IFREG = 0o100000;
const S_IFDIR = 0o040000;
const S_IFLNK = 0o120000;
const MAX_SEGMENT_BYTES = 255;
const MAX_PATH_BYTES = 1024;

/**
 * Unpacks `zipPath` into the existing empty directory `destDir`. Every entry is checked before the
 * first byte is written; sizes are counted again while unpacking, since the declared ones are the
 * zip's word. Throws PluginPackageError for anything wrong with the zip; the caller removes `destDir`.
 */
export async function extractZip(zipPath: string, destDir: string, limits: ZipLimits): Promise<UnpackedEntry[]> {
  let zip: ZipFile;
  try {
    // decodeStrings off: yauzl would turn "\" into "/" or reject names with its own messages;
    // names are decoded and judged below.
    zip = await yauzl.openPromise(zipPath, { autoClose: false, decodeStrings: false, strictFileNames: true, validateEntrySizes: true });
  } catch (err) {
    throw asRefusal(err);
  }
  // A late error (e.g. while closing) with no listener would be thrown as an uncaught exception.
  zip.on('error', () => undefined);
  try {
    const catalog = await readCatalog(zip, limits);
    const budget = { remaining: limits.maxUnpackedBytes, limit: limits.maxUnpackedBytes };
    for (const item of catalog) await unpackEntry(zip, item, destDir, budget);
    const directories = new Set([destDir, ...catalog.map((item) => dirname(join(destDir, item.path)))]);
    for (const dir of directories) await syncDirectory(dir);
    return catalog.map(({ path, kind }) => ({ path, kind }));
  } catch (err) {
    throw asRefusal(err);
  } finally {
    zip.close();
  }
}

/** Reads the central directory and checks every entry's name, type, encryption and declared size. */
async function readCatalog(zip: ZipFile, limits: ZipLimits): Promise<CatalogEntry[]> {
  if (zip.entryCount > limits.maxEntries) throw new PluginPackageError(`the zip has ${zip.entryCount} entries; at most ${limits.maxEntries} are allowed`);
  const catalog: CatalogEntry[] = [];
  const kinds = new Map<string, UnpackedEntry['kind']>();
  let declared = 0;
  for await (const entry of zip.eachEntry()) {
    const item = describeEntry(entry);
    if (kinds.has(item.path)) throw new PluginPackageError(`entry ${quote(item.path)} appears twice in the zip`);
    kinds.set(item.path, item.kind);
    declared += entry.uncompressedSize;
    if (declared > limits.maxUnpackedBytes) throw tooLarge(limits.maxUnpackedBytes);
    catalog.push(item);
  }
  for (const path of kinds.keys()) {
    const parts = path.split('/');
    for (let i = 1; i < parts.length; i++) {
      const parent = parts.slice(0, i).join('/');
      if (kinds.get(parent) === 'file') throw new PluginPackageError(`entry ${quote(path)} lies inside ${quote(parent)}, which is a file`);
    }
  }
  return catalog;
}

function describeEntry(entry: Entry): CatalogEntry {
  const name = yauzl.getFileNameLowLevel(entry.generalPurposeBitFlag, entry.fileNameRaw, entry.extraFields, true);
  const refuse = (why: string) => new PluginPackageError(`entry ${quote(name)} ${why}`);
  const problem = nameProblem(name);
  if (problem) throw refuse(problem);
  const kind = name.endsWith('/') ? 'directory' : 'file';
  // The Unix file type is checked whatever system the zip claims to come from: a link is refused
  // even where an unzip tool would ignore the bits.
  const type = (entry.externalFileAttributes >>> 16) & S_IFMT;
  if (type === S_IFLNK) throw refuse('is a symbolic link');
  if (type !== 0 && type !== S_IFREG && type !== S_IFDIR) throw refuse('is not a regular file or directory (a device, FIFO or socket)');
  if (type !== 0 && type !== (kind === 'directory' ? S_IFDIR : S_IFREG)) throw refuse(`is marked as a ${kind === 'file' ? 'directory' : 'file'} but named as a ${kind}`);
  if (entry.isEncrypted()) throw refuse('is encrypted');
  if (kind === 'file' && entry.compressionMethod !== 0 && entry.compressionMethod !== 8) {
    throw refuse(`uses compression method ${entry.compressionMethod}; only stored (0) and deflate (8) are supported`);
  }
  return { path: kind === 'directory' ? name.slice(0, -1) : name, kind, entry };
}

/** Why `name` cannot be unpacked under a root directory, or undefined when it can. */
function nameProblem(name: string): string | undefined {
  if (name === '') return 'has an empty name';
  if (/[\u0000-\u001f\u007f]/.test(name)) return 'has a control character in its name';
  if (name.includes('\\')) return 'has a backslash in its name';
  if (name.startsWith('/')) return 'is an absolute path';
  if (/^[A-Za-z]:/.test(name)) return 'starts with a drive letter';
  const segments = (name.endsWith('/') ? name.slice(0, -1) : name).split('/');
  if (segments.includes('..')) return 'leaves the package root ("..")';
  if (segments.some((s) => s === '' || s === '.')) return 'has an empty or "." path segment';
  if (Buffer.byteLength(name) > MAX_PATH_BYTES || segments.some((s) => Buffer.byteLength(s) > MAX_SEGMENT_BYTES)) return 'has a name too long for the file system';
  return undefined;
}

async function unpackEntry(zip: ZipFile, item: CatalogEntry, destDir: string, budget: Budget): Promise<void> {
  const target = join(destDir, ...item.path.split('/'));
  if (item.kind === 'directory') {
    await mkdir(target, { recursive: true, mode: 0o755 });
    return;
  }
  await mkdir(dirname(target), { recursive: true, mode: 0o755 });
  const meter = new UnpackMeter(budget);
  // "wx": the name is new, so nothing already there (a link, say) is followed or overwritten.
  await pipeline(await zip.openReadStreamPromise(item.entry), meter, createWriteStream(target, { flags: 'wx', mode: 0o644, flush: true }));
  // yauzl does not check CRC-32: a damaged stored entry would otherwise unpack silently.
  if (meter.crc !== item.entry.crc32) throw new PluginPackageError(`entry ${quote(item.path)} is damaged (CRC-32 mismatch)`);
}

interface Budget {
  remaining: number;
  limit: number;
}

/** Counts the bytes actually unpacked against the shared budget and computes their CRC-32. */
class UnpackMeter extends Transform {
  crc = 0;

  constructor(private readonly budget: Budget) {
    super();
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback): void {
    this.budget.remaining -= chunk.length;
    if (this.budget.remaining < 0) return done(tooLarge(this.budget.limit));
    this.crc = crc32(chunk, this.crc);
    done(null, chunk);
  }
}

function tooLarge(limit: number): PluginPackageError {
  return new PluginPackageError(`the zip unpacks to more than ${limit / (1024 * 1024)} MB (${limit} bytes)`);
}

/** Keeps refusals and our own I/O failures (a full disk is not the package's fault); anything else is the zip's damage. */
function asRefusal(err: unknown): Error {
  if (err instanceof PluginPackageError) return err;
  if (err instanceof Error && 'syscall' in err) return err;
  const message = err instanceof Error ? err.message : String(err);
  return new PluginPackageError(`the zip is damaged, truncated or not a zip (${message.split('\n', 1)[0].slice(0, 200)})`);
}
