// Length-prefixed JSON frames, the wire format between the gateway and a plugin worker (PROTOCOL.md).
// Shared by both ends, so it uses nothing but Buffer.

/** Bytes of the big-endian length that precedes each frame's JSON. */
const headerBytes = 4;

export function encodeFrame(message: unknown): Buffer {
  const body = Buffer.from(JSON.stringify(message), 'utf8');
  const header = Buffer.alloc(headerBytes);
  header.writeUInt32BE(body.length);
  return Buffer.concat([header, body]);
}

export class FrameError extends Error {
  override name = 'FrameError';
}

/**
 * Cuts a byte stream into frames. A frame longer than `maxBytes` is refused as soon as its header
 * arrives, so the reader never holds more than one bounded frame of an untrusted peer's output.
 */
export class FrameReader {
  #pending: Buffer[] = [];
  #pendingBytes = 0;

  constructor(private readonly maxBytes: number) {}

  /** The messages completed by `chunk`, in order; throws FrameError on an oversized or non-JSON frame. */
  push(chunk: Buffer): unknown[] {
    this.#pending.push(chunk);
    this.#pendingBytes += chunk.length;
    const messages: unknown[] = [];
    while (this.#pendingBytes >= headerBytes) {
      if (this.#pending[0].length < headerBytes) this.#pending = [Buffer.concat(this.#pending)];
      const length = this.#pending[0].readUInt32BE(0);
      if (length > this.maxBytes) throw new FrameError(`frame of ${length} bytes exceeds the limit of ${this.maxBytes}`);
      // Chunks are joined only once a whole frame is there, so a large frame costs one copy.
      if (this.#pendingBytes < headerBytes + length) break;
      const buffered = this.#pending.length === 1 ? this.#pending[0] : Buffer.concat(this.#pending);
      messages.push(parse(buffered.subarray(headerBytes, headerBytes + length)));
      const rest = buffered.subarray(headerBytes + length);
      this.#pending = rest.length ? [rest] : [];
      this.#pendingBytes = rest.length;
    }
    return messages;
  }
}

function parse(body: Buffer): unknown {
  try {
    return JSON.parse(body.toString('utf8'));
  } catch {
    throw new FrameError('frame is not valid JSON');
  }
}
