// The otpauth://totp/ URI (Google Authenticator "Key Uri Format") that enrolment shows as a QR code.
import type { HashAlgorithm } from './hotp.js';

export interface OtpauthParameters {
  issuer: string;
  account: string;
  /** Base32, unpadded. */
  secret: string;
  algorithm: HashAlgorithm;
  digits: number;
  periodSeconds: number;
}

/** Label `issuer:account`; neither part may hold ":". Apps that ignore algorithm/digits/period need SHA1/6/30. */
export function buildOtpauthUri(parameters: OtpauthParameters): string {
  const { issuer, account, secret, algorithm, digits, periodSeconds } = parameters;
  for (const [name, value] of [['issuer', issuer], ['account', account]] as const) {
    if (value === '' || value.includes(':')) throw new RangeError(`otpauth ${name} must be non-empty and hold no ":", got ${JSON.stringify(value)}`);
  }
  if (!/^[A-Z2-7]+$/.test(secret)) throw new RangeError('otpauth secret must be unpadded upper-case base32');
  const query = [`secret=${secret}`, `issuer=${encode(issuer)}`, `algorithm=${algorithm}`, `digits=${digits}`, `period=${periodSeconds}`];
  return `otpauth://totp/${encode(issuer)}:${encode(account)}?${query.join('&')}`;
}

/** Percent-encoding as encodeURIComponent, but "@" (legal in paths and queries) stays readable. */
function encode(text: string): string {
  return encodeURIComponent(text).replace(/%40/g, '@');
}
