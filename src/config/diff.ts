// A line diff (Myers' O((N+M)·D) algorithm) and its unified-style rendering, for comparing
// configuration versions.

export type LineEdit = { op: 'same' | 'del' | 'add'; line: string };

/**
 * Beyond this many differing lines the exact search costs O(D²) memory; the rest is then shown
 * as one replacement, which is still a correct diff, only not a minimal one.
 */
const MAX_EXACT_EDITS = 2000;

/** The edit script turning `a` into `b`: kept lines, deletions and additions in order. */
export function diffLines(a: readonly string[], b: readonly string[]): LineEdit[] {
  let prefix = 0;
  while (prefix < a.length && prefix < b.length && a[prefix] === b[prefix]) prefix++;
  let suffix = 0;
  while (suffix < a.length - prefix && suffix < b.length - prefix && a[a.length - 1 - suffix] === b[b.length - 1 - suffix]) suffix++;
  const same = (lines: readonly string[]): LineEdit[] => lines.map((line) => ({ op: 'same', line }));
  return [
    ...same(a.slice(0, prefix)),
    ...myers(a.slice(prefix, a.length - suffix), b.slice(prefix, b.length - suffix)),
    ...same(a.slice(a.length - suffix)),
  ];
}

/** Myers' greedy shortest edit script, remembering each round's frontier to walk back the path. */
function myers(a: readonly string[], b: readonly string[]): LineEdit[] {
  const n = a.length;
  const m = b.length;
  const offset = n + m + 1;
  const v = new Int32Array(2 * offset + 1);
  const trace: Int32Array[] = [];
  for (let d = 0; d <= Math.min(n + m, MAX_EXACT_EDITS); d++) {
    trace.push(v.slice(offset - d, offset + d + 1));
    for (let k = -d; k <= d; k += 2) {
      const down = k === -d || (k !== d && v[offset + k - 1] < v[offset + k + 1]);
      let x = down ? v[offset + k + 1] : v[offset + k - 1] + 1;
      let y = x - k;
      while (x < n && y < m && a[x] === b[y]) {
        x++;
        y++;
      }
      v[offset + k] = x;
      if (x >= n && y >= m) return backtrack(a, b, trace);
    }
  }
  return replaceAll(a, b);
}

/** Walks the recorded frontiers from the end back to the start, collecting the edits. */
function backtrack(a: readonly string[], b: readonly string[], trace: Int32Array[]): LineEdit[] {
  const edits: LineEdit[] = [];
  let x = a.length;
  let y = b.length;
  for (let d = trace.length - 1; d >= 0; d--) {
    // trace[d] holds the frontier before round d, indexed k + d for k in [-d, d].
    const at = (k: number) => trace[d][k + d];
    const k = x - y;
    const down = k === -d || (k !== d && at(k - 1) < at(k + 1));
    const prevK = down ? k + 1 : k - 1;
    const prevX = d === 0 ? 0 : at(prevK);
    const prevY = prevX - prevK;
    while (x > prevX && y > prevY) {
      edits.push({ op: 'same', line: a[--x] });
      y--;
    }
    if (d > 0) {
      if (down) edits.push({ op: 'add', line: b[--y] });
      else edits.push({ op: 'del', line: a[--x] });
    }
  }
  return edits.reverse();
}

function replaceAll(a: readonly string[], b: readonly string[]): LineEdit[] {
  return [...a.map((line): LineEdit => ({ op: 'del', line })), ...b.map((line): LineEdit => ({ op: 'add', line }))];
}

/**
 * Renders a unified diff (`@@ -a,n +b,m @@` hunks with `context` lines around each change),
 * or the empty string when the texts are equal.
 */
export function unifiedDiff(a: string, b: string, context = 3): string {
  const edits = diffLines(a.split('\n'), b.split('\n'));
  const out: string[] = [];
  for (const [start, end] of hunkRanges(edits, context)) out.push(...renderHunk(edits, start, end));
  return out.join('\n');
}

/** Index ranges [start, end) of the edit script that form hunks: changes plus context, merged. */
function hunkRanges(edits: LineEdit[], context: number): [number, number][] {
  const ranges: [number, number][] = [];
  edits.forEach((edit, i) => {
    if (edit.op === 'same') return;
    const start = Math.max(0, i - context);
    const end = Math.min(edits.length, i + context + 1);
    const last = ranges[ranges.length - 1];
    if (last && start <= last[1]) last[1] = end;
    else ranges.push([start, end]);
  });
  return ranges;
}

function renderHunk(edits: LineEdit[], start: number, end: number): string[] {
  // Line numbers where the hunk starts in each text: count what precedes it.
  let oldLine = 1;
  let newLine = 1;
  for (const edit of edits.slice(0, start)) {
    if (edit.op !== 'add') oldLine++;
    if (edit.op !== 'del') newLine++;
  }
  const body = edits.slice(start, end);
  const oldCount = body.filter((e) => e.op !== 'add').length;
  const newCount = body.filter((e) => e.op !== 'del').length;
  // As in GNU diff, an empty side is numbered by the line before it.
  const header = `@@ -${oldCount ? oldLine : oldLine - 1},${oldCount} +${newCount ? newLine : newLine - 1},${newCount} @@`;
  const sign = { same: ' ', del: '-', add: '+' } as const;
  return [header, ...body.map((e) => `${sign[e.op]}${e.line}`)];
}
