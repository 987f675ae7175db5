// The asciicast v2 writer: header and event shape, streaming UTF-8 whatever the packet boundaries,
// invalid bytes as U+FFFD in valid JSON, bounded events, input only when asked for, monotonic times.
import fc from 'fast-check';
import { StringDecoder } from 'node:string_decoder';
import t from 'tap';
import { CastWriter, MAX_EVENT_BYTES, type CastOptions, type LineSink } from '../../../src/audit/recording/asciicast.js';

type Event = [number, string, string];

function recorder(options: Partial<CastOptions> = {}) {
  const lines: string[] = [];
  let now = 0;
  const sink: LineSink = { write: (line) => lines.push(typeof line === 'string' ? line : Buffer.from(line).toString('utf8')) };
  const writer = new CastWriter(sink, {
    width: 80, height: 24, startedAt: new Date('2024-05-01T10:00:00.750Z'), term: 'xterm-256color', title: 'alice@db1',
    recordInput: false, clock: () => now, ...options,
  });
  return {
    writer,
    lines,
    advance: (ns: bigint) => { now += Number(ns); },
    events: () => lines.slice(1).map((line) => JSON.parse(line) as Event),
    text: (code: string) => lines.slice(1).map((line) => JSON.parse(line) as Event).filter((e) => e[1] === code).map((e) => e[2]).join(''),
  };
}

t.test('header line and event lines', async (t) => {
  const r = recorder();
  r.advance(248_848_123n);
  r.writer.output(Buffer.from('\x1b[1;31mHello\r\n'));
  r.advance(1_000_000_000n);
  r.writer.resize(132, 43);
  r.advance(1_000n);
  r.writer.output(Buffer.from('bye'));
  r.writer.end();
  for (const line of r.lines) t.notMatch(line, /\n/, 'one line each');
  t.same(JSON.parse(r.lines[0]), { version: 2, width: 80, height: 24, timestamp: 1714557600, env: { TERM: 'xterm-256color' }, title: 'alice@db1' });
  t.same(r.events(), [[0.248848, 'o', '\x1b[1;31mHello\r\n'], [1.248848, 'r', '132x43'], [1.248849, 'o', 'bye']]);
  t.equal(r.lines[1], '[0.248848,"o","\\u001b[1;31mHello\\r\\n"]');
  t.notOk('env' in JSON.parse(recorder({ term: undefined }).lines[0]), 'no env when TERM is unknown');
});

t.test('times never go backwards and carry at most 6 decimals', async (t) => {
  const r = recorder();
  for (const step of [1n, 999n, 1_000n, 123_456_789n, 0n, 7n, 3_000_000_001n]) {
    r.advance(step);
    r.writer.output(Buffer.from('x'));
  }
  const times = r.events().map((e) => e[0]);
  t.same(times, [...times].sort((a, b) => a - b));
  for (const line of r.lines.slice(1)) t.match(line, /^\[\d+(\.\d{1,6})?,/);
});

t.test('any split of any bytes gives the text of decoding them whole', async (t) => {
  t.doesNotThrow(() => fc.assert(fc.property(fc.uint8Array({ maxLength: 200 }), fc.array(fc.nat(200)), (bytes, cuts) => {
    const r = recorder();
    const points = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
    let start = 0;
    for (const point of [...points, bytes.length]) {
      r.writer.output(Buffer.from(bytes.subarray(start, point)));
      start = point;
    }
    r.writer.end();
    return r.text('o') === Buffer.from(bytes).toString('utf8');
  }), { numRuns: 500 }), 'any bytes, any cuts (500 runs)');
  t.doesNotThrow(() => fc.assert(fc.property(fc.string({ unit: 'grapheme', maxLength: 50 }), fc.nat(), (text, seed) => {
    const r = recorder();
    const bytes = Buffer.from(text);
    for (let i = 0; i < bytes.length; i += 1 + (seed % 3)) r.writer.output(bytes.subarray(i, i + 1 + (seed % 3)));
    r.writer.end();
    return r.text('o') === text;
  }), { numRuns: 300 }), 'valid text cut anywhere comes back unchanged (300 runs)');
});

t.test('a character split across packets is joined; invalid bytes become U+FFFD in valid JSON', async (t) => {
  const r = recorder();
  const euro = Buffer.from('€');
  r.writer.output(euro.subarray(0, 1));
  r.writer.output(euro.subarray(1));
  r.writer.output(Buffer.from([0xff, 0xfe, 0x41, 0xc3]));
  r.writer.end();
  for (const line of r.lines) JSON.parse(line);
  t.equal(r.text('o'), '€\ufffd\ufffdA\ufffd', 'the dangling 0xc3 is flushed by end()');
  t.notMatch(r.lines.join(''), /\\ud[89a-f]/i, 'no lone surrogates');
});

t.test('a 10 MiB chunk becomes events of at most 64 KiB, cut between characters', async (t) => {
  const r = recorder();
  const text = 'ab€😀\x1b'.repeat(Math.ceil((10 * 1024 * 1024) / 10));
  r.writer.output(Buffer.from(text));
  r.writer.end();
  const events = r.events();
  t.ok(events.length >= 160, `${events.length} events`);
  t.ok(events.every((e) => Buffer.byteLength(e[2]) <= MAX_EVENT_BYTES && e[0] === events[0][0]));
  t.notOk(events.some((e) => e[2].includes('\ufffd')));
  t.equal(events.map((e) => e[2]).join(''), text);
});

t.test('input is recorded only when enabled', async (t) => {
  const off = recorder();
  off.writer.input(Buffer.from('secret\r'));
  off.writer.end();
  t.equal(off.lines.length, 1, 'header only');
  const on = recorder({ recordInput: true });
  on.writer.input(Buffer.from('ls\r'));
  on.writer.output(Buffer.from('ls\r\n'));
  on.writer.end();
  t.same(on.events().map((e) => e[1]), ['i', 'o']);
  t.equal(on.text('i'), 'ls\r');
});

t.test('nothing is written after end()', async (t) => {
  const r = recorder({ recordInput: true });
  r.writer.end();
  r.writer.output(Buffer.from('late'));
  r.writer.input(Buffer.from('late'));
  r.writer.resize(1, 1);
  r.writer.end();
  t.equal(r.lines.length, 1);
});

/**
 * The writer before it made lines byte by byte: StringDecoder, JSON.stringify, and events cut at character
 * boundaries every MAX_EVENT_BYTES. For bytes whose characters all complete within one write, the lines of
 * CastWriter are these, byte for byte.
 */
function referenceLines(writes: { code: 'o' | 'i'; bytes: Buffer }[]): string[] {
  const decoders = { o: new StringDecoder('utf8'), i: new StringDecoder('utf8') };
  const lines: string[] = [];
  const emit = (code: 'o' | 'i', text: string): void => {
    const bytes = Buffer.from(text, 'utf8');
    for (let start = 0; start < bytes.length; ) {
      let end = Math.min(start + MAX_EVENT_BYTES, bytes.length);
      while (end < bytes.length && (bytes[end] & 0xc0) === 0x80) end--;
      lines.push(`[0,"${code}",${JSON.stringify(bytes.toString('utf8', start, end))}]`);
      start = end;
    }
  };
  for (const { code, bytes } of writes) emit(code, decoders[code].write(bytes));
  emit('o', decoders.o.end());
  emit('i', decoders.i.end());
  return lines;
}

function castLinesOf(writes: { code: 'o' | 'i'; bytes: Buffer }[]): string[] {
  const r = recorder({ recordInput: true });
  for (const { code, bytes } of writes) (code === 'o' ? r.writer.output(bytes) : r.writer.input(bytes));
  r.writer.end();
  return r.lines.slice(1);
}

// Bytes that exercise the decoder: ASCII, controls, quotes, every kind of lead and continuation byte.
const interesting = fc.oneof(
  fc.integer({ min: 0, max: 255 }),
  fc.constantFrom(0x00, 0x1b, 0x22, 0x5c, 0x7f, 0x80, 0xbf, 0xc0, 0xc1, 0xc2, 0xdf, 0xe0, 0xed, 0xef, 0xf0, 0xf4, 0xf5, 0xff, 0x9f, 0xa0, 0x8f, 0x90),
);

t.test('every line is JSON.stringify\'s; each direction decodes as its bytes decoded whole', async (t) => {
  // The writer says a byte is invalid as soon as it knows (StringDecoder waits for the length the lead byte
  // announces), so a U+FFFD may land one event earlier than StringDecoder's: the text is the same.
  // Writes of odd bytes, and writes of text long enough for the native way, cut anywhere (inside a character too).
  const oddBytes = fc.array(interesting, { maxLength: 40 }).map((bytes) => [Buffer.from(bytes)]);
  const longText = fc.tuple(fc.string({ unit: 'binary', maxLength: 150 }), fc.nat(), fc.array(interesting, { maxLength: 2 }))
    .map(([chars, cut, junk]) => {
      const bytes = Buffer.concat([Buffer.from(chars), Buffer.from(junk)]);
      const at = cut % (bytes.length + 1);
      return [bytes.subarray(0, at), bytes.subarray(at)];
    });
  t.doesNotThrow(() => fc.assert(fc.property(
    fc.array(fc.record({ code: fc.constantFrom<'o' | 'i'>('o', 'i'), writes: fc.oneof(oddBytes, longText) }), { maxLength: 12 }),
    (raw) => {
      const writes = raw.flatMap(({ code, writes }) => writes.map((bytes) => ({ code, bytes })));
      const lines = castLinesOf(writes);
      const events = lines.map((line) => JSON.parse(line) as Event);
      const sameBytes = lines.every((line, k) => line === `[0,"${events[k][1]}",${JSON.stringify(events[k][2])}]`);
      const text = (code: string): string => events.filter((e) => e[1] === code).map((e) => e[2]).join('');
      const whole = (code: string): string => Buffer.concat(writes.filter((w) => w.code === code).map((w) => w.bytes)).toString('utf8');
      return sameBytes && events.every((e) => e[2] !== '') && text('o') === whole('o') && text('i') === whole('i');
    },
  ), { numRuns: 1000 }), 'odd bytes and long text, any cuts, both directions (1000 runs)');
  for (const [k, text] of ['plain', '\x1b[0m\r\n"quoted" back\\slash \u2028 \x7f\x00\t\b\f', '€😀é\ud7ff\ue000\uffff', '\x1b[01;34mreport.txt\x1b[0m\r\n — ✔ "q" \\ \u0001'.repeat(20)].entries()) {
    const writes = [{ code: 'o' as const, bytes: Buffer.from(text) }];
    t.same(castLinesOf(writes), referenceLines(writes), `as the reference: text ${k}`);
  }
});

t.test('big writes are cut where the reference cuts them', async (t) => {
  const big = Buffer.alloc(3 * MAX_EVENT_BYTES + 7);
  for (let i = 0; i < big.length; i++) big[i] = (i * 2654435761) >>> 24;
  for (const bytes of [big, Buffer.from('€'.repeat(MAX_EVENT_BYTES)), Buffer.alloc(MAX_EVENT_BYTES + 1, 0x1b), Buffer.alloc(MAX_EVENT_BYTES, 0x41)]) {
    const writes = [{ code: 'o' as const, bytes }, { code: 'o' as const, bytes: bytes.subarray(1) }];
    const lines = castLinesOf(writes);
    t.same(lines, referenceLines(writes), `${bytes.length} bytes from ${bytes[0]}`);
  }
});
