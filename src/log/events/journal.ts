// The audit journal: every security event, in order, on disk, numbered 1, 2, 3, … for the appliance's life.
// It is the local record of events and the queue of every syslog target at once: each target keeps only
// its own cursor (the last sequence number it delivered), so one write per event serves all targets and
// they can never disagree on order. Files: `<dir>/<first seq, 12 digits>.log`, one JSON line per event.
//
// Bounded: when the segments exceed `maxBytes` the oldest are deleted, and a reader that had not got that
// far learns which sequence numbers it lost. A failed write (disk full) keeps the event in memory, readers
// still get it, and it is written when the disk takes it again; only a memory bound drops events then.
import { closeSync, fdatasync, fstatSync, ftruncateSync, openSync, readdirSync, readSync, rmSync, statSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from '../logger.js';
import type { AuditSink } from './audit-log.js';
import { decodeJournalEntry, encodeEntry, EntryFormatError, type AuditEntry, type JournalEntry } from './entry.js';

export interface JournalOptions {
  /** Total size of the segments kept; older ones are deleted beyond it. */
  maxBytes: number;
  /** A new segment starts once the current one reaches this size. */
  segmentBytes?: number;
  /** Events kept in memory while the disk refuses writes. */
  maxPending?: number;
  log: Logger;
}

/** Sequence numbers a reader will never see: deleted for space, or dropped while the disk was full. */
export interface LostRange {
  first: number;
  last: number;
  reason: 'journal full' | 'journal unwritable';
}

const SEGMENT = /^(\d{12})\.log$/;
const SYNC_INTERVAL_MS = 1000;

interface Segment {
  first: number;
  path: string;
  bytes: number;
}

export class AuditJournal implements AuditSink {
  readonly #dir: string;
  readonly #options: Required<Omit<JournalOptions, 'log'>> & { log: Logger };
  readonly #segments: Segment[];
  #fd: number | undefined;
  #lastSeq: number;
  /** Events numbered but not yet on disk, oldest first. */
  #pending: JournalEntry[] = [];
  /** Sequence numbers dropped from memory while the disk was unwritable. */
  #unwritten: LostRange[] = [];
  #listeners = new Set<() => void>();
  #dirty = false;
  #syncTimer: NodeJS.Timeout;
  #retryTimer: NodeJS.Timeout | undefined;
  #closed = false;

  private constructor(dir: string, options: JournalOptions, segments: Segment[], lastSeq: number) {
    this.#dir = dir;
    this.#options = { segmentBytes: 4 * 1024 * 1024, maxPending: 100_000, ...options };
    this.#segments = segments;
    this.#lastSeq = lastSeq;
    this.#syncTimer = setInterval(() => this.#sync(), SYNC_INTERVAL_MS).unref();
  }

  /** Opens the journal in `dir` (which must exist), repairing a last line cut short by a crash. */
  static open(dir: string, options: JournalOptions): AuditJournal {
    const segments = readdirSync(dir)
      .map((name) => SEGMENT.exec(name))
      .filter((m): m is RegExpExecArray => m !== null)
      .map((m) => ({ first: Number(m[1]), path: join(dir, m[0]), bytes: 0 }))
      .sort((a, b) => a.first - b.first);
    let lastSeq = 0;
    const newest = segments.at(-1);
    if (newest) {
      const { bytes, last } = repairTail(newest.path, options.log);
      newest.bytes = bytes;
      lastSeq = last ?? newest.first - 1;
      for (const segment of segments.slice(0, -1)) segment.bytes = statSync(segment.path).size;
    }
    return new AuditJournal(dir, options, segments, lastSeq);
  }

  get lastSeq(): number {
    return this.#lastSeq;
  }

  /** The oldest sequence number still readable. */
  get firstSeq(): number {
    return this.#segments[0]?.first ?? this.#pending[0]?.seq ?? this.#lastSeq + 1;
  }

  get pendingCount(): number {
    return this.#pending.length;
  }

  append(entry: AuditEntry): void {
    if (this.#closed) throw new Error('the audit journal is closed');
    const numbered: JournalEntry = { ...entry, seq: ++this.#lastSeq };
    this.#pending.push(numbered);
    this.#flushPending();
    if (this.#pending.length > this.#options.maxPending) {
      const dropped = this.#pending.splice(0, this.#pending.length - this.#options.maxPending);
      const previous = this.#unwritten.at(-1);
      if (previous && previous.last + 1 === dropped[0]!.seq) previous.last = dropped.at(-1)!.seq;
      else this.#unwritten.push({ first: dropped[0]!.seq, last: dropped.at(-1)!.seq, reason: 'journal unwritable' });
    }
    for (const listener of this.#listeners) listener();
  }

  /** Called after every append; returns the unsubscribe function. */
  onAppend(listener: () => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** A reader positioned at `fromSeq` (clamped to what is readable). */
  reader(fromSeq: number): JournalReader {
    return new JournalReader(this, Math.max(1, fromSeq));
  }

  close(): void {
    if (this.#closed) return;
    this.#flushPending();
    this.#closed = true;
    clearInterval(this.#syncTimer);
    clearTimeout(this.#retryTimer);
    if (this.#pending.length) this.#options.log.error({ events: this.#pending.length }, 'audit journal closed with events it could not write');
    if (this.#fd !== undefined) {
      this.#sync();
      closeSync(this.#fd);
      this.#fd = undefined;
    }
    this.#listeners.clear();
  }

  /** @internal for readers */
  segmentsSnapshot(): readonly Segment[] {
    return this.#segments;
  }

  /** @internal for readers: events at or after `seq` that are only in memory. */
  pendingFrom(seq: number): JournalEntry[] {
    const first = this.#pending[0]?.seq;
    return first === undefined || seq > this.#lastSeq ? [] : this.#pending.slice(Math.max(0, seq - first));
  }

  /** @internal for readers: the ranges dropped from memory while the disk refused writes. */
  unwrittenRanges(): readonly LostRange[] {
    return this.#unwritten;
  }

  #flushPending(): void {
    while (this.#pending.length) {
      const entry = this.#pending[0]!;
      const line = Buffer.from(encodeEntry(entry) + '\n', 'utf8');
      try {
        const fd = this.#segmentFor(entry.seq);
        writeAll(fd, line, this.#segments.at(-1)!.bytes);
      } catch (err) {
        this.#writeFailed(err as NodeJS.ErrnoException);
        return;
      }
      this.#segments.at(-1)!.bytes += line.length;
      this.#dirty = true;
      this.#pending.shift();
    }
    if (this.#retryTimer) {
      clearTimeout(this.#retryTimer);
      this.#retryTimer = undefined;
      this.#options.log.warn({ dropped: this.#unwritten.length }, 'audit journal writable again');
    }
  }

  #writeFailed(err: NodeJS.ErrnoException): void {
    if (this.#retryTimer) return;
    this.#options.log.error({ code: err.code, err: err.message }, 'cannot write the audit journal: events are held in memory until it can');
    const retry = (): void => {
      this.#retryTimer = undefined;
      if (this.#closed) return;
      this.#flushPending();
      if (this.#pending.length && !this.#retryTimer) this.#retryTimer = setTimeout(retry, 1000).unref();
    };
    this.#retryTimer = setTimeout(retry, 1000).unref();
  }

  // The fd to write event `seq` to, starting a new segment when the current one is full.
  #segmentFor(seq: number): number {
    const current = this.#segments.at(-1);
    if (this.#fd !== undefined && current && current.bytes < this.#options.segmentBytes) return this.#fd;
    if (this.#fd === undefined && current && current.bytes < this.#options.segmentBytes) {
      this.#fd = openSync(current.path, 'a', 0o600);
      return this.#fd;
    }
    const path = join(this.#dir, `${String(seq).padStart(12, '0')}.log`);
    const fd = openSync(path, 'a', 0o600);
    if (this.#fd !== undefined) {
      this.#sync();
      closeSync(this.#fd);
    }
    this.#fd = fd;
    this.#segments.push({ first: seq, path, bytes: 0 });
    this.#enforceBound();
    return fd;
  }

  // Deletes the oldest segments beyond maxBytes; the newest is always kept.
  #enforceBound(): void {
    let total = this.#segments.reduce((sum, s) => sum + s.bytes, 0);
    while (this.#segments.length > 1 && total > this.#options.maxBytes) {
      const oldest = this.#segments.shift()!;
      total -= oldest.bytes;
      rmSync(oldest.path, { force: true });
      this.#options.log.warn({ firstSeq: oldest.first, nextSeq: this.#segments[0]!.first }, 'audit journal full: deleted its oldest segment');
    }
  }

  #sync(): void {
    if (!this.#dirty || this.#fd === undefined) return;
    this.#dirty = false;
    fdatasync(this.#fd, (err) => {
      if (err && !this.#closed) this.#options.log.error({ err: err.message }, 'audit journal sync failed');
    });
  }
}

/** Reads the journal forward from a sequence number: disk segments first, then what is still in memory. */
export class JournalReader {
  #next: number;
  #fd: number | undefined;
  #segmentFirst = -1;
  /** File offset of the first byte not yet consumed in the open segment. */
  #position = 0;
  #buffer = Buffer.allocUnsafe(256 * 1024);

  constructor(
    private readonly journal: AuditJournal,
    fromSeq: number,
  ) {
    this.#next = fromSeq;
  }

  /** The sequence number the next entry will have. */
  get nextSeq(): number {
    return this.#next;
  }

  /** Up to `max` entries in order, and what was lost before them (deleted or never written). */
  read(max: number): { entries: JournalEntry[]; lost: LostRange[] } {
    const lost: LostRange[] = [];
    const firstReadable = this.journal.firstSeq;
    if (this.#next < firstReadable) {
      lost.push({ first: this.#next, last: firstReadable - 1, reason: 'journal full' });
      this.#next = firstReadable;
      this.#closeSegment();
    }
    const entries = this.#readDisk(max);
    if (entries.length < max) {
      for (let range = this.#unwrittenAt(this.#next); range; range = this.#unwrittenAt(this.#next)) {
        lost.push({ ...range, first: this.#next });
        this.#next = range.last + 1;
      }
      for (const entry of this.journal.pendingFrom(this.#next)) {
        if (entries.length >= max) break;
        entries.push(entry);
        this.#next = entry.seq + 1;
      }
    }
    return { entries, lost };
  }

  close(): void {
    this.#closeSegment();
  }

  #unwrittenAt(seq: number): LostRange | undefined {
    return this.journal.unwrittenRanges().find((range) => range.first <= seq && range.last >= seq);
  }

  #readDisk(max: number): JournalEntry[] {
    const entries: JournalEntry[] = [];
    while (entries.length < max && this.#next <= this.journal.lastSeq) {
      if (!this.#openSegmentHolding(this.#next)) break;
      const n = readSync(this.#fd!, this.#buffer, 0, this.#buffer.length, this.#position);
      let consumed = 0;
      for (let newline = this.#buffer.indexOf(0x0a); newline !== -1 && newline < n && entries.length < max; newline = this.#buffer.indexOf(0x0a, consumed)) {
        const entry = parseLine(this.#buffer.toString('utf8', consumed, newline));
        consumed = newline + 1;
        if (!entry || entry.seq < this.#next) continue; // damaged line: its number shows as a gap
        entries.push(entry);
        this.#next = entry.seq + 1;
      }
      this.#position += consumed;
      if (consumed > 0) continue;
      if (n === this.#buffer.length) this.#buffer = Buffer.allocUnsafe(this.#buffer.length * 2); // one line longer than the buffer
      else if (!this.#advanceSegment()) break;
    }
    return entries;
  }

  // Opens the segment that holds `seq` if the reader is not in it already; false if it is not on disk.
  #openSegmentHolding(seq: number): boolean {
    const segments = this.journal.segmentsSnapshot();
    let index = -1;
    for (let i = segments.length - 1; i >= 0; i--) {
      if (segments[i]!.first <= seq) {
        index = i;
        break;
      }
    }
    if (index === -1) return false;
    const segment = segments[index]!;
    if (this.#fd !== undefined && this.#segmentFirst === segment.first) return true;
    this.#closeSegment();
    try {
      this.#fd = openSync(segment.path, 'r');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
      throw err;
    }
    this.#segmentFirst = segment.first;
    this.#position = 0;
    return true;
  }

  // At the end of a segment: move to the next one if there is one.
  #advanceSegment(): boolean {
    const segments = this.journal.segmentsSnapshot();
    const next = segments.find((s) => s.first > this.#segmentFirst);
    if (!next) return false;
    if (this.#next < next.first) this.#next = next.first; // lines missing at the end of a segment
    this.#closeSegment();
    return true;
  }

  #closeSegment(): void {
    if (this.#fd !== undefined) closeSync(this.#fd);
    this.#fd = undefined;
    this.#segmentFirst = -1;
    this.#position = 0;
  }
}

// Cuts a last line left incomplete by a crash; returns the segment's size and its last sequence number.
function repairTail(path: string, log: Logger): { bytes: number; last: number | undefined } {
  const fd = openSync(path, 'r+');
  try {
    const size = fstatSync(fd).size;
    const tailBytes = Math.min(size, 64 * 1024);
    const tail = Buffer.alloc(tailBytes);
    readSync(fd, tail, 0, tailBytes, size - tailBytes);
    let end = size;
    if (size > 0 && tail[tailBytes - 1] !== 0x0a) {
      const lastNewline = tail.lastIndexOf(0x0a);
      end = lastNewline === -1 ? size - tailBytes : size - tailBytes + lastNewline + 1;
      ftruncateSync(fd, end);
      log.warn({ segment: path, cutBytes: size - end }, 'audit journal: removed an incomplete last line');
    }
    const text = tail.subarray(0, end - (size - tailBytes)).toString('utf8');
    const lines = text.split('\n').filter(Boolean).reverse();
    for (const line of lines) {
      try {
        return { bytes: end, last: decodeJournalEntry(line).seq };
      } catch {
        // damaged line: look at the one before
      }
    }
    return { bytes: end, last: undefined };
  } finally {
    closeSync(fd);
  }
}

function parseLine(line: string): JournalEntry | undefined {
  try {
    return decodeJournalEntry(line);
  } catch (err) {
    if (err instanceof EntryFormatError) return undefined;
    throw err;
  }
}

// Writes the whole line or nothing: a write cut short (disk full) is undone so that no half line stays.
function writeAll(fd: number, data: Buffer, size: number): void {
  try {
    for (let done = 0; done < data.length; ) done += writeSync(fd, data, done);
  } catch (err) {
    try {
      ftruncateSync(fd, size);
    } catch {
      // nothing more to do: the reader skips a damaged line
    }
    throw err;
  }
}
