// Tests of the line diff: its edit script rebuilds both texts and is minimal, and its unified rendering.
import assert from 'node:assert/strict';
import fc from 'fast-check';
import t from 'tap';
import { diffLines, unifiedDiff, type LineEdit } from '../../src/config/diff.js';

const side = (edits: LineEdit[], keep: 'del' | 'add') => edits.filter((e) => e.op === 'same' || e.op === keep).map((e) => e.line);

/** The length of a longest common subsequence, by dynamic programming: the reference for minimality. */
function lcsLength(a: string[], b: string[]): number {
  const row = new Array<number>(b.length + 1).fill(0);
  for (const x of a) {
    let diagonal = 0;
    for (let j = 1; j <= b.length; j++) {
      const above = row[j];
      row[j] = x === b[j - 1] ? diagonal + 1 : Math.max(row[j], row[j - 1]);
      diagonal = above;
    }
  }
  return row[b.length];
}

// Few distinct lines, so that the texts share many lines in many ways.
const lines = fc.array(fc.constantFrom('a', 'b', 'c', '{', '}', ''), { maxLength: 30 });

t.test('the edit script turns a into b and keeps a longest common subsequence', async (t) => {
  t.doesNotThrow(() => {
    fc.assert(
      fc.property(lines, lines, (a, b) => {
        const edits = diffLines(a, b);
        assert.deepStrictEqual(side(edits, 'del'), a);
        assert.deepStrictEqual(side(edits, 'add'), b);
        assert.equal(edits.filter((e) => e.op === 'same').length, lcsLength(a, b));
      }),
      { numRuns: 1000 },
    );
  }, '1000 random pairs');
});

t.test('very different long texts still give a correct (if not minimal) diff', async (t) => {
  const a = Array.from({ length: 6000 }, (_, i) => `old ${i}`);
  const b = Array.from({ length: 6000 }, (_, i) => `new ${i}`);
  const edits = diffLines(a, b);
  t.same(side(edits, 'del'), a);
  t.same(side(edits, 'add'), b);
});

t.test('unified rendering', async (t) => {
  t.equal(unifiedDiff('x\ny', 'x\ny'), '', 'equal texts give nothing');
  const a = ['1', '2', '3', '4', '5', '6', '7', '8', '9', '10', '11', '12', '13', '14', '15'].join('\n');
  const b = a.replace('2\n', '2\ntwo and a half\n').replace('14', 'fourteen');
  t.equal(
    unifiedDiff(a, b),
    ['@@ -1,5 +1,6 @@', ' 1', ' 2', '+two and a half', ' 3', ' 4', ' 5', '@@ -11,5 +12,5 @@', ' 11', ' 12', ' 13', '-14', '+fourteen', ' 15'].join('\n'),
  );
  t.equal(unifiedDiff('a\nb\nc', 'a\nc', 0), ['@@ -2,1 +1,0 @@', '-b'].join('\n'), 'an empty side is numbered by the line before it');
  t.equal(unifiedDiff('a', 'a\nb\nc', 1), ['@@ -1,1 +1,3 @@', ' a', '+b', '+c'].join('\n'));
});
