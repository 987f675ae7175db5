// The console terminal over a PassThrough pair: line editing, Enter in its three forms, secrets,
// Ctrl-C, idle and closed input, escape sequences and garbage from the peer, long lines, UTF-8
// split across chunks, type-ahead; and a property: no byte sequence throws or yields a control.
import fc from 'fast-check';
import t from 'tap';
import { ConsoleClosed, ConsoleIdle, ConsoleInterrupt } from '../../src/console/terminal.js';
import { fakeConsole, settle } from './harness.js';


t.test('a line is echoed, edited with backspace (0x08 and 0x7f) and Ctrl-U, ended by CR', async (t) => {
  const c = fakeConsole();
  const line = c.term.readLine('Name: ');
  c.type('abx\x7fc\x08\x08bc\r');
  t.equal(await line, 'abc');
  t.equal(c.screen(), 'Name: abx\b \bc\b \b\b \bbc\r\n');
  c.wipe();
  const killed = c.term.readLine('Again: ');
  c.type('wrong\x15right\n');
  t.equal(await killed, 'right');
  t.equal(c.screen(), `Again: wrong${'\b \b'.repeat(5)}right\r\n`);
  const empty = c.term.readLine('x: ');
  c.type('\x7f\x7f\r');
  t.equal(await empty, '', 'backspace on an empty line does nothing');
});

t.test('Enter is CR, LF or CRLF, and CRLF counts once', async (t) => {
  const c = fakeConsole();
  c.type('one\r\ntwo\nthree\rfour\r\n\r\n');
  const lines: string[] = [];
  for (let i = 0; i < 5; i++) lines.push(await c.term.readLine('> '));
  t.same(lines, ['one', 'two', 'three', 'four', '']);
});

t.test('a secret is edited but never echoed', async (t) => {
  const c = fakeConsole();
  const secret = c.term.readLine('Password: ', { secret: true });
  c.type('hunter3\x7f2\x15sw0rdd\x08!\r\n');
  t.equal(await secret, 'sw0rd!');
  t.equal(c.screen(), 'Password: \r\n');
  t.notMatch(c.screen(), /hunter|sw0rd/);
});

t.test('Ctrl-C rejects with ConsoleInterrupt, also when typed ahead; the next line works', async (t) => {
  const c = fakeConsole();
  const line = c.term.readLine('> ');
  c.type('half\x03');
  await t.rejects(line, ConsoleInterrupt);
  t.match(c.screen(), /half\^C\r\n$/);
  c.type('lost\x03kept\r');
  await t.rejects(c.term.readLine('> '), ConsoleInterrupt, 'a typed-ahead Ctrl-C interrupts the next read');
  t.equal(await c.term.readLine('> '), 'kept', 'what was typed before the Ctrl-C is gone, what came after stays');
});

t.test('the idle timeout rejects with ConsoleIdle, and each byte received resets it', async (t) => {
  const c = fakeConsole({ idleTimeoutMs: 80 });
  const started = Date.now();
  const line = c.term.readLine('> ');
  for (let i = 0; i < 4; i++) {
    await new Promise((resolve) => setTimeout(resolve, 40));
    c.type('\x1b[A'); // arrow keys are ignored but count as activity
  }
  await t.rejects(line, ConsoleIdle);
  t.ok(Date.now() - started >= 200, 'not before the last byte plus the timeout');
  const next = c.term.readLine('> ');
  c.type('ok\r');
  t.equal(await next, 'ok', 'the terminal still reads after an idle timeout');
  await new Promise((resolve) => setTimeout(resolve, 150));
  c.type('later\r');
  t.equal(await c.term.readLine('> '), 'later', 'no timeout while nobody is reading');
});

t.test('input that ends rejects the waiting and every later read with ConsoleClosed', async (t) => {
  const c = fakeConsole();
  const line = c.term.readLine('> ');
  c.type('partial');
  c.input.end();
  await t.rejects(line, ConsoleClosed);
  await t.rejects(c.term.readLine('> '), ConsoleClosed);

  const piped = fakeConsole();
  piped.input.end('first\nsecond\nunfinished');
  await settle();
  t.equal(await piped.term.readLine('> '), 'first', 'complete lines typed before the end are still read');
  t.equal(await piped.term.readLine('> '), 'second');
  await t.rejects(piped.term.readLine('> '), ConsoleClosed);

  const failed = fakeConsole();
  const waiting = failed.term.readLine('> ');
  failed.input.destroy(new Error('device gone'));
  await t.rejects(waiting, ConsoleClosed);

  const closed = fakeConsole();
  const pending = closed.term.readLine('> ');
  closed.term.close();
  await t.rejects(pending, ConsoleClosed);
  await t.rejects(closed.term.readLine('> '), ConsoleClosed);
});

t.test('escape sequences and garbage from the peer are swallowed, never echoed', async (t) => {
  const c = fakeConsole();
  const line = c.term.readLine('> ');
  c.type('ab');
  c.type('\x1b[24;80R'); // a cursor-position answer in the middle of the line
  c.type('\x1b[A\x1b[1;5D\x1bOB'); // arrow keys, CSI and SS3
  c.type('\x1b[?1;2c'); // a device-attributes answer
  c.type('\x1b]11;rgb:0000/0000/0000\x07'); // an OSC answer ended by BEL
  c.type('\x1b]0;title\x1b\\'); // an OSC ended by ST
  c.type('\x1bPq#0;2;0;0;0\x1b\\'); // DCS
  c.type([0x00, 0x00, 0xff, 0xff, 0xfe, 0x00]); // a break as it arrives on a serial line
  c.type([0x80, 0xbf, 0xc0, 0xc1, 0xf5, 0xed, 0xa0, 0x80, 0xe2, 0x82]); // invalid UTF-8: stray continuations, overlong, surrogate, truncated
  c.type('\x01\x02\x04\x05\x09\x0b\x0e\x1a\x1c');
  c.type('c\r');
  t.equal(await line, 'abc');
  t.equal(c.screen(), '> abc\r\n');
  t.notMatch(c.screen(), /\x1b|24;80|rgb|title/);
});

t.test('the size query answer split across chunks is swallowed too', async (t) => {
  const c = fakeConsole();
  const line = c.term.readLine('> ');
  for (const piece of ['x', '\x1b', '[', '24', ';8', '0', 'R', 'y', '\r']) {
    c.type(piece);
    await settle();
  }
  t.equal(await line, 'xy');
  t.equal(c.screen(), '> xy\r\n');
});

t.test('Ctrl-C and Enter still work inside an unfinished escape sequence', async (t) => {
  const c = fakeConsole();
  const line = c.term.readLine('> ');
  c.type('a\x1b[12\r');
  t.equal(await line, 'a');
  const interrupted = c.term.readLine('> ');
  c.type('\x1b]unterminated OSC\x03');
  await t.rejects(interrupted, ConsoleInterrupt);
});

t.test('a line longer than maxLineLength is refused with a bell, and editing frees room', async (t) => {
  const c = fakeConsole({ idleTimeoutMs: 0, maxLineLength: 5 });
  const line = c.term.readLine('> ');
  c.type('12345678');
  await settle();
  t.equal(c.screen(), '> 12345\x07\x07\x07');
  c.type('\x7fX\r');
  t.equal(await line, '1234X');
});

t.test('UTF-8 split across chunks, and wide characters erased by their width', async (t) => {
  const c = fakeConsole();
  const line = c.term.readLine('> ');
  const bytes = Buffer.from('né€😀日', 'utf8');
  for (const byte of bytes) {
    c.type([byte]);
    await settle();
  }
  c.type('\x7f\r');
  t.equal(await line, 'né€😀');
  t.equal(c.screen(), '> né€😀日\b \b\b \b\r\n');
});

t.test('type-ahead before readLine is kept (bounded) and echoed after the prompt', async (t) => {
  const c = fakeConsole();
  c.type('early\rlate');
  await settle();
  t.equal(c.screen(), '', 'nothing is echoed while nobody reads');
  t.equal(await c.term.readLine('1: '), 'early');
  const second = c.term.readLine('2: ');
  c.type('r\r');
  t.equal(await second, 'later');
  t.equal(c.screen(), '1: early\r\n2: later\r\n');

  const flood = fakeConsole({ idleTimeoutMs: 0, maxLineLength: 100_000 });
  flood.type('x'.repeat(10_000));
  await settle();
  const bounded = flood.term.readLine('> ');
  flood.type('\r');
  t.equal((await bounded).length, 4096, 'type-ahead is bounded to 4 KiB of keys');
});

t.test('write turns \\n into \\r\\n and shows control characters instead of sending them', async (t) => {
  const c = fakeConsole();
  c.term.write('a\nb\r\nc\td\x1b[2Je\x07f\x00g\x7fh\u0085i\u202ej');
  c.term.clear();
  await settle();
  t.equal(c.screen(), 'a\r\nb\r\nc\td^[[2Je^Gf^@g^?h?i?j\x1b[2J\x1b[H');
});

t.test('Ctrl-L redraws the prompt and the line on a new line (the secret stays hidden)', async (t) => {
  const c = fakeConsole();
  const line = c.term.readLine('> ');
  c.type('ab\x0cc\r');
  t.equal(await line, 'abc');
  const secret = c.term.readLine('pw: ', { secret: true });
  c.type('xy\x0cz\r');
  t.equal(await secret, 'xyz');
  t.equal(c.screen(), '> ab\r\n> abc\r\npw: \r\npw: \r\n');
});

t.test('a second readLine while one waits is refused', async (t) => {
  const c = fakeConsole();
  const first = c.term.readLine('> ');
  await t.rejects(c.term.readLine('> '), /already waiting/);
  c.type('x\r');
  t.equal(await first, 'x');
});

t.test('property: arbitrary bytes never throw and never put a control character in a line', async (t) => {
  const property = fc.assert(
    fc.asyncProperty(fc.array(fc.uint8Array({ maxLength: 64 }), { maxLength: 8 }), fc.boolean(), async (chunks, secret) => {
      const c = fakeConsole({ idleTimeoutMs: 0, maxLineLength: 40 });
      const lines: string[] = [];
      const reading = (async () => {
        for (;;) {
          try {
            lines.push(await c.term.readLine('> ', { secret }));
          } catch (error) {
            if (error instanceof ConsoleClosed) return;
            if (!(error instanceof ConsoleInterrupt)) throw error;
          }
        }
      })();
      for (const chunk of chunks) c.type([...chunk]);
      c.type('\r');
      c.input.end();
      await reading;
      for (const line of lines) {
        if (/[\p{Cc}\p{Cs}\u{FFFD}]/u.test(line)) throw new Error(`a control character in ${JSON.stringify(line)}`);
        if ([...line].length > 40) throw new Error('a line longer than maxLineLength');
      }
      if (secret && c.screen().replace(/> |\r\n|\x07|\^C/g, '') !== '') throw new Error(`a secret was echoed: ${JSON.stringify(c.screen())}`);
    }),
    { numRuns: 300 },
  );
  await t.resolves(property, '300 runs: no throw, no control character returned, no secret echoed');
});
