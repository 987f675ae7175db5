// An asciicast v2 writer for one channel (docs: shared/reference/protocols.md §7): the header line, then one
// `[t, code, data]` line per event, handed to a sink line by line (no trailing newline; the sink adds it).
// Bytes are decoded as streaming UTF-8, one decoder per direction, so a character split across packets stays
// whole and invalid bytes become U+FFFD: every line is valid JSON of valid UTF-8, whatever the channel carries.
//
// The event lines are made as bytes (`JsonUtf8Event`), never through a decoded JS string: StringDecoder,
// JSON.stringify and encoding the result again ran at ~40 MB/s on random bytes and ~175 MB/s on terminal text
// (scripts/bench/recording-write.ts), too slow for a channel at the gateway's speed. Each line is exactly
// `[t,"o",JSON.stringify(text)]` as UTF-8; the text of a direction is its bytes decoded whole (the tests hold
// it to both). Where a U+FFFD falls may differ from StringDecoder's: it is written as soon as a byte is known
// invalid, where StringDecoder first waits for as many bytes as the lead byte announced.
import { isUtf8 } from 'node:buffer';

/** Where cast lines go; `ChainedFile` is one. */
export interface LineSink {
  /** One line without its newline. Bytes are valid only during the call: a sink that keeps them copies them. */
  write(line: string | Uint8Array): void;
}

export interface CastOptions {
  width: number;
  height: number;
  startedAt: Date;
  /** Goes to the header's `env.TERM` (the only env entry captured); omitted when unknown. */
  term?: string;
  title: string;
  /** Keystrokes include passwords typed at echo-off prompts: recorded only when policy says so. */
  recordInput: boolean;
  /** Monotonic nanoseconds as a number (from `performance.now()`: no BigInt per event) unless a test injects one. */
  clock?: () => number;
}

/** Largest `data` of one event, in UTF-8 bytes: bigger text becomes several events with the same time. */
export const MAX_EVENT_BYTES = 64 * 1024;

export class CastWriter {
  readonly #sink: LineSink;
  readonly #recordInput: boolean;
  readonly #clock: () => number;
  readonly #start: number;
  readonly #output: JsonUtf8Event;
  readonly #input: JsonUtf8Event;
  #lastMicros = 0;
  #ended = false;

  constructor(sink: LineSink, options: CastOptions) {
    this.#sink = sink;
    this.#recordInput = options.recordInput;
    this.#clock = options.clock ?? monotonicNanoseconds;
    this.#start = this.#clock();
    const now = (): string => this.#now();
    this.#output = new JsonUtf8Event('o', now, sink);
    this.#input = new JsonUtf8Event('i', now, sink);
    const header: Record<string, unknown> = {
      version: 2,
      width: options.width,
      height: options.height,
      timestamp: Math.floor(options.startedAt.getTime() / 1000),
    };
    if (options.term !== undefined) header.env = { TERM: options.term };
    header.title = options.title;
    sink.write(JSON.stringify(header));
  }

  /** Bytes written to the terminal (upstream → client). */
  output(buf: Uint8Array): void {
    if (!this.#ended) this.#output.write(buf);
  }

  /** Bytes typed at the terminal (client → upstream); dropped unless input is recorded. */
  input(buf: Uint8Array): void {
    if (!this.#ended && this.#recordInput) this.#input.write(buf);
  }

  /** A `window-change`: data `COLSxROWS`. */
  resize(cols: number, rows: number): void {
    if (!this.#ended) this.#sink.write(`[${this.#now()},"r","${cols >>> 0}x${rows >>> 0}"]`);
  }

  /** Flushes what the decoders hold (an incomplete character becomes U+FFFD); later calls are ignored. */
  end(): void {
    if (this.#ended) return;
    this.#output.end();
    if (this.#recordInput) this.#input.end();
    this.#ended = true;
  }

  /** Seconds since the start, microsecond precision, never decreasing. */
  #now(): string {
    const micros = Math.floor((this.#clock() - this.#start) / 1000);
    if (micros > this.#lastMicros) this.#lastMicros = micros;
    return String(this.#lastMicros / 1e6);
  }
}

function monotonicNanoseconds(): number {
  return performance.now() * 1e6;
}

// What each byte is to the decoder when no character is open.
const WHOLE = 1; // 00..7F: a character
const LEAD2 = 2; // C2..DF
const LEAD3 = 3; // E0..EF
const LEAD4 = 4; // F0..F4
const INVALID = 5; // 80..C1, F5..FF: U+FFFD
const KIND = new Uint8Array(256).map((_, b) => (b < 0x80 ? WHOLE : b < 0xc2 ? INVALID : b < 0xe0 ? LEAD2 : b < 0xf0 ? LEAD3 : b < 0xf5 ? LEAD4 : INVALID));
// For a byte that is a whole character (ASCII) or an invalid one (U+FFFD), 0 for a lead byte: the UTF-8 bytes
// it adds to the data, its bytes in the JSON string (JSON.stringify's: \n-style escapes where JSON has them,
// \u00XX in lower-case hex for the other controls, `"` and `\` escaped), and those bytes, 8 per byte value.
const DATA_BYTES = new Uint8Array(256);
const JSON_BYTES = new Uint8Array(256);
const SINGLE = new Uint8Array(256 * 8);
for (let b = 0; b < 256; b++) {
  if (KIND[b] !== WHOLE && KIND[b] !== INVALID) continue;
  const json = Buffer.from(JSON.stringify(b < 0x80 ? String.fromCharCode(b) : '\ufffd').slice(1, -1), 'utf8');
  DATA_BYTES[b] = b < 0x80 ? 1 : 3;
  JSON_BYTES[b] = json.length;
  SINGLE.set(json, b * 8);
}
// Below this many bytes the byte-by-byte way is as quick as the native one.
const NATIVE_BYTES = 64;
// The longest line: a short prefix, every data byte as \u00XX, the closing `"]`, and room for the 6 bytes
// the table copy writes whatever the escape's length.
const LINE_BYTES = 64 + 6 * MAX_EVENT_BYTES + 8;

const LINE = Buffer.allocUnsafe(LINE_BYTES);

/**
 * One direction of a channel as event lines: a streaming UTF-8 decoder (WHATWG, as Node's: each maximal
 * invalid subpart is one U+FFFD) that writes JSON string bytes straight into a line buffer. The bytes of a
 * character split across writes wait in the decoder until it completes; an event is cut before a character
 * that would take its data past MAX_EVENT_BYTES.
 */
class JsonUtf8Event {
  readonly #prefix: string;
  readonly #now: () => string;
  readonly #sink: LineSink;
  /** The line being made: one for every writer (a line is handed to the sink before the next begins). */
  readonly #line = LINE;
  /** Bytes of the open character and how many it needs in all (0: none open), with the bounds of the next. */
  readonly #seq = new Uint8Array(4);
  #seqLength = 0;
  #needed = 0;
  #lower = 0x80;
  #upper = 0xbf;
  /** The time of the events of the current write, taken with its first one. */
  #time: string | undefined;
  /** The open event of the current write: the end of its line so far (0: none open) and its data bytes. */
  #at = 0;
  #data = 0;

  constructor(code: 'o' | 'i', now: () => string, sink: LineSink) {
    this.#prefix = `,"${code}","`;
    this.#now = now;
    this.#sink = sink;
  }

  write(buf: Uint8Array): void {
    this.#time = undefined;
    this.#at = 0;
    this.#data = 0;
    // Valid UTF-8 (terminal output, mostly) takes the native way: the same bytes as a latin1 string, which
    // JSON.stringify escapes exactly as it would the decoded text (it escapes only ASCII, and UTF-8 puts no
    // ASCII inside a character), written back as latin1. Only whole characters go that way: the bytes that
    // finish an open one, or start one the next write finishes, are decoded byte by byte.
    let start = 0;
    while (this.#needed !== 0 && start < buf.length && start < 4) this.#decode(buf, start, ++start);
    let end = buf.length;
    for (let k = 1; k <= 3 && end - k >= start; k++) {
      const b = buf[end - k];
      if ((b & 0xc0) === 0x80) continue; // a continuation byte: look further back
      if (b >= 0xc0 && k < (b >= 0xf0 ? 4 : b >= 0xe0 ? 3 : 2)) end -= k; // a character the next write finishes
      break;
    }
    const bytes = Buffer.isBuffer(buf) ? buf : Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength);
    if (this.#needed === 0 && end - start >= NATIVE_BYTES && end - start <= MAX_EVENT_BYTES - this.#data && isUtf8(bytes.subarray(start, end))) {
      const json = JSON.stringify(bytes.toString('latin1', start, end));
      const at = this.#at === 0 ? this.#open(0) : this.#at;
      // The string's opening quote lands on the line's last byte so far, which is put back.
      const last = this.#line[at - 1];
      this.#line.write(json, at - 1, 'latin1');
      this.#line[at - 1] = last;
      this.#at = at + json.length - 2;
      this.#data += end - start;
    } else {
      end = start;
    }
    if (end < buf.length) this.#decode(buf, end, buf.length);
    if (this.#at !== 0) this.#emit(this.#at);
  }

  /** Decodes `buf[from, to)` byte by byte into the open event (`#at`, `#data`), emitting full ones. */
  #decode(buf: Uint8Array, from: number, to: number): void {
    // The state in locals for the loop (V8 keeps them in registers), written back at the end.
    const line = this.#line;
    const seq = this.#seq;
    let needed = this.#needed;
    let seqLength = this.#seqLength;
    let lower = this.#lower;
    let upper = this.#upper;
    let at = this.#at; // end of the line so far; 0 while no event is open
    let data = this.#data; // the open event's data bytes (UTF-8 of the decoded text)
    for (let i = from; i < to; ) {
      const b = buf[i];
      if (needed === 0) {
        if (b >= 0x20 && b < 0x80 && b !== 0x22 && b !== 0x5c) {
          // Plain ASCII, the bulk of terminal output: copied in a run while the event has room.
          if (at === 0 || data === MAX_EVENT_BYTES) {
            at = this.#open(at);
            data = 0;
          }
          const end = Math.min(to, i + MAX_EVENT_BYTES - data);
          const from = i;
          let c = b;
          do {
            line[at++] = c;
            c = buf[++i];
          } while (i < end && c >= 0x20 && c < 0x80 && c !== 0x22 && c !== 0x5c);
          data += i - from;
          continue;
        }
        const size = DATA_BYTES[b];
        if (size !== 0) {
          // A control character, `"`, `\` or an invalid byte: its JSON bytes from the table.
          if (at === 0 || data + size > MAX_EVENT_BYTES) {
            at = this.#open(at);
            data = 0;
          }
          const from = b << 3;
          line[at] = SINGLE[from];
          line[at + 1] = SINGLE[from + 1];
          line[at + 2] = SINGLE[from + 2];
          line[at + 3] = SINGLE[from + 3];
          line[at + 4] = SINGLE[from + 4];
          line[at + 5] = SINGLE[from + 5];
          at += JSON_BYTES[b];
          data += size;
          i++;
        } else {
          const kind = KIND[b];
          needed = kind - 1;
          seq[0] = b;
          seqLength = 1;
          if (b === 0xe0) lower = 0xa0;
          else if (b === 0xed) upper = 0x9f;
          else if (b === 0xf0) lower = 0x90;
          else if (b === 0xf4) upper = 0x8f;
          i++;
        }
      } else if (b < lower || b > upper) {
        // The open character is invalid: one U+FFFD for it, and `b` is read again on its own.
        needed = 0;
        lower = 0x80;
        upper = 0xbf;
        if (at === 0 || data + 3 > MAX_EVENT_BYTES) {
          at = this.#open(at);
          data = 0;
        }
        line[at++] = 0xef;
        line[at++] = 0xbf;
        line[at++] = 0xbd;
        data += 3;
      } else {
        i++;
        lower = 0x80;
        upper = 0xbf;
        seq[seqLength++] = b;
        if (seqLength > needed) {
          if (at === 0 || data + seqLength > MAX_EVENT_BYTES) {
            at = this.#open(at);
            data = 0;
          }
          for (let k = 0; k < seqLength; k++) line[at++] = seq[k];
          data += seqLength;
          needed = 0;
        }
      }
    }
    this.#needed = needed;
    this.#seqLength = seqLength;
    this.#lower = lower;
    this.#upper = upper;
    this.#at = at;
    this.#data = data;
  }

  /** The end of the stream: an open character becomes U+FFFD. */
  end(): void {
    if (this.#needed === 0) return;
    this.#reset();
    this.write(REPLACEMENT);
  }

  #emit(at: number): void {
    this.#line[at] = 0x22; // "
    this.#line[at + 1] = 0x5d; // ]
    this.#sink.write(this.#line.subarray(0, at + 2));
  }

  /** Emits the open event, if any (`at` is its end), and opens the next: returns the end of its prefix. */
  #open(at: number): number {
    if (at !== 0) this.#emit(at);
    this.#time ??= this.#now();
    at = this.#line.write('[', 0, 'latin1');
    at += this.#line.write(this.#time, at, 'latin1');
    return at + this.#line.write(this.#prefix, at, 'latin1');
  }

  #reset(): void {
    this.#needed = 0;
    this.#seqLength = 0;
    this.#lower = 0x80;
    this.#upper = 0xbf;
  }
}

const REPLACEMENT = Buffer.from('\ufffd', 'utf8');
