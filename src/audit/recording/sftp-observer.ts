// Watches the two byte streams of an `sftp` subsystem channel (SFTP version 3, draft-ietf-secsh-filexfer-02:
// what OpenSSH's sftp-server speaks, and what OpenSSH scp ≥ 9.0 uses underneath) and turns them into a log of
// file operations, so a file transfer leaves an audit trail even though it is not a terminal and makes no
// asciicast. The gateway relays the bytes itself and hands this observer copies of the chunks: the observer
// never alters data, never throws, and holds at most one packet's header and paths per direction (WRITE and
// DATA payloads are counted and skipped, never copied), so a 256 MiB transfer costs little CPU and no memory.
//
// What is logged, and why:
// - open (with mode and pflags), close (one per opened file handle, with bytes read and written), opendir,
//   remove, mkdir, rmdir, setstat (SETSTAT, FSETSTAT, lsetstat@openssh.com), rename (RENAME and
//   posix-rename@openssh.com), symlink, hardlink (hardlink@openssh.com). Each outcome comes from the server's
//   reply, matched by request id; `error` is the status code's name ("no-such-file", "permission-denied", …),
//   never the server's free text. A request still unanswered when the channel ends is logged as failed with
//   error "no-reply": it may or may not have happened.
// - Deliberately not logged: STAT, LSTAT, FSTAT, REALPATH, READLINK, READDIR and the other extended requests
//   (statvfs, limits, expand-path, …). They only look, and `ls` or `cd` in sftp sends dozens; the files a
//   session touched are already in the log through open, close and the changes above.
// - Bytes read are the lengths of the DATA replies to READs on the handle; bytes written are the lengths of
//   WRITEs the server acknowledged with STATUS ok (a write refused for a full disk is not counted).
// - close is logged when the server answers CLOSE (OpenSSH answers in request order, so every acknowledged
//   WRITE on the handle has been counted by then), or at end() for handles still open.
// - rename: `path` is the old name, `target` the new. symlink and hardlink: `path` is the link created,
//   `target` what it points to. OpenSSH sends SYMLINK's two paths in the opposite order from the draft
//   (target first, then the link); both its client and its server do so, and it is the peer we speak to,
//   so the fields are read in OpenSSH's order.
// - Paths are logged as the client sent them (relative ones are relative to the server's start directory),
//   UTF-8 decoded with U+FFFD for invalid bytes and for control and bidi characters, so a file name cannot
//   forge a log line; a path longer than MAX_PATH_BYTES keeps its start and ends in "…(N bytes)".
// - A malformed stream (a length field over maxPacketBytes, a field running past its packet, a server speaking
//   another SFTP version) is reported once as protocol-error; after that the observer stops parsing, but end()
//   still logs the close of the handles it saw opened.
// - Outstanding requests and open handles are each capped at MAX_TRACKED; past that the oldest request is
//   forgotten, and the oldest handle is logged as closed with its counts so far.

export type FileOperation =
  | { op: 'open'; path: string; mode: 'read' | 'write' | 'read-write'; flags: string; ok: boolean; error?: string }
  | { op: 'close'; path: string; bytesRead: number; bytesWritten: number }
  | { op: 'opendir' | 'remove' | 'mkdir' | 'rmdir' | 'setstat'; path: string; ok: boolean; error?: string }
  | { op: 'rename' | 'symlink' | 'hardlink'; path: string; target: string; ok: boolean; error?: string }
  | { op: 'protocol-error'; detail: string };

export interface SftpObserverOptions {
  /** Largest packet length field accepted; a larger one is a protocol-error. */
  maxPacketBytes?: number;
}

/** OpenSSH's SFTP_MAX_MSG_LENGTH (256 KiB) plus slack for other implementations' headers. */
export const DEFAULT_MAX_PACKET_BYTES = 256 * 1024 + 1024;
/** Longest path kept, in bytes; longer ones are truncated in the log. */
export const MAX_PATH_BYTES = 4096;
/** Most outstanding requests, and most open handles, remembered at once. */
export const MAX_TRACKED = 10_000;
// Handles are at most 256 bytes (draft §3.1); extended-request names we care about are short.
const MAX_HANDLE_BYTES = 256;
const MAX_EXTENSION_NAME_BYTES = 64;

const enum Packet {
  Version = 2, Open = 3, Close = 4, Read = 5, Write = 6, Setstat = 9, Fsetstat = 10, Opendir = 11,
  Remove = 13, Mkdir = 14, Rmdir = 15, Rename = 18, Symlink = 20, Status = 101, Handle = 102, Data = 103,
  Name = 104, Attrs = 105, Extended = 200, ExtendedReply = 201,
}

const STATUS_NAMES = [
  'ok', 'eof', 'no-such-file', 'permission-denied', 'failure', 'bad-message', 'no-connection', 'connection-lost',
  'op-unsupported',
];

const OPEN_FLAGS: [number, string][] = [[0x01, 'read'], [0x02, 'write'], [0x04, 'append'], [0x08, 'creat'], [0x10, 'trunc'], [0x20, 'excl']];

// ---------------------------------------------------------------------------------------------------------------
// Packet layouts: the fields read from each packet, in order. A number is a string field keeping at most that many
// bytes (0: only its length is kept, the bytes are skipped); 'u64' is read and ignored. Fields after the listed
// ones are skipped, so attrs and file data are never parsed.

type Field = 'u32' | 'u64' | number;
/** A string field: its first bytes (at most the layout's cap) and its declared length. */
interface Str {
  bytes: Buffer;
  length: number;
}
type Value = number | Str;

const ID_PATH: Field[] = ['u32', MAX_PATH_BYTES];
const ID_PATH_PATH: Field[] = ['u32', MAX_PATH_BYTES, MAX_PATH_BYTES];
const ID_HANDLE: Field[] = ['u32', MAX_HANDLE_BYTES];

const REQUEST_LAYOUTS: Partial<Record<number, Field[]>> = {
  [Packet.Open]: ['u32', MAX_PATH_BYTES, 'u32'],
  [Packet.Close]: ID_HANDLE,
  [Packet.Read]: ID_HANDLE,
  [Packet.Write]: ['u32', MAX_HANDLE_BYTES, 'u64', 0],
  [Packet.Setstat]: ID_PATH,
  [Packet.Fsetstat]: ID_HANDLE,
  [Packet.Opendir]: ID_PATH,
  [Packet.Remove]: ID_PATH,
  [Packet.Mkdir]: ID_PATH,
  [Packet.Rmdir]: ID_PATH,
  [Packet.Rename]: ID_PATH_PATH,
  [Packet.Symlink]: ID_PATH_PATH,
  [Packet.Extended]: ['u32', MAX_EXTENSION_NAME_BYTES],
};

/** The extended requests that change files, with the fields after id and name, and the op they are logged as. */
const EXTENSIONS = new Map<string, { fields: Field[]; op: 'rename' | 'hardlink' | 'setstat' }>([
  ['posix-rename@openssh.com', { fields: [MAX_PATH_BYTES, MAX_PATH_BYTES], op: 'rename' }],
  ['hardlink@openssh.com', { fields: [MAX_PATH_BYTES, MAX_PATH_BYTES], op: 'hardlink' }],
  ['lsetstat@openssh.com', { fields: [MAX_PATH_BYTES], op: 'setstat' }],
]);

const REPLY_LAYOUTS: Partial<Record<number, Field[]>> = {
  [Packet.Version]: ['u32'],
  [Packet.Status]: ['u32', 'u32'],
  [Packet.Handle]: ID_HANDLE,
  [Packet.Data]: ['u32', 0],
  [Packet.Name]: ['u32'],
  [Packet.Attrs]: ['u32'],
  [Packet.ExtendedReply]: ['u32'],
};

function requestField(type: number, values: Value[]): Field | undefined {
  if (type === Packet.Extended && values.length >= 2) {
    return EXTENSIONS.get(text(values[1]))?.fields[values.length - 2];
  }
  return REQUEST_LAYOUTS[type]?.[values.length];
}

function replyField(type: number, values: Value[]): Field | undefined {
  return REPLY_LAYOUTS[type]?.[values.length];
}

// ---------------------------------------------------------------------------------------------------------------
// Framing: one PacketReader per direction. It reads `uint32 length, byte type`, then the layout's fields, hands the
// packet over, and skips what is left of it; any chunking of the stream gives the same packets.

type Need = 'length' | 'type' | 'u32' | 'u64' | 'string-length';

class PacketReader {
  readonly #layout: (type: number, values: Value[]) => Field | undefined;
  readonly #onPacket: (type: number, values: Value[]) => void;
  readonly #onError: (detail: string) => void;
  readonly #maxPacketBytes: number;
  // Fixed-size reads (length, type, integers, string lengths).
  readonly #fixed = Buffer.alloc(8);
  #need: Need = 'length';
  #fixedHave = 0;
  // A string field being kept: its buffer, how much of it is filled, its declared length.
  #keep: Buffer | null = null;
  #keepHave = 0;
  #keepLength = 0;
  // Bytes to discard, then either the next field or the next packet.
  #skip = 0;
  #afterSkip: 'field' | 'packet' = 'field';
  // The packet being read.
  #type = 0;
  #remaining = 0;
  #values: Value[] = [];
  #failed = false;

  constructor(
    layout: (type: number, values: Value[]) => Field | undefined,
    onPacket: (type: number, values: Value[]) => void,
    onError: (detail: string) => void,
    maxPacketBytes: number,
  ) {
    this.#layout = layout;
    this.#onPacket = onPacket;
    this.#onError = onError;
    this.#maxPacketBytes = maxPacketBytes;
  }

  /** Bytes held for the packet being read: its fixed-size fields and the strings kept so far. */
  get bufferedBytes(): number {
    let kept = this.#fixed.length + (this.#keep?.length ?? 0);
    for (const value of this.#values) if (typeof value !== 'number') kept += value.bytes.length;
    return kept;
  }

  feed(chunk: Buffer): void {
    let pos = 0;
    while (pos < chunk.length && !this.#failed) {
      if (this.#skip > 0) {
        const n = Math.min(this.#skip, chunk.length - pos);
        this.#skip -= n;
        pos += n;
        if (this.#skip === 0) this.#afterSkipped();
      } else if (this.#keep) {
        const n = Math.min(this.#keep.length - this.#keepHave, chunk.length - pos);
        chunk.copy(this.#keep, this.#keepHave, pos, pos + n);
        this.#keepHave += n;
        pos += n;
        if (this.#keepHave === this.#keep.length) {
          this.#values.push({ bytes: this.#keep, length: this.#keepLength });
          this.#skip = this.#keepLength - this.#keep.length;
          this.#keep = null;
          this.#afterSkip = 'field';
          if (this.#skip === 0) this.#nextField();
        }
      } else {
        const want = this.#need === 'type' ? 1 : this.#need === 'u64' ? 8 : 4;
        const n = Math.min(want - this.#fixedHave, chunk.length - pos);
        chunk.copy(this.#fixed, this.#fixedHave, pos, pos + n);
        this.#fixedHave += n;
        pos += n;
        if (this.#fixedHave === want) {
          this.#fixedHave = 0;
          this.#fixedRead();
        }
      }
    }
  }

  #fixedRead(): void {
    switch (this.#need) {
      case 'length': {
        const length = this.#fixed.readUInt32BE(0);
        if (length === 0 || length > this.#maxPacketBytes) {
          this.#fail(length === 0 ? 'packet of length 0' : `packet length ${length} exceeds ${this.#maxPacketBytes}`);
          return;
        }
        this.#remaining = length - 1;
        this.#need = 'type';
        return;
      }
      case 'type':
        this.#type = this.#fixed[0];
        this.#nextField();
        return;
      case 'u32':
        this.#values.push(this.#fixed.readUInt32BE(0));
        this.#nextField();
        return;
      case 'u64':
        this.#values.push(0);
        this.#nextField();
        return;
      case 'string-length': {
        const length = this.#fixed.readUInt32BE(0);
        if (length > this.#remaining) {
          this.#fail(`packet type ${this.#type}: string of ${length} bytes runs past the packet`);
          return;
        }
        this.#remaining -= length;
        const cap = this.#layout(this.#type, this.#values) as number;
        const kept = Math.min(length, cap);
        if (kept > 0) {
          this.#keep = Buffer.alloc(kept);
          this.#keepHave = 0;
          this.#keepLength = length;
          return;
        }
        this.#values.push({ bytes: Buffer.alloc(0), length });
        this.#skip = length;
        this.#afterSkip = 'field';
        if (length === 0) this.#nextField();
        return;
      }
    }
  }

  /** Starts the packet's next field, or, when its layout has no more, hands the packet over and skips its rest. */
  #nextField(): void {
    const field = this.#layout(this.#type, this.#values);
    if (field === undefined) {
      const values = this.#values;
      this.#values = [];
      this.#onPacket(this.#type, values);
      this.#skip = this.#remaining;
      this.#remaining = 0;
      this.#afterSkip = 'packet';
      if (this.#skip === 0) this.#need = 'length';
      return;
    }
    const size = field === 'u64' ? 8 : 4;
    if (size > this.#remaining) {
      this.#fail(`packet type ${this.#type} is too short for its fields`);
      return;
    }
    this.#remaining -= size;
    this.#need = typeof field === 'number' ? 'string-length' : field;
  }

  #afterSkipped(): void {
    if (this.#afterSkip === 'packet') this.#need = 'length';
    else this.#nextField();
  }

  /** Reads nothing more, from this chunk on. */
  stop(): void {
    this.#failed = true;
    this.#keep = null;
    this.#values = [];
  }

  #fail(detail: string): void {
    this.stop();
    this.#onError(detail);
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Matching replies to requests.

interface OpenHandle {
  path: string;
  kind: 'file' | 'dir';
  bytesRead: number;
  bytesWritten: number;
}

/** What a request waits for from the server, by request id. */
type Pending =
  | { kind: 'open'; path: string; pflags: number }
  | { kind: 'opendir'; path: string }
  | { kind: 'close'; key: string; handle: OpenHandle }
  | { kind: 'read'; handle: OpenHandle }
  | { kind: 'write'; handle: OpenHandle; bytes: number }
  | { kind: 'path'; op: 'remove' | 'mkdir' | 'rmdir' | 'setstat'; path: string }
  | { kind: 'pair'; op: 'rename' | 'symlink' | 'hardlink'; path: string; target: string };

interface Reply {
  type: number;
  /** STATUS code; undefined for other replies. */
  code?: number;
  /** HANDLE's handle key. */
  handle?: string;
  /** DATA's data length. */
  dataLength?: number;
}

const NO_REPLY: Reply = { type: 0 };

export class SftpObserver {
  readonly #emit: (op: FileOperation) => void;
  readonly #client: PacketReader;
  readonly #server: PacketReader;
  readonly #pending = new Map<number, Pending>();
  readonly #handles = new Map<string, OpenHandle>();
  #stopped = false;
  #ended = false;

  constructor(emit: (op: FileOperation) => void, options: SftpObserverOptions = {}) {
    this.#emit = emit;
    const max = options.maxPacketBytes ?? DEFAULT_MAX_PACKET_BYTES;
    const fail = (detail: string) => this.#protocolError(detail);
    this.#client = new PacketReader(requestField, (type, values) => this.#request(type, values), fail, max);
    this.#server = new PacketReader(replyField, (type, values) => this.#reply(type, values), fail, max);
  }

  /** Bytes held for partly read packets, both directions together: bounded by a header and a few paths. */
  get bufferedBytes(): number {
    return this.#client.bufferedBytes + this.#server.bufferedBytes;
  }

  /** Client → target bytes. */
  fromClient(chunk: Buffer): void {
    this.#guard(() => this.#client.feed(chunk));
  }

  /** Target → client bytes. */
  fromServer(chunk: Buffer): void {
    this.#guard(() => this.#server.feed(chunk));
  }

  /** The channel closed: unanswered requests are logged as failed with "no-reply", open files as closed. */
  end(): void {
    if (this.#ended) return;
    this.#ended = true;
    this.#stop();
    try {
      for (const pending of this.#pending.values()) {
        if (pending.kind !== 'close' && pending.kind !== 'read' && pending.kind !== 'write') this.#settle(pending, NO_REPLY);
      }
      for (const handle of this.#handles.values()) this.#closed(handle);
    } catch {
      // A throwing sink at the very end: the relay must not notice.
    }
    this.#pending.clear();
    this.#handles.clear();
  }

  // The observer must never break the relay: a throwing emit callback, or a bug here, stops the parsing instead.
  #guard(action: () => void): void {
    if (this.#stopped) return;
    try {
      action();
    } catch (err) {
      this.#protocolError(`observer stopped: ${err instanceof Error ? err.message : String(err)}`.slice(0, 200));
    }
  }

  #stop(): void {
    this.#stopped = true;
    this.#client.stop();
    this.#server.stop();
  }

  #protocolError(detail: string): void {
    if (this.#stopped) return;
    this.#stop();
    try {
      this.#emit({ op: 'protocol-error', detail });
    } catch {
      // The sink refused even this; there is nobody left to tell.
    }
  }

  #request(type: number, values: Value[]): void {
    const id = values[0] as number;
    switch (type) {
      case Packet.Open:
        return this.#track(id, { kind: 'open', path: path(values[1]), pflags: values[2] as number });
      case Packet.Opendir:
        return this.#track(id, { kind: 'opendir', path: path(values[1]) });
      case Packet.Close: {
        const key = handleKey(values[1]);
        const handle = this.#handles.get(key);
        if (handle) this.#track(id, { kind: 'close', key, handle });
        return;
      }
      case Packet.Read: {
        const handle = this.#handles.get(handleKey(values[1]));
        if (handle) this.#track(id, { kind: 'read', handle });
        return;
      }
      case Packet.Write: {
        const handle = this.#handles.get(handleKey(values[1]));
        if (handle) this.#track(id, { kind: 'write', handle, bytes: (values[3] as Str).length });
        return;
      }
      case Packet.Fsetstat: {
        const handle = this.#handles.get(handleKey(values[1]));
        if (handle) this.#track(id, { kind: 'path', op: 'setstat', path: handle.path });
        return;
      }
      case Packet.Setstat:
      case Packet.Remove:
      case Packet.Mkdir:
      case Packet.Rmdir: {
        const op = type === Packet.Setstat ? 'setstat' : type === Packet.Remove ? 'remove' : type === Packet.Mkdir ? 'mkdir' : 'rmdir';
        return this.#track(id, { kind: 'path', op, path: path(values[1]) });
      }
      case Packet.Rename:
        return this.#track(id, { kind: 'pair', op: 'rename', path: path(values[1]), target: path(values[2]) });
      case Packet.Symlink:
        // OpenSSH order: target first, then the link being created (see the header).
        return this.#track(id, { kind: 'pair', op: 'symlink', path: path(values[2]), target: path(values[1]) });
      case Packet.Extended: {
        const extension = EXTENSIONS.get(text(values[1]));
        if (!extension) return;
        if (extension.op === 'setstat') return this.#track(id, { kind: 'path', op: 'setstat', path: path(values[2]) });
        // rename: old, new; hardlink: existing file, new link.
        const [first, second] = [path(values[2]), path(values[3])];
        if (extension.op === 'rename') return this.#track(id, { kind: 'pair', op: 'rename', path: first, target: second });
        return this.#track(id, { kind: 'pair', op: 'hardlink', path: second, target: first });
      }
    }
  }

  #reply(type: number, values: Value[]): void {
    if (type === Packet.Version) {
      if (values[0] !== 3) this.#protocolError(`server speaks SFTP version ${values[0] as number}; only version 3 is observed`);
      return;
    }
    const id = values[0] as number;
    const pending = this.#pending.get(id);
    if (!pending) return;
    this.#pending.delete(id);
    const reply: Reply = { type };
    if (type === Packet.Status) reply.code = values[1] as number;
    if (type === Packet.Handle) reply.handle = handleKey(values[1]);
    if (type === Packet.Data) reply.dataLength = (values[1] as Str).length;
    this.#settle(pending, reply);
  }

  #track(id: number, pending: Pending): void {
    this.#pending.delete(id);
    this.#pending.set(id, pending);
    if (this.#pending.size > MAX_TRACKED) this.#pending.delete(this.#pending.keys().next().value as number);
  }

  #settle(pending: Pending, reply: Reply): void {
    switch (pending.kind) {
      case 'open':
      case 'opendir': {
        const ok = reply.handle !== undefined;
        if (ok) this.#opened(reply.handle as string, { path: pending.path, kind: pending.kind === 'open' ? 'file' : 'dir', bytesRead: 0, bytesWritten: 0 });
        const outcome = ok ? { ok } : { ok, error: failure(reply) };
        if (pending.kind === 'opendir') this.#emit({ op: 'opendir', path: pending.path, ...outcome });
        else this.#emit({ op: 'open', path: pending.path, mode: mode(pending.pflags), flags: flags(pending.pflags), ...outcome });
        return;
      }
      case 'close':
        // The server forgets the handle whatever CLOSE's status; so do we.
        if (this.#handles.get(pending.key) === pending.handle) this.#handles.delete(pending.key);
        this.#closed(pending.handle);
        return;
      case 'read':
        pending.handle.bytesRead += reply.dataLength ?? 0;
        return;
      case 'write':
        if (reply.code === 0) pending.handle.bytesWritten += pending.bytes;
        return;
      case 'path':
      case 'pair': {
        const { kind: _kind, ...operation } = pending;
        this.#emit(reply.code === 0 ? { ...operation, ok: true } : { ...operation, ok: false, error: failure(reply) });
        return;
      }
    }
  }

  #opened(key: string, handle: OpenHandle): void {
    const previous = this.#handles.get(key);
    if (previous) this.#closed(previous);
    this.#handles.delete(key);
    this.#handles.set(key, handle);
    if (this.#handles.size > MAX_TRACKED) {
      const [oldestKey, oldest] = this.#handles.entries().next().value as [string, OpenHandle];
      this.#handles.delete(oldestKey);
      this.#closed(oldest);
    }
  }

  #closed(handle: OpenHandle): void {
    // Directory handles only bracket READDIRs, which are not logged.
    if (handle.kind === 'file') this.#emit({ op: 'close', path: handle.path, bytesRead: handle.bytesRead, bytesWritten: handle.bytesWritten });
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Rendering fields for the log.

// C0 and C1 controls, DEL, the Unicode line and paragraph separators, and the bidi embeddings, overrides and
// isolates: anything that could end a log line or make it display as something else.
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;

function path(value: Value): string {
  const str = value as Str;
  const shown = str.bytes.toString('utf8').replace(UNSAFE, '\uFFFD');
  return str.length > str.bytes.length ? `${shown}…(${str.length} bytes)` : shown;
}

function text(value: Value): string {
  return (value as Str).bytes.toString('latin1');
}

function handleKey(value: Value): string {
  const str = value as Str;
  return `${str.length}:${str.bytes.toString('hex')}`;
}

function mode(pflags: number): 'read' | 'write' | 'read-write' {
  if (pflags & 0x02) return pflags & 0x01 ? 'read-write' : 'write';
  return 'read';
}

function flags(pflags: number): string {
  const names = OPEN_FLAGS.filter(([bit]) => pflags & bit).map(([, name]) => name);
  const unknown = pflags & ~0x3f;
  if (unknown) names.push(`0x${(unknown >>> 0).toString(16)}`);
  return names.join(',');
}

function failure(reply: Reply): string {
  if (reply === NO_REPLY) return 'no-reply';
  if (reply.code === undefined) return 'unexpected-reply';
  return STATUS_NAMES[reply.code] ?? `status-${reply.code}`;
}
