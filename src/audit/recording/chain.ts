// A tamper-evident, append-only recording file. Lines go to `<base>.cast` (then `<base>.1.cast`, … once a
// part reaches `rotateBytes`); every `chunkBytes` the bytes written since the last chunk are closed as one
// chunk, h_i = SHA-256(h_{i-1} || chunk bytes), and a line naming file, offset, length and h_i is added to
// `<base>.chain`. `close()` seals the last chunk and writes `<base>.sig`: the final hash, counts and an
// Ed25519 signature. A chunk never spans two files; the chain runs on across them.
//
// Synchronous on purpose: the recorder runs in the gateway's event loop and every call returns with its
// bytes accounted for. What it costs is batched, because a busy channel makes thousands of lines a second:
// - Lines are encoded into one buffer and reach the cast file in one write per chunk, and at the latest at
//   the end of the event-loop turn that wrote them (a `setImmediate`), so a killed gateway loses at most the
//   lines of its last turn, and a reader sees the cast grow as the session runs.
// - The chunk's hash is updated with each such write: the chain hashes exactly the bytes of the file.
// - Durability is batched: a closed chunk's chain line is queued in memory and written only after an
//   fdatasync of the cast that covers the chunk, so a chain line never reaches the disk before the bytes it
//   vouches for. That sync runs once `syncIntervalMs` (default 1 s) has passed or `syncBytes` (default 8 MiB)
//   of chunks wait, whichever comes first, on a timer when the channel goes quiet, at rotation, `flushChunk()`
//   and `close()`. 8 MiB keeps the event loop's longest wait in fdatasync at a few ms on a busy channel
//   (64 MiB: ~35 ms, for 5 % more throughput).
//   A crash therefore loses at most that window of chain lines: the verifier reads the bytes after the last
//   chain line as an unverified tail, never as tampering.
// - A write or sync error (disk full) is thrown to the caller: by the `write()` that hit it, or, when the
//   end-of-turn write or the timer's sync hit it, by the next `write()`, `flushChunk()` or `close()`. The file
//   is then failed: every later call throws the same error; `abandon()` still closes the fds.
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
  /** Closed chunks are made durable (cast fdatasync, then their chain lines) at most this long after. Default 1000. */
  syncIntervalMs?: number;
  /** … or once this many bytes of closed chunks await it, whichever comes first. Default 8 MiB. */
  syncBytes?: number;
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
  readonly #syncIntervalMs: number;
  readonly #syncBytes: number;
  readonly #chainFd: number;
  #castFd: number;
  #part = 0;
  #partBytes = 0;
  #rotateDue = false;
  #dirDirty = true;
  #previous: Buffer;
  #chunk = 0;
  #chunkStart = 0;
  /** Bytes of the open chunk, written or still in `#buf`. */
  #pending = 0;
  /** Bytes of the open chunk not yet written (nor hashed): `#buf[0, #buffered)`. */
  #buf: Buffer;
  #buffered = 0;
  readonly #bufMax: number;
  #hash: Hash;
  #total = 0;
  /** Chain lines of closed chunks whose bytes the cast has not been synced for yet. */
  #unsynced: string[] = [];
  #unsyncedBytes = 0;
  #lastSync = performance.now();
  #writeSoon: NodeJS.Immediate | undefined;
  #syncSoon: NodeJS.Timeout | undefined;
  #failed: { error: unknown } | undefined;
  #closed = false;

  /** Creates the recording's files; throws if they already exist (ids are never reused). */
  constructor(base: string, options: ChainOptions) {
    if (!RECORDING_ID.test(options.id)) throw new Error(`invalid recording id ${JSON.stringify(options.id)}`);
    this.#base = base;
    this.#id = options.id;
    this.#chunkBytes = options.chunkBytes ?? 64 * 1024;
    this.#rotateBytes = options.rotateBytes ?? 256 * 1024 * 1024;
    this.#syncIntervalMs = options.syncIntervalMs ?? 1000;
    this.#syncBytes = options.syncBytes ?? 8 * 1024 * 1024;
    // Small for a quiet terminal; a busy channel grows it to a whole chunk and the line that crosses its end.
    this.#bufMax = this.#chunkBytes + 256 * 1024;
    this.#buf = Buffer.allocUnsafe(Math.min(16 * 1024, this.#bufMax));
    this.#previous = seedHash(options.id);
    this.#hash = createHash('sha256').update(this.#previous);
    this.#chainFd = openSync(chainPath(base), 'ax', 0o600);
    const header: ChainHeader = { version: CHAIN_VERSION, id: options.id, ...(options.policy !== undefined ? { policy: options.policy } : {}) };
    writeAll(this.#chainFd, Buffer.from(`${JSON.stringify(header)}\n`));
    this.#castFd = openSync(castPath(base, 0), 'ax', 0o600);
  }

  /** Appends `line` (text, or its UTF-8 bytes) and a newline. */
  write(line: string | Uint8Array): void {
    this.#usable();
    this.#failing(() => {
      if (this.#rotateDue) this.#rotate();
      // Text takes at most 3 UTF-8 bytes per UTF-16 unit; the newline is one more.
      const room = typeof line === 'string' ? line.length * 3 + 1 : line.length + 1;
      if (this.#buffered + room > this.#buf.length) {
        const want = this.#buffered + room;
        if (want <= this.#bufMax) {
          const grown = Buffer.allocUnsafe(Math.min(this.#bufMax, Math.max(want, 2 * this.#buf.length)));
          this.#buf.copy(grown, 0, 0, this.#buffered);
          this.#buf = grown;
        } else {
          this.#writeBuffered();
          if (room > this.#buf.length) this.#buf = Buffer.allocUnsafe(room);
        }
      }
      let n: number;
      if (typeof line === 'string') n = this.#buf.write(line, this.#buffered, 'utf8') + 1;
      else {
        this.#buf.set(line, this.#buffered);
        n = line.length + 1;
      }
      this.#buf[this.#buffered + n - 1] = 0x0a;
      this.#buffered += n;
      this.#pending += n;
      this.#partBytes += n;
      this.#total += n;
      if (this.#pending >= this.#chunkBytes) this.#closeChunk();
      if (this.#partBytes >= this.#rotateBytes) {
        this.#closeChunk();
        this.#sync();
        this.#rotateDue = true;
      }
      if (this.#buffered > 0 && this.#writeSoon === undefined) {
        this.#writeSoon = setImmediate(() => {
          this.#writeSoon = undefined;
          this.#later(() => this.#writeBuffered());
        }).unref();
      }
    });
  }

  /** Closes the pending bytes as a chunk (nothing when none are pending) and makes every closed chunk durable. */
  flushChunk(): void {
    this.#usable();
    this.#failing(() => {
      this.#closeChunk();
      this.#sync();
    });
  }

  /** Seals the recording: last chunk, then `<base>.sig` (written atomically). */
  close(signer: RecordingSigner): RecordingSignature {
    this.flushChunk();
    this.#shut();
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

  /**
   * Closes the files without a signature (the recording reads as unfinished); for shutdown on error. What is
   * pending still goes out as far as it can: buffered lines to the cast (an unverified tail), then the queued
   * chain lines after a sync; errors doing so are ignored.
   */
  abandon(): void {
    if (this.#closed) return;
    if (this.#failed === undefined) {
      try {
        this.#writeBuffered();
        this.#sync();
      } catch {
        // Abandoning is the answer to errors: what could not be written is lost, and the verifier says so.
      }
    }
    this.#shut();
  }

  #usable(): void {
    if (this.#closed) throw new Error('recording is closed');
    if (this.#failed !== undefined) throw this.#failed.error;
  }

  /** Runs `action`; an error fails the file for good (a half-written buffer cannot be retried). */
  #failing(action: () => void): void {
    try {
      action();
    } catch (error) {
      this.#failed = { error };
      throw error;
    }
  }

  /** Work of a timer: nobody to throw to, so an error waits for the next call (see the top). */
  #later(action: () => void): void {
    if (this.#closed || this.#failed !== undefined) return;
    try {
      action();
    } catch (error) {
      this.#failed = { error };
    }
  }

  #shut(): void {
    this.#closed = true;
    if (this.#writeSoon !== undefined) clearImmediate(this.#writeSoon);
    if (this.#syncSoon !== undefined) clearTimeout(this.#syncSoon);
    this.#writeSoon = this.#syncSoon = undefined;
    try {
      closeSync(this.#castFd);
    } finally {
      closeSync(this.#chainFd);
    }
  }

  /** Writes (and hashes) the buffered bytes of the open chunk. */
  #writeBuffered(): void {
    if (this.#buffered === 0) return;
    const bytes = this.#buf.subarray(0, this.#buffered);
    writeAll(this.#castFd, bytes);
    this.#hash.update(bytes);
    this.#buffered = 0;
  }

  /** Closes the open chunk (nothing when it is empty) and queues its chain line; syncs when one is due. */
  #closeChunk(): void {
    if (this.#pending === 0) return;
    this.#writeBuffered();
    const hash = this.#hash.digest();
    this.#chunk++;
    const entry: ChainEntry = {
      chunk: this.#chunk,
      file: castName(this.#base, this.#part),
      offset: this.#chunkStart,
      length: this.#pending,
      hash: hash.toString('hex'),
    };
    this.#unsynced.push(`${JSON.stringify(entry)}\n`);
    this.#unsyncedBytes += this.#pending;
    this.#previous = hash;
    this.#hash = createHash('sha256').update(hash);
    this.#chunkStart += this.#pending;
    this.#pending = 0;
    const waited = performance.now() - this.#lastSync;
    if (waited >= this.#syncIntervalMs || this.#unsyncedBytes >= this.#syncBytes) this.#sync();
    else if (this.#syncSoon === undefined) {
      this.#syncSoon = setTimeout(() => {
        this.#syncSoon = undefined;
        this.#later(() => this.#sync());
      }, this.#syncIntervalMs - waited).unref();
    }
  }

  /** The cast to disk, then the chain lines of the chunks it holds, then those to disk. */
  #sync(): void {
    if (this.#unsynced.length === 0) return;
    fdatasyncSync(this.#castFd);
    writeAll(this.#chainFd, Buffer.from(this.#unsynced.join(''), 'utf8'));
    fdatasyncSync(this.#chainFd);
    if (this.#dirDirty) {
      syncDirectory(dirname(this.#base));
      this.#dirDirty = false;
    }
    this.#unsynced = [];
    this.#unsyncedBytes = 0;
    this.#lastSync = performance.now();
    if (this.#syncSoon !== undefined) clearTimeout(this.#syncSoon);
    this.#syncSoon = undefined;
  }

  /** Called with the open chunk empty and every chain line written (`write` syncs before it asks for this). */
  #rotate(): void {
    // The next part first: if it cannot be made, the fd of this one stays valid for `abandon()`.
    const next = openSync(castPath(this.#base, this.#part + 1), 'ax', 0o600);
    closeSync(this.#castFd);
    this.#castFd = next;
    this.#part++;
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
