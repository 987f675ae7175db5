// The asciicast v2 writer: header and event shape, streaming UTF-8 whatever the packet boundaries,
// invalid bytes as U+FFFD in valid JSON, bounded events, input only when asked for, monotonic times.
import fc from 'fast-check';
import t from 'tap';
import { CastWriter, MAX_EVENT_BYTES, type CastOptions } from '../../../src/audit/recording/asciicast.js';

type Event = [number, string, string];

function recorder(options: Partial<CastOptions> = {}) {
  const lines: string[] = [];
  let now = 0n;
  const writer = new CastWriter({ write: (line) => lines.push(line) }, {
    width: 80, height: 24, startedAt: new Date('2024-05-01T10:00:00.750Z'), term: 'xterm-256color', title: 'alice@db1',
    recordInput: false, clock: () => now, ...options,
  });
  return {
    writer,
    lines,
    advance: (ns: bigint) => { now += ns; },
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
