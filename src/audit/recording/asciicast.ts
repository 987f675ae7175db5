// An asciicast v2 writer for one channel (docs: shared/reference/protocols.md §7): the header line, then one
// `[t, code, data]` line per event, handed to a sink line by line (no trailing newline; the sink adds it).
// Bytes are decoded as streaming UTF-8, one decoder per direction, so a character split across packets stays
// whole and invalid bytes become U+FFFD: every line is valid JSON of valid UTF-8, whatever the channel carries.
import { StringDecoder } from 'node:string_decoder';

/** Where cast lines go; `ChainedFile` is one. */
export interface LineSink {
  write(line: string): void;
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
  /** Monotonic nanoseconds; `process.hrtime.bigint` unless a test injects one. */
  clock?: () => bigint;
}

/** Largest `data` of one event, in UTF-8 bytes: bigger text becomes several events with the same time. */
export const MAX_EVENT_BYTES = 64 * 1024;
// Below this many UTF-16 code units a string cannot exceed MAX_EVENT_BYTES (at most 3 bytes per unit).
const SURELY_SMALL = Math.floor(MAX_EVENT_BYTES / 3);

export class CastWriter {
  readonly #sink: LineSink;
  readonly #recordInput: boolean;
  readonly #clock: () => bigint;
  readonly #start: bigint;
  readonly #output = new StringDecoder('utf8');
  readonly #input = new StringDecoder('utf8');
  #lastMicros = 0;
  #ended = false;

  constructor(sink: LineSink, options: CastOptions) {
    this.#sink = sink;
    this.#recordInput = options.recordInput;
    this.#clock = options.clock ?? process.hrtime.bigint;
    this.#start = this.#clock();
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
  output(buf: Buffer): void {
    if (!this.#ended) this.#emit('o', this.#output.write(buf));
  }

  /** Bytes typed at the terminal (client → upstream); dropped unless input is recorded. */
  input(buf: Buffer): void {
    if (!this.#ended && this.#recordInput) this.#emit('i', this.#input.write(buf));
  }

  /** A `window-change`: data `COLSxROWS`. */
  resize(cols: number, rows: number): void {
    if (!this.#ended) this.#line('r', `${cols >>> 0}x${rows >>> 0}`, this.#now());
  }

  /** Flushes what the decoders hold (an incomplete character becomes U+FFFD); later calls are ignored. */
  end(): void {
    if (this.#ended) return;
    this.#emit('o', this.#output.end());
    if (this.#recordInput) this.#emit('i', this.#input.end());
    this.#ended = true;
  }

  #emit(code: 'o' | 'i', text: string): void {
    if (text.length === 0) return;
    const t = this.#now();
    for (const piece of pieces(text)) this.#line(code, piece, t);
  }

  #line(code: string, data: string, t: string): void {
    this.#sink.write(`[${t},"${code}",${JSON.stringify(data)}]`);
  }

  /** Seconds since the start, microsecond precision, never decreasing. */
  #now(): string {
    const micros = Number((this.#clock() - this.#start) / 1000n);
    if (micros > this.#lastMicros) this.#lastMicros = micros;
    return String(this.#lastMicros / 1e6);
  }
}

/** `text` cut at character boundaries into pieces of at most MAX_EVENT_BYTES UTF-8 bytes. */
export function pieces(text: string): string[] {
  if (text.length <= SURELY_SMALL) return [text];
  const bytes = Buffer.from(text, 'utf8');
  if (bytes.length <= MAX_EVENT_BYTES) return [text];
  const out: string[] = [];
  let start = 0;
  while (start < bytes.length) {
    let end = Math.min(start + MAX_EVENT_BYTES, bytes.length);
    // Step back over continuation bytes (10xxxxxx) so no character is cut.
    while (end < bytes.length && (bytes[end] & 0xc0) === 0x80) end--;
    out.push(bytes.toString('utf8', start, end));
    start = end;
  }
  return out;
}
