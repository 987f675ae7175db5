// Lays codewords into the QR module matrix: function patterns, zig-zag data placement, the data
// mask (the one with the lowest ISO penalty unless given) and the format and version information.
import { alignmentCentres, EC_FORMAT_BITS, type EcLevel } from './tables.js';

export interface QrCode {
  version: number;
  ecLevel: EcLevel;
  mask: number;
  size: number;
  /** modules[row][column], true = dark; without the quiet zone. */
  modules: boolean[][];
}

const MASKS: readonly ((row: number, col: number) => boolean)[] = [
  (r, c) => (r + c) % 2 === 0,
  (r) => r % 2 === 0,
  (_, c) => c % 3 === 0,
  (r, c) => (r + c) % 3 === 0,
  (r, c) => (Math.floor(r / 2) + Math.floor(c / 3)) % 2 === 0,
  (r, c) => ((r * c) % 2) + ((r * c) % 3) === 0,
  (r, c) => (((r * c) % 2) + ((r * c) % 3)) % 2 === 0,
  (r, c) => (((r + c) % 2) + ((r * c) % 3)) % 2 === 0,
];

class Grid {
  readonly dark: boolean[][];
  readonly reserved: boolean[][];

  constructor(readonly size: number) {
    this.dark = Array.from({ length: size }, () => new Array<boolean>(size).fill(false));
    this.reserved = Array.from({ length: size }, () => new Array<boolean>(size).fill(false));
  }

  /** Sets a function module, which data placement and masking leave alone. */
  set(row: number, col: number, dark: boolean): void {
    this.dark[row][col] = dark;
    this.reserved[row][col] = true;
  }

  copy(): Grid {
    const grid = new Grid(this.size);
    this.dark.forEach((row, r) => (grid.dark[r] = [...row]));
    this.reserved.forEach((row, r) => (grid.reserved[r] = [...row]));
    return grid;
  }
}

export function buildMatrix(version: number, ecLevel: EcLevel, data: Uint8Array, mask?: number): QrCode {
  const grid = new Grid(17 + 4 * version);
  drawFunctionPatterns(grid, version);
  placeData(grid, data);
  const candidates = mask === undefined ? MASKS.map((_, index) => index) : [mask];
  let best: { grid: Grid; mask: number; penalty: number } | undefined;
  for (const candidate of candidates) {
    const masked = grid.copy();
    applyMask(masked, candidate);
    drawFormat(masked, ecLevel, candidate);
    const score = candidates.length === 1 ? 0 : penalty(masked.dark);
    if (!best || score < best.penalty) best = { grid: masked, mask: candidate, penalty: score };
  }
  const chosen = best as { grid: Grid; mask: number };
  return { version, ecLevel, mask: chosen.mask, size: grid.size, modules: chosen.grid.dark };
}

function drawFunctionPatterns(grid: Grid, version: number): void {
  const { size } = grid;
  for (const [row, col] of [[0, 0], [0, size - 7], [size - 7, 0]]) drawFinder(grid, row, col);
  for (let i = 8; i < size - 8; i++) {
    grid.set(6, i, i % 2 === 0);
    grid.set(i, 6, i % 2 === 0);
  }
  const centres = alignmentCentres(version);
  const last = centres[centres.length - 1];
  for (const row of centres) {
    for (const col of centres) {
      const onFinder = (row === 6 && col === 6) || (row === 6 && col === last) || (row === last && col === 6);
      if (!onFinder) drawAlignment(grid, row, col);
    }
  }
  drawFormat(grid, 'M', 0); // reserves the format areas; the real bits are drawn after masking
  if (version >= 7) drawVersion(grid, version);
}

/** The 7×7 finder with its light separator, clipped at the edges. */
function drawFinder(grid: Grid, top: number, left: number): void {
  for (let dr = -1; dr <= 7; dr++) {
    for (let dc = -1; dc <= 7; dc++) {
      const row = top + dr;
      const col = left + dc;
      if (row < 0 || col < 0 || row >= grid.size || col >= grid.size) continue;
      const inside = dr >= 0 && dr <= 6 && dc >= 0 && dc <= 6;
      const ring = dr === 0 || dr === 6 || dc === 0 || dc === 6;
      const core = dr >= 2 && dr <= 4 && dc >= 2 && dc <= 4;
      grid.set(row, col, inside && (ring || core));
    }
  }
}

function drawAlignment(grid: Grid, row: number, col: number): void {
  for (let dr = -2; dr <= 2; dr++) {
    for (let dc = -2; dc <= 2; dc++) grid.set(row + dr, col + dc, Math.max(Math.abs(dr), Math.abs(dc)) !== 1);
  }
}

/** 15 bits: EC level and mask, BCH(15,5) protected, XOR 0x5412; two copies and the dark module. */
function drawFormat(grid: Grid, ecLevel: EcLevel, mask: number): void {
  const data = (EC_FORMAT_BITS[ecLevel] << 3) | mask;
  let remainder = data;
  for (let i = 0; i < 10; i++) remainder = (remainder << 1) ^ ((remainder >>> 9) * 0x537);
  const bits = ((data << 10) | remainder) ^ 0x5412;
  const bit = (i: number) => ((bits >>> i) & 1) === 1;
  const { size } = grid;
  for (let i = 0; i <= 5; i++) grid.set(i, 8, bit(i));
  grid.set(7, 8, bit(6));
  grid.set(8, 8, bit(7));
  grid.set(8, 7, bit(8));
  for (let i = 9; i < 15; i++) grid.set(8, 14 - i, bit(i));
  for (let i = 0; i < 8; i++) grid.set(8, size - 1 - i, bit(i));
  for (let i = 8; i < 15; i++) grid.set(size - 15 + i, 8, bit(i));
  grid.set(size - 8, 8, true);
}

/** Versions 7 and up: 18 bits, BCH(18,6) protected, in two 6×3 blocks. */
function drawVersion(grid: Grid, version: number): void {
  let remainder = version;
  for (let i = 0; i < 12; i++) remainder = (remainder << 1) ^ ((remainder >>> 11) * 0x1f25);
  const bits = (version << 12) | remainder;
  for (let i = 0; i < 18; i++) {
    const dark = ((bits >>> i) & 1) === 1;
    const a = grid.size - 11 + (i % 3);
    const b = Math.floor(i / 3);
    grid.set(b, a, dark);
    grid.set(a, b, dark);
  }
}

/** Two-column zig-zag from the bottom right, skipping the vertical timing column. */
function placeData(grid: Grid, data: Uint8Array): void {
  const { size } = grid;
  let index = 0;
  for (let right = size - 1; right >= 1; right -= 2) {
    if (right === 6) right = 5;
    const upward = ((right + 1) & 2) === 0;
    for (let step = 0; step < size; step++) {
      const row = upward ? size - 1 - step : step;
      for (const col of [right, right - 1]) {
        if (grid.reserved[row][col]) continue;
        // Remainder modules past the last codeword stay light (before masking).
        grid.dark[row][col] = index < data.length * 8 && ((data[index >>> 3] >>> (7 - (index & 7))) & 1) === 1;
        index++;
      }
    }
  }
}

function applyMask(grid: Grid, mask: number): void {
  for (let row = 0; row < grid.size; row++) {
    for (let col = 0; col < grid.size; col++) {
      if (!grid.reserved[row][col] && MASKS[mask](row, col)) grid.dark[row][col] = !grid.dark[row][col];
    }
  }
}

/** ISO/IEC 18004 §7.8.3: runs, 2×2 blocks, finder look-alikes and the dark/light balance. */
export function penalty(modules: boolean[][]): number {
  const size = modules.length;
  const lines: boolean[][] = [...modules, ...modules.map((_, col) => modules.map((row) => row[col]))];
  let score = 0;
  for (const line of lines) {
    let run = 1;
    for (let i = 1; i <= size; i++) {
      if (i < size && line[i] === line[i - 1]) {
        run++;
        continue;
      }
      if (run >= 5) score += 3 + (run - 5);
      run = 1;
    }
    const text = line.map((dark) => (dark ? '1' : '0')).join('');
    for (const pattern of ['10111010000', '00001011101']) {
      for (let at = text.indexOf(pattern); at >= 0; at = text.indexOf(pattern, at + 1)) score += 40;
    }
  }
  for (let row = 0; row + 1 < size; row++) {
    for (let col = 0; col + 1 < size; col++) {
      const colour = modules[row][col];
      if (modules[row][col + 1] === colour && modules[row + 1][col] === colour && modules[row + 1][col + 1] === colour) score += 3;
    }
  }
  const dark = modules.reduce((sum, row) => sum + row.filter(Boolean).length, 0);
  return score + Math.floor(Math.abs((dark * 100) / (size * size) - 50) / 5) * 10;
}
