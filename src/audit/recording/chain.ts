// A tamper-evident, append-only recording file. Lines go to `<base>.cast` (then `<base>.1.cast`, … once a
// part reaches `rotateBytes`); every `chunkBytes` the bytes written since the last chunk are closed as one
// chunk, h_i = SHA-256(h_{i-1} || chunk bytes), and a line naming file, offset, length and h_i is added to
// `<base>.chain`. `close()` seals the last chunk and writes `<base>.sig`: the final hash, counts and an
// Ed25519 signature. A chunk never spans two files; the chain runs on across them.
//
// Synchronous on purpose: lines are small, the recorder runs in the gateway's event loop and an append to an
// fd opened with O_APPEND is cheap. Data reach the disk (fdatasync) only at chunk boundaries, the cast
// before the chain line that vouches for it. A write error (disk full) is thrown to the caller.
import { createHash, sign, type Hash, type KeyObject } from 'node:crypto';
import { closeSync, fdatasyncSync, fsyncSync, openSync, renameSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import {
  castName, castPath, chainPath, CHAIN_VERSION, RECORDING_ID, seedHash, signaturePath, signedText,
  type ChainEntry, type ChainHeader, type RecordingSignature,
} from './format.js';
import type { LineSink } from './asciicast.js';

export interface ChainOptions {
  /** The recording id: part of h_0 and of the signed text. */
  id: string;
  /** A chunk closes once this many bytes are pending (after the line that crosses it). Default 64 KiB. */
  chunkBytes?: number;
  /** A new cast file starts once the current one reaches this size. Default 256 MiB. */
  rotateBytes?: number;
  /** The connection policy recorded in the chain header: retention reads it. */
  policy?: string;
}

/** What `close()` needs of the signing key (a `RecordingKey` is one). */
export interface RecordingSigner {
  privateKey: KeyObject;
  fingerprint: string;
}

export class ChainedFile implements LineSink {
  readonly #base: string;
  readonly #id: string;
  readonly #chunkBytes: number;
  readonly #rotateBytes: number;
  readonly #chainFd: number;
  #castFd: number;
  #part = 0;
  #partBytes = 0;
  #rotateDue = false;
  #dirDirty = true;
  #previous: Buffer;
  #chunk = 0;
  #chunkStart = 0;
  #pending = 0;
  #hash: Hash;
  #total = 0;
  #closed = false;

  /** Creates the recording's files; throws if they already exist (ids are never reused). */
  constructor(base: string, options: ChainOptions) {
    if (!RECORDING_ID.test(options.id)) throw new Error(`invalid recording id ${JSON.stringify(options.id)}`);
    this.#base = base;
    this.#id = options.id;
    this.#chunkBytes = options.chunkBytes ?? 64 * 1024;
    this.#rotateBytes = options.rotateBytes ?? 256 * 1024 * 1024;
    this.#previous = seedHash(options.id);
    this.#hash = createHash('sha256').update(this.#previous);
    this.#chainFd = openSync(chainPath(base), 'ax', 0o600);
    const header: ChainHeader = { version: CHAIN_VERSION, id: options.id, ...(options.policy !== undefined ? { policy: options.policy } : {}) };
    writeAll(this.#chainFd, Buffer.from(`${JSON.stringify(header)}\n`));
    this.#castFd = openSync(castPath(base, 0), 'ax', 0o600);
  }

  /** Appends `line` and a newline. */
  write(line: string): void {
    if (this.#closed) throw new Error('recording is closed');
    if (this.#rotateDue) this.#rotate();
    const bytes = Buffer.from(`${line}\n`, 'utf8');
    writeAll(this.#castFd, bytes);
    this.#hash.update(bytes);
    this.#pending += bytes.length;
    this.#partBytes += bytes.length;
    this.#total += bytes.length;
    if (this.#pending >= this.#chunkBytes) this.flushChunk();
    if (this.#partBytes >= this.#rotateBytes) {
      this.flushChunk();
      this.#rotateDue = true;
    }
  }

  /** Closes the pending bytes as a chunk (nothing when none are pending) and makes them durable. */
  flushChunk(): void {
    if (this.#closed || this.#pending === 0) return;
    fdatasyncSync(this.#castFd);
    const hash = this.#hash.digest();
    this.#chunk++;
    const entry: ChainEntry = {
      chunk: this.#chunk,
      file: castName(this.#base, this.#part),
      offset: this.#chunkStart,
      length: this.#pending,
      hash: hash.toString('hex'),
    };
    writeAll(this.#chainFd, Buffer.from(`${JSON.stringify(entry)}\n`));
    fdatasyncSync(this.#chainFd);
    if (this.#dirDirty) {
      syncDirectory(dirname(this.#base));
      this.#dirDirty = false;
    }
    this.#previous = hash;
    this.#hash = createHash('sha256').update(hash);
    this.#chunkStart += this.#pending;
    this.#pending = 0;
  }

  /** Seals the recording: last chunk, then `<base>.sig` (written atomically). */
  close(signer: RecordingSigner): RecordingSignature {
    if (this.#closed) throw new Error('recording is closed');
    this.flushChunk();
    this.#closed = true;
    closeSync(this.#castFd);
    closeSync(this.#chainFd);
    const fields = { id: this.#id, finalHash: this.#previous.toString('hex'), chunks: this.#chunk, bytes: this.#total, keyFingerprint: signer.fingerprint };
    const signature = sign(null, Buffer.from(signedText(fields), 'utf8'), signer.privateKey).toString('base64');
    const sig: RecordingSignature = { version: CHAIN_VERSION, ...fields, signature };
    const file = signaturePath(this.#base);
    const temp = `${file}.tmp`;
    const fd = openSync(temp, 'w', 0o600);
    try {
      writeAll(fd, Buffer.from(`${JSON.stringify(sig)}\n`));
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(temp, file);
    syncDirectory(dirname(this.#base));
    return sig;
  }

  /** Closes the files without a signature (the recording reads as unfinished); for shutdown on error. */
  abandon(): void {
    if (this.#closed) return;
    this.#closed = true;
    closeSync(this.#castFd);
    closeSync(this.#chainFd);
  }

  #rotate(): void {
    closeSync(this.#castFd);
    this.#part++;
    this.#castFd = openSync(castPath(this.#base, this.#part), 'ax', 0o600);
    this.#partBytes = 0;
    this.#chunkStart = 0;
    this.#rotateDue = false;
    this.#dirDirty = true;
  }
}

function writeAll(fd: number, bytes: Buffer): void {
  let done = 0;
  while (done < bytes.length) done += writeSync(fd, bytes, done, bytes.length - done);
}

function syncDirectory(dir: string): void {
  const fd = openSync(dir, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}
