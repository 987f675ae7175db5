// HOTP (RFC 4226) and TOTP (RFC 6238, T0 = 0) code generation.
import { createHmac } from 'node:crypto';

export const hashAlgorithms = ['SHA1', 'SHA256', 'SHA512'] as const;
export type HashAlgorithm = (typeof hashAlgorithms)[number];

/** The code for `counter` (8-byte big-endian, so steps beyond 2^32 stay right), zero-padded. */
export function hotp(key: Uint8Array, counter: number, digits: number, algorithm: HashAlgorithm = 'SHA1'): string {
  if (!Number.isSafeInteger(counter) || counter < 0) throw new RangeError(`HOTP counter must be a non-negative integer, got ${counter}`);
  if (!Number.isInteger(digits) || digits < 6 || digits > 8) throw new RangeError(`HOTP digits must be 6, 7 or 8, got ${digits}`);
  const message = Buffer.alloc(8);
  message.writeBigUInt64BE(BigInt(counter));
  const mac = createHmac(algorithm.toLowerCase(), key).update(message).digest();
  // Dynamic truncation (RFC 4226 §5.3).
  const offset = mac[mac.length - 1] & 0x0f;
  const binary = ((mac[offset] & 0x7f) << 24) | (mac[offset + 1] << 16) | (mac[offset + 2] << 8) | mac[offset + 3];
  return String(binary % 10 ** digits).padStart(digits, '0');
}

/** The RFC 6238 time step of a moment given in Unix seconds. */
export function timeStep(unixSeconds: number, periodSeconds: number): number {
  return Math.floor(unixSeconds / periodSeconds);
}

export function totp(key: Uint8Array, unixSeconds: number, settings: { digits: number; periodSeconds: number; algorithm: HashAlgorithm }): string {
  return hotp(key, timeStep(unixSeconds, settings.periodSeconds), settings.digits, settings.algorithm);
}
