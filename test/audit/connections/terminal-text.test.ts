// Terminal text for the index: escape sequences gone wherever packets cut them, backspace and carriage
// return applied, invalid UTF-8 harmless, the cap respected.
import fc from 'fast-check';
import t from 'tap';
import { TerminalText } from '../../../src/audit/connections/terminal-text.js';

function textOf(chunks: (string | Buffer)[], max = 1 << 20): TerminalText {
  const text = new TerminalText(max);
  for (const chunk of chunks) text.write(typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : chunk);
  return text;
}

t.test('escape sequences are stripped, text kept', async (t) => {
  const screen =
    '\x1b]0;root@db: ~\x07\x1b[01;32mroot@db\x1b[00m:\x1b[01;34m~\x1b[00m# rm -rf /tmp/x\r\n' +
    '\x1b[?2004l\x1bP1$r0m\x1b\\\x1b(B\x1b=done\x1b[K\r\n';
  t.equal(textOf([screen]).text(), 'root@db:~# rm -rf /tmp/x\ndone\n');
});

t.test('backspace edits the line, carriage return ends it, blank lines go', async (t) => {
  t.equal(textOf(['rm -rx\bf /\r\n\r\n\r\n10%\r50%\r100%\n']).text(), 'rm -rf /\n10%\n50%\n100%\n');
});

t.test('C1 controls as characters start sequences too', async (t) => {
  t.equal(textOf(['a\u009b31mb\u009d0;title\u009cc']).text(), 'abc');
});

t.test('invalid UTF-8 and binary output do not break anything', async (t) => {
  const out = textOf([Buffer.from([0xff, 0xfe, 0x41, 0xe2, 0x82]), Buffer.from([0xac, 0x0a])]).text();
  t.equal(out, '\ufffd\ufffdA€\n');
});

t.test('the cap cuts the text and stops taking more', async (t) => {
  const capped = textOf(['x'.repeat(100), '\n', 'y'.repeat(100)], 50);
  t.equal(capped.truncated, true);
  t.equal(capped.text(), 'x'.repeat(50));
  t.equal(textOf(['short\n'], 50).truncated, false);
});

t.test('any split of the bytes gives the same text (property)', async (t) => {
  const pieces = fc.constantFrom('ls -l', '\x1b[1;31m', '\x1b]2;t\x07', 'é', '€', '\r\n', '\b', '\x1bP+q\x1b\\', '\x1b(0', 'x', ' ', '\x1b7', '\t');
  t.doesNotThrow(() =>
    fc.assert(
      fc.property(fc.array(pieces, { maxLength: 40 }), fc.array(fc.nat(), { maxLength: 10 }), (parts, cutsRaw) => {
        const bytes = Buffer.from(parts.join(''), 'utf8');
        const cuts = [...new Set(cutsRaw.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
        const chunks: Buffer[] = [];
        let at = 0;
        for (const cut of [...cuts, bytes.length]) {
          chunks.push(bytes.subarray(at, cut));
          at = cut;
        }
        const whole = textOf([bytes]).text();
        return textOf(chunks).text() === whole && !whole.includes('\x1b');
      }),
    ),
  );
});
