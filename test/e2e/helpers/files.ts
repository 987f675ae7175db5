/**
 * e2e helper: random payload files and sha256 checksums, all streamed so
 * large transfers never sit in memory.
 */
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';

/** Hex sha256 of everything a stream yields. */
export async function sha256Stream(stream: NodeJS.ReadableStream): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of stream as AsyncIterable<Buffer | string>) hash.update(chunk);
  return hash.digest('hex');
}

/** Hex sha256 of a file's contents. */
export function sha256File(file: string): Promise<string> {
  return sha256Stream(createReadStream(file));
}

export function sha256Buffer(data: Buffer | string): string {
  return createHash('sha256').update(data).digest('hex');
}

/**
 * Writes `bytes` of random data to `dir/name` (default: random-<bytes>-<hex>.bin)
 * in 64 KiB chunks. Returns the path and its sha256.
 */
export async function randomFile(
  dir: string,
  bytes: number,
  name = `random-${bytes}-${randomBytes(4).toString('hex')}.bin`,
): Promise<{ path: string; sha256: string; bytes: number }> {
  const file = path.join(dir, name);
  const hash = createHash('sha256');
  const CHUNK = 64 * 1024;
  let left = bytes;
  const source = new Readable({
    read() {
      if (left <= 0) {
        this.push(null);
        return;
      }
      const chunk = randomBytes(Math.min(CHUNK, left));
      left -= chunk.length;
      hash.update(chunk);
      this.push(chunk);
    },
  });
  await pipeline(source, createWriteStream(file, { mode: 0o644 }));
  return { path: file, sha256: hash.digest('hex'), bytes };
}
