// TOTP seeds live in the plugin configuration's credential store: host "totp_seed", username =
// the MFA identity, password = the base32 seed. A host of its own keeps seeds apart from the
// `[totp]` options, which the store may also override (a user named "digits" must not collide).
import { randomBytes } from 'node:crypto';
import type { HashAlgorithm } from './hotp.js';

export const SEED_CREDENTIAL_HOST = 'totp_seed';

/** As long as the HMAC output, as RFC 4226 §4 recommends (and RFC 6238's test seeds are). */
const SEED_BYTES: Readonly<Record<HashAlgorithm, number>> = { SHA1: 20, SHA256: 32, SHA512: 64 };

export function generateSeed(algorithm: HashAlgorithm): Uint8Array {
  return new Uint8Array(randomBytes(SEED_BYTES[algorithm]));
}
