// Enrolment material for `gatehouse totp enroll USER`: a fresh seed, its otpauth:// URI and the
// QR code to scan. The caller stores `seed` under host "totp_seed", username USER.
import { encodeBase32 } from './base32.js';
import { buildOtpauthUri } from './otpauth-uri.js';
import { byteCapacity } from './qr/codewords.js';
import { encodeQr, type QrCode } from './qr/encoder.js';
import { MAX_VERSION } from './qr/tables.js';
import { generateSeed } from './seed.js';
import type { TotpSettings } from './settings.js';

export interface TotpEnrollment {
  /** Base32, unpadded. */
  seed: string;
  uri: string;
  qr: QrCode;
}

export function createEnrollment(account: string, settings: TotpSettings, seed: Uint8Array = generateSeed(settings.algorithm)): TotpEnrollment {
  const secret = encodeBase32(seed);
  const uri = buildOtpauthUri({
    issuer: settings.issuer,
    account,
    secret,
    algorithm: settings.algorithm,
    digits: settings.digits,
    periodSeconds: settings.periodSeconds,
  });
  // Level M when it fits; a long SHA512 seed with long names may need L's extra room.
  const fitsM = new TextEncoder().encode(uri).length <= byteCapacity(MAX_VERSION, 'M');
  return { seed: secret, uri, qr: encodeQr(uri, { ecLevel: fitsM ? 'M' : 'L' }) };
}
