// Zips for the AA package tests: well-formed packages written with yazl, and hostile zips written
// byte by byte (names, file types, sizes and flags that no well-behaved zip writer produces).
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { crc32, deflateRawSync } from 'node:zlib';
import yazl from 'yazl';
import { APPLIANCE_PLUGIN_API } from '../../src/aa/appliance.js';

/** A MANIFEST's fields; `undefined` leaves a field out. */
export type ManifestFields = Record<string, string | undefined>;

export function manifestText(fields: ManifestFields = {}): string {
  const all: ManifestFields = {
    name: 'demo_plugin',
    description: 'A demo AA plugin',
    version: '1.0.0',
    type: 'aa',
    api: APPLIANCE_PLUGIN_API,
    entry_point: 'main.js',
    author_name: 'Demo Author',
    author_email: 'demo@example.com',
    ...fields,
  };
  return Object.entries(all)
    .filter(([, value]) => value !== undefined)
    .map(([key, value]) => `${key}: ${value}\n`)
    .join('');
}

/** The files of a valid package; keys ending in "/" are directories. */
export function packageFiles(fields: ManifestFields = {}): Record<string, string | Buffer> {
  return {
    MANIFEST: manifestText(fields),
    'main.js': 'export class Plugin { authenticate() { return { verdict: "ACCEPT" }; } }\n',
    'default.cfg': '[auth]\nprompt=Your one-time password: \n',
    'lib/': '',
    'lib/util.js': 'export const x = 1;\n',
  };
}

/** A zip written by yazl, as a packaging tool would. */
export async function yazlZip(files: Record<string, string | Buffer>): Promise<Buffer> {
  const zip = new yazl.ZipFile();
  for (const [name, content] of Object.entries(files)) {
    if (name.endsWith('/')) zip.addEmptyDirectory(name);
    else zip.addBuffer(Buffer.from(content), name);
  }
  zip.end();
  const chunks: Buffer[] = [];
  for await (const chunk of zip.outputStream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

export interface RawEntry {
  name: string;
  data?: Buffer;
  /** Upper 16 bits of the external attributes; default regular file 0644 (directory 0755 for names ending "/"). */
  unixMode?: number;
  /** 0 stored, 8 deflate (default), or anything else to claim another method. */
  method?: number;
  /** Already deflated data with its true size and CRC (for bombs); `data` is ignored. */
  deflated?: { bytes: Buffer; size: number; crc: number };
  /** Overrides the uncompressed size written in the headers (a lie). */
  declaredSize?: number;
  /** General purpose bit flag; default 0x800 (UTF-8 name). */
  flags?: number;
}

/** A zip written byte by byte: local headers and data, central directory, end record (no zip64). */
export function rawZip(entries: RawEntry[]): Buffer {
  const locals: Buffer[] = [];
  const centrals: Buffer[] = [];
  let offset = 0;
  for (const e of entries) {
    const name = Buffer.from(e.name, 'utf8');
    const data = e.data ?? Buffer.alloc(0);
    const method = e.method ?? 8;
    const body = e.deflated?.bytes ?? (method === 8 ? deflateRawSync(data) : data);
    const size = e.declaredSize ?? e.deflated?.size ?? data.length;
    const crc = e.deflated?.crc ?? crc32(data);
    const flags = e.flags ?? 0x800;
    const mode = e.unixMode ?? (e.name.endsWith('/') ? 0o40755 : 0o100644);
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4);
    local.writeUInt16LE(flags, 6);
    local.writeUInt16LE(method, 8);
    local.writeUInt16LE(0x21, 12); // 1980-01-01
    local.writeUInt32LE(crc, 14);
    local.writeUInt32LE(body.length, 18);
    local.writeUInt32LE(size, 22);
    local.writeUInt16LE(name.length, 26);
    const central = Buffer.alloc(46);
    central.writeUInt32LE(0x02014b50, 0);
    central.writeUInt16LE((3 << 8) | 20, 4); // made by Unix
    central.writeUInt16LE(20, 6);
    central.writeUInt16LE(flags, 8);
    central.writeUInt16LE(method, 10);
    central.writeUInt16LE(0x21, 14);
    central.writeUInt32LE(crc, 16);
    central.writeUInt32LE(body.length, 20);
    central.writeUInt32LE(size, 24);
    central.writeUInt16LE(name.length, 28);
    central.writeUInt32LE((mode << 16) >>> 0, 38);
    central.writeUInt32LE(offset, 42);
    locals.push(local, name, body);
    centrals.push(central, name);
    offset += local.length + name.length + body.length;
  }
  const directory = Buffer.concat(centrals);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(entries.length, 8);
  end.writeUInt16LE(entries.length, 10);
  end.writeUInt32LE(directory.length, 12);
  end.writeUInt32LE(offset, 16);
  return Buffer.concat([...locals, directory, end]);
}

/** A package's files as raw entries (names ending "/" become directories). */
export function rawEntries(files: Record<string, string | Buffer>): RawEntry[] {
  return Object.entries(files).map(([name, content]) => ({ name, data: Buffer.from(content) }));
}

/**
 * `megabytes` MiB of zeros deflated to about 1 KB per MiB, without deflating them all: one
 * sync-flushed deflate block of 1 MiB of zeros repeated, then an empty final block.
 */
export function zerosDeflated(megabytes: number): { bytes: Buffer; size: number; crc: number } {
  const mib = Buffer.alloc(1024 * 1024);
  const block = deflateRawSync(mib, { finishFlush: 3 /* Z_FULL_FLUSH */ });
  let crc = 0;
  for (let i = 0; i < megabytes; i++) crc = crc32(mib, crc);
  return { bytes: Buffer.concat([...Array<Buffer>(megabytes).fill(block), deflateRawSync(Buffer.alloc(0))]), size: megabytes * mib.length, crc };
}

let written = 0;

/** Writes `bytes` to a new file in `dir` (outside the data directory) and returns its path. */
export async function zipFile(dir: string, bytes: Buffer): Promise<string> {
  const path = join(dir, `package-${++written}.zip`);
  await writeFile(path, bytes);
  return path;
}
