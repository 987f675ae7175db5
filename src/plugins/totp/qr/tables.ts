// ISO/IEC 18004 tables for QR code versions 1–10 at error correction levels L and M.

export type EcLevel = 'L' | 'M';
export const MAX_VERSION = 10;

/** Per version: EC codewords per block, and groups of [number of blocks, data codewords per block]. */
export interface BlockLayout {
  ecPerBlock: number;
  groups: readonly (readonly [blocks: number, dataCodewords: number])[];
}

const L: readonly BlockLayout[] = [
  { ecPerBlock: 7, groups: [[1, 19]] },
  { ecPerBlock: 10, groups: [[1, 34]] },
  { ecPerBlock: 15, groups: [[1, 55]] },
  { ecPerBlock: 20, groups: [[1, 80]] },
  { ecPerBlock: 26, groups: [[1, 108]] },
  { ecPerBlock: 18, groups: [[2, 68]] },
  { ecPerBlock: 20, groups: [[2, 78]] },
  { ecPerBlock: 24, groups: [[2, 97]] },
  { ecPerBlock: 30, groups: [[2, 116]] },
  { ecPerBlock: 18, groups: [[2, 68], [2, 69]] },
];

const M: readonly BlockLayout[] = [
  { ecPerBlock: 10, groups: [[1, 16]] },
  { ecPerBlock: 16, groups: [[1, 28]] },
  { ecPerBlock: 26, groups: [[1, 44]] },
  { ecPerBlock: 18, groups: [[2, 32]] },
  { ecPerBlock: 24, groups: [[2, 43]] },
  { ecPerBlock: 16, groups: [[4, 27]] },
  { ecPerBlock: 18, groups: [[4, 31]] },
  { ecPerBlock: 22, groups: [[2, 38], [2, 39]] },
  { ecPerBlock: 22, groups: [[3, 36], [2, 37]] },
  { ecPerBlock: 26, groups: [[4, 43], [1, 44]] },
];

export function blockLayout(version: number, ecLevel: EcLevel): BlockLayout {
  return (ecLevel === 'L' ? L : M)[version - 1];
}

export function dataCodewords(version: number, ecLevel: EcLevel): number {
  return blockLayout(version, ecLevel).groups.reduce((sum, [blocks, size]) => sum + blocks * size, 0);
}

/** Row/column coordinates of alignment pattern centres. */
const ALIGNMENT_CENTRES: readonly (readonly number[])[] = [
  [],
  [6, 18],
  [6, 22],
  [6, 26],
  [6, 30],
  [6, 34],
  [6, 22, 38],
  [6, 24, 42],
  [6, 26, 46],
  [6, 28, 50],
];

export function alignmentCentres(version: number): readonly number[] {
  return ALIGNMENT_CENTRES[version - 1];
}

/** The two error-correction bits of the format information. */
export const EC_FORMAT_BITS: Readonly<Record<EcLevel, number>> = { L: 0b01, M: 0b00 };
