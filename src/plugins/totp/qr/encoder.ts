// QR code encoder for short texts such as otpauth:// URIs: byte mode, level L or M, versions 1–10.
import { byteCapacity, codewords } from './codewords.js';
import { buildMatrix, type QrCode } from './matrix.js';
import { MAX_VERSION, type EcLevel } from './tables.js';

export interface QrOptions {
  /** Default M (15% of the code may be damaged); L holds more. */
  ecLevel?: EcLevel;
  /** The smallest version to use (default 1); a larger one is taken when the data needs it. */
  minVersion?: number;
  /** A fixed data mask 0–7 instead of the lowest-penalty one. */
  mask?: number;
}

export function encodeQr(data: string | Uint8Array, options: QrOptions = {}): QrCode {
  const bytes = typeof data === 'string' ? new TextEncoder().encode(data) : data;
  const ecLevel = options.ecLevel ?? 'M';
  const minVersion = options.minVersion ?? 1;
  if (!Number.isInteger(minVersion) || minVersion < 1 || minVersion > MAX_VERSION) throw new RangeError(`QR version must be 1 to ${MAX_VERSION}`);
  if (options.mask !== undefined && !(Number.isInteger(options.mask) && options.mask >= 0 && options.mask <= 7)) throw new RangeError('QR mask must be 0 to 7');
  let version = minVersion;
  while (version <= MAX_VERSION && byteCapacity(version, ecLevel) < bytes.length) version++;
  if (version > MAX_VERSION) {
    throw new RangeError(`${bytes.length} bytes do not fit a version-${MAX_VERSION} QR code at level ${ecLevel} (at most ${byteCapacity(MAX_VERSION, ecLevel)})`);
  }
  return buildMatrix(version, ecLevel, codewords(bytes, version, ecLevel), options.mask);
}

export type { QrCode } from './matrix.js';
export type { EcLevel } from './tables.js';
