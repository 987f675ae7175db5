import t from 'tap';
import { LineSplitter } from '../../../src/aa/sandbox/line-splitter.js';

t.test('lines across chunks, CRLF, and the rest at the end', async (t) => {
  const lines = new LineSplitter(100);
  t.strictSame(lines.push(Buffer.from('one\ntw')), ['one']);
  t.strictSame(lines.push(Buffer.from('o\r\nthree')), ['two']);
  t.strictSame(lines.end(), ['three']);
  t.strictSame(lines.end(), []);
});

t.test('a multi-byte character split between chunks stays whole', async (t) => {
  const lines = new LineSplitter(100);
  const bytes = Buffer.from('é\n');
  t.strictSame(lines.push(bytes.subarray(0, 1)), []);
  t.strictSame(lines.push(bytes.subarray(1)), ['é']);
});

t.test('an over-long line is cut once and its rest dropped, without holding it', async (t) => {
  const lines = new LineSplitter(10);
  t.strictSame(lines.push(Buffer.from('x'.repeat(25))), [`${'x'.repeat(10)}…`]);
  t.strictSame(lines.push(Buffer.from('y'.repeat(25))), []);
  t.strictSame(lines.push(Buffer.from('zz\nnext\n')), ['next']);
  t.strictSame(lines.push(Buffer.from(`${'w'.repeat(12)}\n`)), [`${'w'.repeat(10)}…`]);
});
