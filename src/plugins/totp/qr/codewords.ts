// The codeword sequence of a QR code in byte mode: mode, length, data, terminator and padding,
// split into blocks, each with its Reed–Solomon codewords, and interleaved.
import { errorCorrection } from './reed-solomon.js';
import { blockLayout, dataCodewords, type EcLevel } from './tables.js';

const BYTE_MODE = 0b0100;

function countBits(version: number): number {
  return version <= 9 ? 8 : 16;
}

/** How many bytes fit in byte mode. */
export function byteCapacity(version: number, ecLevel: EcLevel): number {
  return Math.floor((dataCodewords(version, ecLevel) * 8 - 4 - countBits(version)) / 8);
}

export function codewords(data: Uint8Array, version: number, ecLevel: EcLevel): Uint8Array {
  const capacityBits = dataCodewords(version, ecLevel) * 8;
  const bits: number[] = [];
  const put = (value: number, length: number) => {
    for (let i = length - 1; i >= 0; i--) bits.push((value >>> i) & 1);
  };
  put(BYTE_MODE, 4);
  put(data.length, countBits(version));
  for (const byte of data) put(byte, 8);
  put(0, Math.min(4, capacityBits - bits.length)); // terminator
  put(0, (8 - (bits.length % 8)) % 8);
  const bytes: number[] = [];
  for (let i = 0; i < bits.length; i += 8) bytes.push(bits.slice(i, i + 8).reduce((byte, bit) => (byte << 1) | bit, 0));
  for (let pad = 0; bytes.length < capacityBits / 8; pad++) bytes.push(pad % 2 === 0 ? 0xec : 0x11);
  return interleave(Uint8Array.from(bytes), version, ecLevel);
}

function interleave(data: Uint8Array, version: number, ecLevel: EcLevel): Uint8Array {
  const { ecPerBlock, groups } = blockLayout(version, ecLevel);
  const blocks: { data: Uint8Array; ec: Uint8Array }[] = [];
  let offset = 0;
  for (const [count, size] of groups) {
    for (let i = 0; i < count; i++) {
      const block = data.subarray(offset, offset + size);
      blocks.push({ data: block, ec: errorCorrection(block, ecPerBlock) });
      offset += size;
    }
  }
  const out: number[] = [];
  const longest = Math.max(...blocks.map((block) => block.data.length));
  for (let i = 0; i < longest; i++) for (const block of blocks) if (i < block.data.length) out.push(block.data[i]);
  for (let i = 0; i < ecPerBlock; i++) for (const block of blocks) out.push(block.ec[i]);
  return Uint8Array.from(out);
}
