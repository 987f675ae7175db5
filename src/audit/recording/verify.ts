// Checks a recording against its chain and signature. Every chunk the chain names is re-hashed from the cast
// files, in order, so the first altered byte is reported with its chunk and file. Without a readable .sig
// (the gateway was killed before close) the recording is `unfinished`: the complete chunks are still checked,
// and the bytes after the last one are an unverified tail, reported by length.
//
// The chain alone is unkeyed: it proves the bytes are those the gateway hashed, against accidents and against
// edits that do not rewrite the chain too. Only a valid .sig proves the whole recording.
import { createHash, verify, type KeyObject } from 'node:crypto';
import { open, readFile, stat, type FileHandle } from 'node:fs/promises';
import { basename } from 'node:path';
import {
  castName, castPath, chainPath, CHAIN_VERSION, seedHash, signaturePath, signedText,
  type ChainEntry, type ChainHeader, type RecordingSignature,
} from './format.js';
import { recordingKeyFingerprint } from './signing-key.js';

export type VerifyResult =
  | { status: 'intact'; chunks: number; bytes: number }
  | { status: 'tampered'; chunk: number; file: string; reason: string }
  | {
      status: 'unfinished';
      /** Complete chunks, all verified. */
      chunks: number;
      /** The cast file where the last verified chunk ends, and where. */
      file: string;
      lastGoodOffset: number;
      /** Bytes after the last chunk (in that file and any later part): written, never vouched for. */
      unverifiedTail: number;
      signature: 'missing' | 'unreadable';
    };

type Tampered = Extract<VerifyResult, { status: 'tampered' }>;

export async function verifyRecording(base: string, publicKey: KeyObject): Promise<VerifyResult> {
  const chainName = basename(chainPath(base));
  const tampered = (chunk: number, file: string, reason: string): Tampered => ({ status: 'tampered', chunk, file, reason });

  const chainText = await readIfExists(chainPath(base), 'utf8');
  if (chainText === undefined) return tampered(0, chainName, 'chain file is missing');
  const lines = chainText.split('\n');
  // A last line without its newline was torn by a crash: not part of the chain.
  const torn = lines.pop() !== '';
  const header = parse<ChainHeader>(lines.shift());
  if (header?.version !== CHAIN_VERSION || typeof header.id !== 'string') return tampered(0, chainName, 'chain header is unreadable');

  const reader = new CastReader(base);
  try {
    let previous = seedHash(header.id);
    let part = 0;
    let offset = 0;
    let total = 0;
    for (const [index, line] of lines.entries()) {
      const chunk = index + 1;
      const entry = parse<ChainEntry>(line);
      if (!isEntry(entry) || entry.chunk !== chunk) return tampered(chunk, chainName, 'chain entry is unreadable or out of order');
      if (entry.file === castName(base, part + 1)) {
        const size = await reader.size(part);
        if (size !== offset) return tampered(chunk - 1, castName(base, part), `${size - offset} bytes after the last chunk of the file`);
        part++;
        offset = 0;
      }
      if (entry.file !== castName(base, part)) return tampered(chunk, chainName, `chain entry names ${entry.file}, expected ${castName(base, part)}`);
      if (entry.offset !== offset) return tampered(chunk, chainName, `chain entry starts at ${entry.offset}, expected ${offset}`);
      const bytes = await reader.read(part, offset, entry.length);
      if (bytes === undefined) return tampered(chunk, entry.file, 'cast file is missing or truncated');
      const hash = createHash('sha256').update(previous).update(bytes).digest();
      if (hash.toString('hex') !== entry.hash) return tampered(chunk, entry.file, 'chunk hash does not match the chain: the cast or the chain was altered');
      previous = hash;
      offset += entry.length;
      total += entry.length;
    }
    const chunks = lines.length;
    const tail = await reader.bytesAfter(part, offset);

    const sigText = await readIfExists(signaturePath(base), 'utf8');
    const sig = sigText === undefined ? undefined : parse<RecordingSignature>(sigText);
    if (!isSignature(sig)) {
      return { status: 'unfinished', chunks, file: castName(base, part), lastGoodOffset: offset, unverifiedTail: tail.bytes, signature: sigText === undefined ? 'missing' : 'unreadable' };
    }
    const sigName = basename(signaturePath(base));
    const fingerprint = recordingKeyFingerprint(publicKey);
    if (sig.keyFingerprint !== fingerprint) return tampered(chunks, sigName, `signature is by another key (${sig.keyFingerprint}, expected ${fingerprint})`);
    const fields = { id: sig.id, finalHash: sig.finalHash, chunks: sig.chunks, bytes: sig.bytes, keyFingerprint: sig.keyFingerprint };
    if (!verify(null, Buffer.from(signedText(fields), 'utf8'), publicKey, Buffer.from(sig.signature, 'base64'))) {
      return tampered(chunks, sigName, 'signature does not verify');
    }
    if (sig.id !== header.id) return tampered(0, chainName, `signature is for recording ${sig.id}, the chain for ${header.id}`);
    if (sig.chunks !== chunks || sig.bytes !== total || sig.finalHash !== previous.toString('hex')) {
      return tampered(Math.min(chunks, sig.chunks) + 1, chainName, `signature covers ${sig.chunks} chunks (${sig.bytes} bytes), the chain holds ${chunks} (${total} bytes)`);
    }
    if (torn) return tampered(chunks + 1, chainName, 'text after the last chain entry of a signed recording');
    if (tail.bytes > 0) return tampered(chunks, tail.file, `${tail.bytes} bytes after the last chunk of a signed recording`);
    return { status: 'intact', chunks, bytes: total };
  } finally {
    await reader.close();
  }
}

/** The cast parts of one recording, each opened once, in order. */
class CastReader {
  readonly #base: string;
  #part = -1;
  #handle: FileHandle | undefined;

  constructor(base: string) {
    this.#base = base;
  }

  /** `length` bytes at `offset` of part `part`, or undefined when the file is missing or shorter. */
  async read(part: number, offset: number, length: number): Promise<Buffer | undefined> {
    const handle = await this.#open(part);
    // The size first: an edited length must not make us allocate gigabytes.
    if (handle === undefined || offset + length > (await handle.stat()).size) return undefined;
    const buf = Buffer.alloc(length);
    let done = 0;
    while (done < length) {
      const { bytesRead } = await handle.read(buf, done, length - done, offset + done);
      if (bytesRead === 0) return undefined;
      done += bytesRead;
    }
    return buf;
  }

  async size(part: number): Promise<number> {
    const handle = await this.#open(part);
    return handle === undefined ? 0 : (await handle.stat()).size;
  }

  /** Bytes after `offset` in `part` plus every later part; `file` is the first holding any. */
  async bytesAfter(part: number, offset: number): Promise<{ bytes: number; file: string }> {
    let bytes = Math.max(0, (await this.size(part)) - offset);
    let file = castName(this.#base, part);
    for (let next = part + 1; ; next++) {
      const size = await stat(castPath(this.#base, next)).then((s) => s.size, () => undefined);
      if (size === undefined) return { bytes, file };
      if (bytes === 0 && size > 0) file = castName(this.#base, next);
      bytes += size;
    }
  }

  async close(): Promise<void> {
    await this.#handle?.close();
    this.#handle = undefined;
  }

  async #open(part: number): Promise<FileHandle | undefined> {
    if (this.#part !== part) {
      await this.close();
      this.#part = part;
      this.#handle = await open(castPath(this.#base, part), 'r').catch((err: NodeJS.ErrnoException) => {
        if (err.code === 'ENOENT') return undefined;
        throw err;
      });
    }
    return this.#handle;
  }
}

async function readIfExists(file: string, encoding: 'utf8'): Promise<string | undefined> {
  try {
    return await readFile(file, encoding);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

function parse<T>(line: string | undefined): Partial<T> | undefined {
  if (line === undefined) return undefined;
  try {
    const value: unknown = JSON.parse(line);
    return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Partial<T>) : undefined;
  } catch {
    return undefined;
  }
}

const count = (n: unknown): n is number => Number.isSafeInteger(n) && (n as number) >= 0;

function isEntry(e: Partial<ChainEntry> | undefined): e is ChainEntry {
  return e !== undefined && count(e.chunk) && typeof e.file === 'string' && count(e.offset) && count(e.length) && (e.length as number) > 0 && typeof e.hash === 'string';
}

function isSignature(s: Partial<RecordingSignature> | undefined): s is RecordingSignature {
  return s !== undefined && s.version === CHAIN_VERSION && typeof s.id === 'string' && typeof s.finalHash === 'string'
    && count(s.chunks) && count(s.bytes) && typeof s.keyFingerprint === 'string' && typeof s.signature === 'string';
}
