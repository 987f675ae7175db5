// QR encoder: Reed–Solomon vector, module matrices equal to qrencode's, format/version info, rendering.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import t from 'tap';
import { byteCapacity } from '../../../src/plugins/totp/qr/codewords.js';
import { encodeQr, type QrCode } from '../../../src/plugins/totp/qr/encoder.js';
import { penalty } from '../../../src/plugins/totp/qr/matrix.js';
import { errorCorrection } from '../../../src/plugins/totp/qr/reed-solomon.js';
import { renderQrAscii, renderQrHalfBlocks } from '../../../src/plugins/totp/qr/render.js';
import type { EcLevel } from '../../../src/plugins/totp/qr/tables.js';

interface Fixture {
  level: EcLevel;
  input: string;
  rows: string[];
}

const fixtures = (JSON.parse(readFileSync(new URL('../fixtures/qrencode-matrices.json', import.meta.url), 'utf8')) as { cases: Fixture[] }).cases;

function rowsOf(code: QrCode): string[] {
  return code.modules.map((row) => row.map((dark) => (dark ? '1' : '0')).join(''));
}

/** EC level and mask from the first copy of the format information, checked against its BCH code. */
function readFormat(rows: string[]): { level: EcLevel; mask: number } {
  const at = (row: number, col: number) => (rows[row][col] === '1' ? 1 : 0);
  const positions: [number, number][] = [];
  for (let i = 0; i <= 5; i++) positions.push([i, 8]);
  positions.push([7, 8], [8, 8], [8, 7]);
  for (let i = 9; i < 15; i++) positions.push([8, 14 - i]);
  const bits = positions.reduce((value, [row, col], i) => value | (at(row, col) << i), 0) ^ 0x5412;
  let remainder = bits >>> 10;
  for (let i = 0; i < 10; i++) remainder = (remainder << 1) ^ ((remainder >>> 9) * 0x537);
  if ((remainder & 0x3ff) !== (bits & 0x3ff)) throw new Error('format information fails its BCH check');
  const data = bits >>> 10;
  const levelBits = data >>> 3;
  if (levelBits !== 0 && levelBits !== 1) throw new Error(`unexpected EC level bits ${levelBits}`);
  return { level: levelBits === 1 ? 'L' : 'M', mask: data & 7 };
}

/** The input goes through stdin, so any byte (and a leading "-") is fine. */
function qrencodeRows(input: Uint8Array, level: EcLevel, version: number): string[] {
  const out = execFileSync('qrencode', ['-8', '-l', level, '-v', String(version), '-m', '0', '-t', 'ASCII', '-o', '-'], { input, encoding: 'utf8' });
  return out
    .split('\n')
    .filter((line) => line.length > 0)
    .map((line) => (line.match(/../g) ?? []).map((pair) => (pair === '##' ? '1' : '0')).join(''));
}

t.test('Reed–Solomon: the ISO/IEC 18004 "HELLO WORLD" 1-M block', async (t) => {
  const data = Uint8Array.of(32, 91, 11, 120, 209, 114, 220, 77, 67, 64, 236, 17, 236, 17, 236, 17);
  t.same([...errorCorrection(data, 10)], [196, 35, 39, 119, 235, 215, 231, 226, 93, 23]);
});

t.test('byte capacities of versions 1–10 (ISO table 7)', async (t) => {
  const expected: Record<EcLevel, number[]> = {
    L: [17, 32, 53, 78, 106, 134, 154, 192, 230, 271],
    M: [14, 26, 42, 62, 84, 106, 122, 152, 180, 213],
  };
  for (const level of ['L', 'M'] as const) t.same(Array.from({ length: 10 }, (_, i) => byteCapacity(i + 1, level)), expected[level], level);
});

t.test('module matrices equal qrencode 4.1.1 output (fixtures, versions 1–10, L and M)', async (t) => {
  t.ok(fixtures.length >= 16);
  for (const fixture of fixtures) {
    const { mask, level } = readFormat(fixture.rows);
    t.equal(level, fixture.level);
    const version = (fixture.rows.length - 17) / 4;
    const code = encodeQr(fixture.input, { ecLevel: fixture.level, mask });
    t.equal(code.version, version, `${fixture.level} ${fixture.input.length} bytes → version ${version}`);
    t.same(rowsOf(code), fixture.rows, `matrix of ${JSON.stringify(fixture.input.slice(0, 30))} (mask ${mask})`);
  }
});

// qrencode is the reference (.ci/run installs it); without it this test fails rather than skips.
t.test('module matrices equal the installed qrencode for arbitrary input', async () => {
  try {
    execFileSync('qrencode', ['--version'], { stdio: 'ignore' });
  } catch {
    throw new Error('qrencode is not installed (apt-get install qrencode): it is the reference this test compares with');
  }
  fc.assert(
    fc.property(
      fc.constantFrom<EcLevel>('L', 'M'),
      fc.integer({ min: 1, max: 10 }),
      fc.uint8Array({ minLength: 1, maxLength: 271 }),
      (level, minVersion, raw) => {
        const input = raw.subarray(0, byteCapacity(10, level));
        const expected = qrencodeRows(input, level, minVersion);
        const code = encodeQr(input, { ecLevel: level, minVersion, mask: readFormat(expected).mask });
        return JSON.stringify(rowsOf(code)) === JSON.stringify(expected);
      },
    ),
    { numRuns: 60 },
  );
});

t.test('every mask writes format information that decodes to it', async (t) => {
  for (let mask = 0; mask < 8; mask++) {
    for (const ecLevel of ['L', 'M'] as const) {
      const code = encodeQr('otpauth://totp/x', { ecLevel, mask, minVersion: 7 });
      t.same(readFormat(rowsOf(code)), { level: ecLevel, mask });
      t.equal(code.mask, mask);
    }
  }
});

t.test('without a fixed mask the lowest-penalty one is chosen', async (t) => {
  const chosen = encodeQr('otpauth://totp/Gatehouse:alice?secret=JBSWY3DPEHPK3PXP');
  for (let mask = 0; mask < 8; mask++) {
    const other = encodeQr('otpauth://totp/Gatehouse:alice?secret=JBSWY3DPEHPK3PXP', { mask });
    t.ok(penalty(chosen.modules) <= penalty(other.modules), `mask ${chosen.mask} is no worse than ${mask}`);
  }
});

t.test('the smallest version that fits; too long or bad options are errors', async (t) => {
  t.equal(encodeQr('x'.repeat(14)).version, 1);
  t.equal(encodeQr('x'.repeat(15)).version, 2);
  t.equal(encodeQr('x'.repeat(17), { ecLevel: 'L' }).version, 1);
  t.equal(encodeQr('x', { minVersion: 4 }).version, 4);
  t.throws(() => encodeQr('x'.repeat(214)), /214 bytes do not fit a version-10 QR code at level M \(at most 213\)/);
  t.equal(encodeQr('x'.repeat(271), { ecLevel: 'L' }).version, 10);
  t.throws(() => encodeQr('x', { minVersion: 11 }), RangeError);
  t.throws(() => encodeQr('x', { mask: 8 }), RangeError);
});

t.test('rendering: quiet zone, half blocks and ASCII agree with the matrix', async (t) => {
  const code = encodeQr('otpauth://totp/Gatehouse:alice?secret=JBSWY3DPEHPK3PXP');
  const width = code.size + 8;
  const lines = (text: string) => text.split('\n').slice(0, -1);
  const ascii = lines(renderQrAscii(code, 'light'));
  t.equal(ascii.length, width);
  t.ok(ascii.every((line) => line.length === 2 * width));
  t.same(
    ascii.slice(4, -4).map((line) => (line.slice(8, -8).match(/../g) ?? []).map((pair) => (pair === '##' ? '1' : '0')).join('')),
    rowsOf(code),
  );
  // On a dark terminal the light modules are drawn: the quiet zone is solid.
  const blocks = lines(renderQrHalfBlocks(code));
  t.equal(blocks.length, Math.ceil(width / 2));
  t.equal(blocks[0], '█'.repeat(width));
  t.equal(renderQrHalfBlocks(code, 'light').split('\n')[0], ' '.repeat(width));
  // Line 2 holds QR rows 0 and 1: the finder's dark top edge over its ring (dark, 5 light, dark).
  t.equal(blocks[2].slice(0, 12), '████ ▄▄▄▄▄ █');
});
